"""Cases, incidents and members in the browser. Parse the form, call the service, render or redirect."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from casefile.actors.services import active_actors
from casefile.auth import services as auth_services
from casefile.auth.forms import ConfirmForm, MemberForm
from casefile.auth.gate import (
    Access,
    allowed,
    case_membership,
    parse_id,
    require_case,
    require_in_case,
    require_members_visible,
)
from casefile.cases import services
from casefile.cases.forms import CaseForm, IncidentForm
from casefile.cases.models import Case, Incident
from casefile.cases.thesaurus import VIOLATION_TYPES
from casefile.db import db_session
from casefile.errors import CasefileError, Conflict, ValidationFailed
from casefile.links.models import EvidenceLink
from casefile.links.services import evidence_links

bp = Blueprint("cases", __name__)


def apply_error(form: FlaskForm, error: CasefileError) -> None:
    """Show a service's validation error next to the field it concerns."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


@bp.route("/cases/new", methods=["GET", "POST"])
def new_case() -> str | Response | tuple[str, int]:
    services.require_may_create_case(current_user)
    form = CaseForm()
    if form.validate_on_submit():
        try:
            case = services.create_case(db_session(), current_user, form.data)
        except (ValidationFailed, Conflict) as error:
            apply_error(form, error)
        else:
            flash(_("Case %(ref)s created.", ref=case.reference), "info")
            return redirect(url_for("cases.show_case", case_id=case.id))
    return render_template("cases/case_form.html", form=form, case=None), 422 if form.is_submitted() else 200


def case_context(case: Case) -> dict[str, object]:
    member = case_membership(db_session(), current_user, case)
    return {
        "case": case,
        "membership": member,
        "can_write": allowed(current_user, member, Access.WRITE),
    }


@bp.get("/cases/<case_id>")
def show_case(case_id: str) -> str:
    s = db_session()
    case = require_case(s, current_user, case_id)
    try:
        incidents = services.incidents_of(s, case, request.args)
    except ValidationFailed as error:
        flash(error.message, "error")
        incidents = services.incidents_of(s, case)
    return render_template(
        "cases/case.html",
        incidents=incidents,
        actors=active_actors(s, case),
        args=request.args,
        violation_types=VIOLATION_TYPES,
        format_date=services.format_incident_date,
        **case_context(case),
    )


@bp.route("/cases/<case_id>/edit", methods=["GET", "POST"])
def edit_case(case_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = CaseForm(obj=case)
    form.reference.render_kw = {"readonly": True}
    if form.validate_on_submit():
        data = dict(form.data, reference=case.reference)
        try:
            services.update_case(s, case, data)
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Case updated."), "info")
            return redirect(url_for("cases.show_case", case_id=case.id))
    status = 422 if form.is_submitted() else 200
    return render_template("cases/case_form.html", form=form, case=case), status


@bp.route("/cases/<case_id>/incidents/new", methods=["GET", "POST"])
def new_incident(case_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.WRITE)
    form = IncidentForm()
    if form.validate_on_submit():
        try:
            incident = services.create_incident(s, case, form.service_data())
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Incident added."), "info")
            return redirect(url_for("cases.show_incident", incident_id=incident.id))
    status = 422 if form.is_submitted() else 200
    return render_template("cases/incident_form.html", form=form, incident=None, **case_context(case)), status


@bp.get("/incidents/<incident_id>")
def show_incident(incident_id: str) -> str:
    s = db_session()
    incident = require_in_case(s, current_user, Incident, incident_id)
    return render_template(
        "cases/incident.html",
        incident=incident,
        linked=evidence_links(s, EvidenceLink.incident_id == incident.id),
        violation_types=VIOLATION_TYPES,
        format_date=services.format_incident_date,
        **case_context(incident.case),
    )


@bp.route("/incidents/<incident_id>/edit", methods=["GET", "POST"])
def edit_incident(incident_id: str) -> str | Response | tuple[str, int]:
    s = db_session()
    incident = require_in_case(s, current_user, Incident, incident_id, Access.WRITE)
    form = IncidentForm(obj=incident)
    if form.validate_on_submit():
        try:
            services.update_incident(s, incident, form.service_data())
        except ValidationFailed as error:
            apply_error(form, error)
        else:
            flash(_("Incident updated."), "info")
            return redirect(url_for("cases.show_incident", incident_id=incident.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "cases/incident_form.html", form=form, incident=incident, **case_context(incident.case)
    ), status


def _members_page(case: Case, form: MemberForm, status: int = 200) -> tuple[str, int]:
    s = db_session()
    context = case_context(case)
    can_manage = allowed(current_user, context["membership"], Access.MANAGE_MEMBERS)  # type: ignore[arg-type]
    return render_template(
        "cases/members.html",
        form=form,
        confirm=ConfirmForm(),
        memberships=auth_services.members_of(s, case),
        can_manage=can_manage,
        # The picker's choices: who could be added (active accounts), for those who add members only.
        people=auth_services.active_people(s) if can_manage else [],
        **context,
    ), status


@bp.get("/cases/<case_id>/members")
def members(case_id: str) -> tuple[str, int]:
    return _members_page(require_members_visible(db_session(), current_user, case_id), MemberForm())


@bp.post("/cases/<case_id>/members")
def add_member(case_id: str) -> tuple[str, int] | Response:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.MANAGE_MEMBERS)
    form = MemberForm()
    if form.validate_on_submit():
        try:
            user = auth_services.get_user_by_email(s, form.email.data or "")
            auth_services.add_member(
                s,
                case,
                user,
                form.role.data,
                bool(form.can_view_identities.data),
                actor=current_user,
                lead=bool(form.lead.data),
            )
        except CasefileError as error:
            target = getattr(form, error.field or "", None) or form.email
            target.errors = [*target.errors, error.message]
        else:
            flash(_("%(email)s is a member of %(ref)s.", email=user.email, ref=case.reference), "info")
            return redirect(url_for("cases.members", case_id=case.id))
    return _members_page(case, form, 422)


@bp.post("/cases/<case_id>/members/<user_id>/remove")
def remove_member(case_id: str, user_id: str) -> Response:
    s = db_session()
    case = require_case(s, current_user, case_id, Access.MANAGE_MEMBERS)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    auth_services.remove_member(s, case, parse_id(user_id), actor=current_user)
    flash(_("Member removed."), "info")
    return redirect(url_for("cases.members", case_id=case.id))
