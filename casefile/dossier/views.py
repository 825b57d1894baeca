"""The dossier wizard: choose a profile, a title and the evidence; preview what is included and what is
excluded and why; build; download. Past dossiers are listed with their SHA-256."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from casefile.actors.services import active_actors
from casefile.auth.forms import ConfirmForm
from casefile.auth.gate import Access, require_case, require_in_case
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.cases.views import case_context
from casefile.db import db_session
from casefile.dossier import services
from casefile.dossier.builder import MAX_MARKDOWN, DossierRequest, dossiers_of
from casefile.dossier.jobs import submit_build
from casefile.dossier.markdown import render_markdown
from casefile.dossier.models import Dossier
from casefile.dossier.profiles import load_profiles
from casefile.errors import CasefileError, Conflict
from casefile.evidence.models import EvidenceItem
from casefile.jobs.models import Job
from casefile.labels import catalogue_text, profile_title
from casefile.legal.catalogue import load_catalogue
from casefile.legal.services import charges_of
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
    target_ids = SelectMultipleField(
        _l("Targets"),
        choices=[],
        validate_choice=False,
        description=_l("The persons or entities the dossier is about. None: the whole case."),
    )
    charge_ids = SelectMultipleField(
        _l("Charges or designation criteria"),
        choices=[],
        validate_choice=False,
        description=_l(
            "None chosen: every charge or criterion of the recipient's legal frameworks against the targets. A "
            "sanctions submission carries only its own criteria."
        ),
    )
    evidence_ids = SelectMultipleField(_l("Evidence"), choices=[], validate_choice=False)
    analysis = BooleanField(_l("Add an analysis annex: the elements no evidence supports (gaps) and those contested"))
    cover_letter = TextAreaField(_l("Cover letter (Markdown)"), validators=[Length(max=MAX_MARKDOWN)])
    narrative = TextAreaField(_l("Narrative summary (Markdown)"), validators=[Length(max=MAX_MARKDOWN)])

    def dossier_request(self) -> DossierRequest:
        """The request as the API would make it: no items chosen is the selection of the scope (or the default
        selection), not an empty dossier."""
        return DossierRequest(
            profile=self.profile.data,
            title=self.title.data,
            evidence_ids=self.evidence_ids.data or None,
            language=self.language.data or None,
            target_ids=self.target_ids.data or None,
            charge_ids=self.charge_ids.data or None,
            analysis=bool(self.analysis.data),
            cover_letter=self.cover_letter.data,
            narrative=self.narrative.data,
        )


def _form(case_id: str, access: Access = Access.READ) -> tuple[DossierForm, Case]:
    s = db_session()
    case = require_case(s, current_user, case_id, access)
    form = DossierForm()
    form.profile.choices = [SelectChoice(p.code, profile_title(p)) for p in load_profiles().values()]
    form.target_ids.choices = [SelectChoice(str(a.id), a.name) for a in active_actors(s, case)]
    catalogue = load_catalogue()
    form.charge_ids.choices = [
        SelectChoice(
            str(c.id),
            f"{c.suspect.name} — {catalogue_text(catalogue.offence(c.offence_code), 'title')}"
            f" ({catalogue_text(catalogue.framework_of(c.offence_code), 'title')})",
        )
        for c in charges_of(s, case)
    ]
    items = s.query(EvidenceItem).filter(EvidenceItem.case_id == case.id).order_by(EvidenceItem.number).all()
    form.evidence_ids.choices = [SelectChoice(str(i.id), f"{i.ern} — {i.title}") for i in items]
    return form, case


def _list_page(form: DossierForm, case: Case) -> str:
    return render_template(
        "dossier/list.html",
        form=form,
        dossiers=dossiers_of(db_session(), case),
        profiles=load_profiles(),
        **case_context(case),
    )


@bp.get("/cases/<case_id>/dossiers")
def list_dossiers(case_id: str) -> str:
    form, case = _form(case_id)
    return _list_page(form, case)


@bp.post("/cases/<case_id>/dossiers/preview")
def preview(case_id: str) -> str | tuple[str, int]:
    form, case = _form(case_id)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _list_page(form, case), 422
    try:
        plan = services.preview(db_session(), case, form.dossier_request())
    except CasefileError as error:
        flash(error.message, "error")
        return _list_page(form, case), 422
    return render_template(
        "dossier/preview.html",
        form=form,
        plan=plan,
        cover_letter=render_markdown(form.cover_letter.data or ""),
        narrative=render_markdown(form.narrative.data or ""),
        **case_context(case),
    )


@bp.post("/cases/<case_id>/dossiers")
def build(case_id: str) -> Response | tuple[str, int]:
    s = db_session()
    form, case = _form(case_id, Access.WRITE)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _list_page(form, case), 422
    try:
        dossier, _job = submit_build(s, case, current_user, form.dossier_request())
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
