"""Cases, members and incidents over JSON, calling the same services as the HTML views."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from casefile.api.core import created, fields_of, json_body, only_fields, paginate, route
from casefile.api.schemas import DATE, UUID
from casefile.auth import services as auth_services
from casefile.auth.gate import (
    Access,
    member_case_ids,
    parse_id,
    require_case,
    require_in_case,
    require_members_visible,
)
from casefile.auth.models import Membership, User
from casefile.cases import services
from casefile.cases.models import Case, Incident
from casefile.cases.schemas import (
    CASE,
    CASE_CREATE,
    CASE_PATCH,
    INCIDENT,
    INCIDENT_CREATE,
    INCIDENT_PATCH,
    MEMBER,
    MEMBER_CREATE,
    VIOLATION_TYPE,
)
from casefile.db import db_session
from casefile.errors import ValidationFailed

ID = [{"name": "id", "in": "path", "required": True, "schema": UUID}]

INCIDENT_FILTERS = [
    {"name": "from", "in": "query", "required": False, "schema": DATE},
    {"name": "to", "in": "query", "required": False, "schema": DATE},
    {"name": "violation_type", "in": "query", "required": False, "schema": VIOLATION_TYPE},
    {"name": "actor", "in": "query", "required": False, "schema": UUID},
]


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": str(case.id),
        "reference": case.reference,
        "title": case.title,
        "summary": case.summary,
        "situation": case.situation,
        "status": case.status.value,
        "created_at": case.created_at.isoformat(),
    }


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": str(incident.id),
        "case_id": str(incident.case_id),
        "title": incident.title,
        "description": incident.description,
        "start_date": incident.start_date.isoformat() if incident.start_date else None,
        "end_date": incident.end_date.isoformat() if incident.end_date else None,
        "date_precision": incident.date_precision.value,
        "place_name": incident.place_name,
        "latitude": incident.latitude,
        "longitude": incident.longitude,
        "location_precision": incident.location_precision.value,
        "violation_types": list(incident.violation_types or []),
        "victim_count": incident.victim_count,
        "victim_count_source": incident.victim_count_source,
        "date_display": services.format_incident_date(incident),
    }


def member_json(m: Membership) -> dict[str, Any]:
    return {
        "user_id": str(m.user_id),
        "email": m.user.email,
        "name": m.user.name,
        "role": m.role.value,
        "can_view_identities": m.can_view_identities,
        "lead": m.is_lead,
    }


@route(
    "/cases",
    "GET",
    summary="Cases I am a member of",
    tag="cases",
    response=CASE,
    paginated=True,
    errors=(401, 422),
)
def list_cases() -> ResponseReturnValue:
    stmt = select(Case).where(Case.id.in_(member_case_ids(current_user))).order_by(Case.reference)
    return paginate(db_session(), stmt, case_json)


@route(
    "/cases",
    "POST",
    summary="Create a case",
    tag="cases",
    request_schema=CASE_CREATE,
    response=CASE,
    status=201,
    errors=(401, 403, 409, 422),
)
def create_case() -> ResponseReturnValue:
    data = only_fields(json_body(), fields_of(CASE_CREATE))
    return created(case_json(services.create_case(db_session(), current_user, data)))


@route("/cases/{id}", "GET", summary="One case", tag="cases", response=CASE, params=ID)
def get_case(id: str) -> ResponseReturnValue:
    return jsonify(case_json(require_case(db_session(), current_user, id)))


@route(
    "/cases/{id}",
    "PATCH",
    summary="Change a case",
    tag="cases",
    request_schema=CASE_PATCH,
    response=CASE,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_case(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(CASE_PATCH))
    return jsonify(case_json(services.update_case(s, case, data)))


@route(
    "/cases/{id}/members",
    "GET",
    summary="Members of a case",
    tag="cases",
    response=MEMBER,
    params=ID,
    paginated=True,
    errors=(401, 404, 422),
)
def list_members(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_members_visible(s, current_user, id)
    stmt = (
        select(Membership)
        .join(User)
        .where(Membership.case_id == case.id)
        .options(selectinload(Membership.user))
        .order_by(User.email)
    )
    return paginate(s, stmt, member_json)


@route(
    "/cases/{id}/members",
    "POST",
    summary="Add a member or change their role, identity permission and lead right (administrators and the case's "
    "leads)",
    tag="cases",
    request_schema=MEMBER_CREATE,
    response=MEMBER,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def add_member(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.MANAGE_MEMBERS)
    data = only_fields(json_body(), fields_of(MEMBER_CREATE))
    email = data.get("email")
    if not isinstance(email, str):
        raise ValidationFailed("email is required.", field="email")
    flag = data.get("can_view_identities", False)
    if not isinstance(flag, bool):
        raise ValidationFailed("can_view_identities must be true or false.", field="can_view_identities")
    user = auth_services.get_user_by_email(s, email)
    role = data.get("role")
    if not isinstance(role, str):
        raise ValidationFailed("role is required.", field="role")
    lead = data.get("lead")
    if lead is not None and not isinstance(lead, bool):
        raise ValidationFailed("lead must be true or false.", field="lead")
    membership = auth_services.add_member(s, case, user, role, flag, actor=current_user, lead=lead)
    return created(member_json(membership))


@route(
    "/cases/{id}/members/{user_id}",
    "DELETE",
    summary="Remove a member from the case (administrators and the case's leads)",
    tag="cases",
    status=204,
    params=[*ID, {"name": "user_id", "in": "path", "required": True, "schema": UUID}],
    errors=(401, 403, 404),
)
def remove_member(id: str, user_id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.MANAGE_MEMBERS)
    auth_services.remove_member(s, case, parse_id(user_id), actor=current_user)
    return "", 204


@route(
    "/cases/{id}/incidents",
    "GET",
    summary="Incidents of a case, by date; filter by period, violation type and actor involved",
    tag="incidents",
    response=INCIDENT,
    params=ID + INCIDENT_FILTERS,
    paginated=True,
    errors=(401, 404, 422),
)
def list_incidents(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id)
    return paginate(s, services.incident_query(case, request.args), incident_json)


@route(
    "/cases/{id}/incidents",
    "POST",
    summary="Add an incident",
    tag="incidents",
    request_schema=INCIDENT_CREATE,
    response=INCIDENT,
    status=201,
    params=ID,
    errors=(401, 403, 404, 422),
)
def create_incident(id: str) -> ResponseReturnValue:
    s = db_session()
    case = require_case(s, current_user, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(INCIDENT_CREATE))
    return created(incident_json(services.create_incident(s, case, data)))


@route("/incidents/{id}", "GET", summary="One incident", tag="incidents", response=INCIDENT, params=ID)
def get_incident(id: str) -> ResponseReturnValue:
    return jsonify(incident_json(require_in_case(db_session(), current_user, Incident, id)))


@route(
    "/incidents/{id}",
    "PATCH",
    summary="Change an incident",
    tag="incidents",
    request_schema=INCIDENT_PATCH,
    response=INCIDENT,
    params=ID,
    errors=(401, 403, 404, 422),
)
def patch_incident(id: str) -> ResponseReturnValue:
    s = db_session()
    incident = require_in_case(s, current_user, Incident, id, Access.WRITE)
    data = only_fields(json_body(), fields_of(INCIDENT_PATCH))
    return jsonify(incident_json(services.update_incident(s, incident, data)))
