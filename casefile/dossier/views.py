"""The dossier wizard: choose a profile, a title and the evidence; preview what is included and what is
excluded and why; build; download. Past dossiers are listed with their SHA-256."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.cases.views import case_context
from casefile.db import db_session
from casefile.dossier import services
from casefile.dossier.builder import dossiers_of
from casefile.dossier.jobs import submit_build
from casefile.dossier.models import Dossier
from casefile.dossier.planner import default_selection
from casefile.dossier.profiles import load_profiles
from casefile.errors import CasefileError, Conflict
from casefile.evidence.models import EvidenceItem
from casefile.jobs.models import Job
from casefile.web_downloads import send_download

bp = Blueprint("dossiers", __name__)


class DossierForm(FlaskForm):
    profile = SelectField(_l("Recipient profile"), choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[Length(max=300)])
    # Checked by the builder, so a missing or unknown language gets the same clear message as in the API.
    language = SelectField(
        _l("Language of the PDF's headings"),
        choices=[SelectChoice("en", "English"), SelectChoice("ar", "العربية")],
        default="en",
        validate_choice=False,
    )
    evidence_ids = SelectMultipleField(
        _l("Evidence"),
        choices=[],
        validate_choice=False,
        description=_l("Preselected: everything linked to incidents, actors or charges."),
    )


def _form(case_id: str) -> tuple[DossierForm, Case]:
    s = db_session()
    case = require_case(s, current_user, case_id)
    form = DossierForm()
    form.profile.choices = [SelectChoice(p.code, p.title) for p in load_profiles().values()]
    items = s.query(EvidenceItem).filter(EvidenceItem.case_id == case.id).order_by(EvidenceItem.number).all()
    form.evidence_ids.choices = [SelectChoice(str(i.id), f"{i.ern} — {i.title}") for i in items]
    if not form.is_submitted():
        form.evidence_ids.data = [str(i.id) for i in default_selection(s, case)]
    return form, case


@bp.get("/cases/<case_id>/dossiers")
def list_dossiers(case_id: str) -> str:
    form, case = _form(case_id)
    return render_template(
        "dossier/list.html",
        form=form,
        dossiers=dossiers_of(db_session(), case),
        profiles=load_profiles(),
        **case_context(case),
    )


@bp.post("/cases/<case_id>/dossiers/preview")
def preview(case_id: str) -> str | tuple[str, int]:
    form, case = _form(case_id)
    if not form.validate_on_submit():
        abort(400)
    try:
        plan = services.preview(db_session(), case, form.profile.data, form.evidence_ids.data or [])
    except CasefileError as error:
        flash(error.message, "error")
        return render_template(
            "dossier/list.html",
            form=form,
            dossiers=dossiers_of(db_session(), case),
            profiles=load_profiles(),
            **case_context(case),
        ), 422
    return render_template("dossier/preview.html", form=form, plan=plan, **case_context(case))


@bp.post("/cases/<case_id>/dossiers")
def build(case_id: str) -> Response:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = DossierForm()
    form.profile.choices = [SelectChoice(p.code, p.title) for p in load_profiles().values()]
    if not form.validate_on_submit():
        abort(400)
    try:
        dossier, _job = submit_build(
            s,
            case,
            current_user,
            form.profile.data,
            form.title.data,
            request.form.getlist("evidence_ids"),
            form.language.data or None,
        )
    except CasefileError as error:
        flash(error.message, "error")
        return redirect(url_for("dossiers.list_dossiers", case_id=case.id))
    # The dossier's page follows the build live and offers the download once it is ready.
    return redirect(url_for("dossiers.show", dossier_id=dossier.id))


@bp.get("/dossiers/<dossier_id>")
def show(dossier_id: str) -> str:
    s = db_session()
    dossier = require_in_case(s, current_user, Dossier, dossier_id)
    job = s.get(Job, dossier.job_id) if dossier.job_id is not None else None
    approver = s.get(User, dossier.approved_by_id) if dossier.approved_by_id is not None else None
    return render_template(
        "dossier/dossier.html",
        dossier=dossier,
        job=job,
        approver=approver,
        may_approve=services.may_approve(s, dossier, current_user),
        built_by_me=dossier.created_by_id == current_user.id,
        approve_form=ConfirmForm(),
        profile=load_profiles().get(dossier.profile),
        **case_context(dossier.case),
    )


@bp.post("/dossiers/<dossier_id>/approve")
def approve(dossier_id: str) -> Response:
    s = db_session()
    dossier = require_in_case(s, current_user, Dossier, dossier_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.approve(s, dossier, current_user)
        flash(_("The dossier's release is approved: it may now be downloaded."), "success")
    except Conflict as error:  # already approved, or not built: the page says so (a refusal is a 403 page)
        flash(error.message, "error")
    return redirect(url_for("dossiers.show", dossier_id=dossier.id), 303)


@bp.get("/dossiers/<dossier_id>/download")
def download(dossier_id: str) -> Response:
    s = db_session()
    dossier = require_in_case(s, current_user, Dossier, dossier_id)
    return send_download(services.dossier_download(s, dossier, current_user))
