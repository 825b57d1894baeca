"""Cases and incidents: validation and writes. Services flush; the request commits."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

# Involvement (incident × actor) is read for the "actor involved" filter: a table, never a service of actors.
from casefile.actors.models import Involvement
from casefile.auth.gate import may_create_case
from casefile.auth.models import CaseRole, Membership, Role, User
from casefile.cases.models import Case, CaseStatus, DatePrecision, Incident, LocationPrecision
from casefile.cases.thesaurus import VIOLATION_TYPES
from casefile.errors import Conflict, Forbidden, ValidationFailed
from casefile.parsing import clean_text, parse_choice, parse_date

REFERENCE_RE = re.compile(r"^[A-Z0-9-]{2,16}$")

CASE_FIELDS = ("reference", "title", "summary", "situation", "status")
INCIDENT_FIELDS = (
    "title",
    "description",
    "start_date",
    "end_date",
    "date_precision",
    "place_name",
    "latitude",
    "longitude",
    "location_precision",
    "violation_types",
    "victim_count",
    "victim_count_source",
)


def parse_coordinate(value: Any, field: str, limit: float) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValidationFailed(_("Must be a number."), field=field)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Must be a number."), field=field) from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValidationFailed(_("Must be between -%(limit)s and %(limit)s.", limit=int(limit)), field=field)
    return number


def parse_count(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValidationFailed(_("Must be a whole number."), field=field)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Must be a whole number."), field=field) from None
    if number < 0 or number > 10_000_000:
        raise ValidationFailed(_("Must be zero or more."), field=field)
    return number


def validate_reference(reference: Any) -> str:
    if not isinstance(reference, str) or not REFERENCE_RE.match(reference):
        raise ValidationFailed(_("Use 2 to 16 capital letters, digits or hyphens, for example TRH."), field="reference")
    return reference


def require_may_create_case(user: User) -> None:
    """Reviewers read and verify; they never create cases (checked before the form is even shown)."""
    if not may_create_case(user):
        raise Forbidden(_("Reviewers cannot create cases."))


def incident_names(session: Session, case_id: uuid.UUID, entries: Iterable[Any]) -> dict[str, str]:
    """Incident id → title, for the incidents of the case that custody entries name (their `incidents` detail), in
    one query: a trail shows titles, never ids."""
    ids = set()
    for entry in entries:
        for raw in (entry.details or {}).get("incidents") or ():
            try:
                ids.add(uuid.UUID(str(raw)))
            except ValueError:
                continue
    if not ids:
        return {}
    rows = session.execute(select(Incident.id, Incident.title).where(Incident.id.in_(ids), Incident.case_id == case_id))
    return {str(incident_id): title for incident_id, title in rows}


def create_case(session: Session, creator: User, data: Mapping[str, Any]) -> Case:
    require_may_create_case(creator)
    reference = validate_reference(data.get("reference"))
    if session.scalar(select(Case.id).where(Case.reference == reference)):
        raise Conflict(_("A case with reference %(ref)s already exists.", ref=reference), field="reference")
    case = Case(reference=reference, created_by_id=creator.id, title="", summary="", situation="")
    _apply_case(case, data)
    session.add(case)
    session.flush()
    # The creator works on the case; an admin creating a case joins it as an investigator.
    role = CaseRole.LEGAL if creator.role is Role.LEGAL else CaseRole.INVESTIGATOR
    session.add(Membership(case_id=case.id, user_id=creator.id, role=role, is_lead=True))
    session.flush()
    return case


def update_case(session: Session, case: Case, data: Mapping[str, Any]) -> Case:
    if "reference" in data and data["reference"] != case.reference:
        raise ValidationFailed(_("A case reference cannot change: it is part of every ERN."), field="reference")
    _apply_case(case, data, partial=True)
    session.flush()
    return case


def _apply_case(case: Case, data: Mapping[str, Any], partial: bool = False) -> None:
    if not partial or "title" in data:
        case.title = clean_text(data.get("title"), "title", max_length=300, required=True)
    if "summary" in data:
        case.summary = clean_text(data.get("summary"), "summary", max_length=20000)
    if "situation" in data:
        case.situation = clean_text(data.get("situation"), "situation", max_length=300)
    if data.get("status"):
        case.status = parse_choice(data["status"], CaseStatus, "status")


def cases_for(session: Session, user: User) -> list[Case]:
    return list(
        session.scalars(
            select(Case)
            .join(Membership, Membership.case_id == Case.id)
            .where(Membership.user_id == user.id)
            .order_by(Case.reference)
        )
    )


def create_incident(session: Session, case: Case, data: Mapping[str, Any]) -> Incident:
    incident = Incident(case_id=case.id, title="")
    _apply_incident(incident, data)
    session.add(incident)
    session.flush()
    return incident


def check_incident(data: Mapping[str, Any]) -> None:
    """Validate an incident's fields without writing anything (an import's preview)."""
    _apply_incident(Incident(title=""), data)


def update_incident(session: Session, incident: Incident, data: Mapping[str, Any]) -> Incident:
    _apply_incident(incident, data, partial=True)
    session.flush()
    return incident


def _apply_incident(incident: Incident, data: Mapping[str, Any], partial: bool = False) -> None:
    def given(name: str) -> bool:
        return not partial or name in data

    if given("title"):
        incident.title = clean_text(data.get("title"), "title", max_length=300, required=True)
    if given("description"):
        incident.description = clean_text(data.get("description"), "description", max_length=50000)
    if given("start_date"):
        incident.start_date = parse_date(data.get("start_date"), "start_date")
    if given("end_date"):
        incident.end_date = parse_date(data.get("end_date"), "end_date")
    if data.get("date_precision"):
        incident.date_precision = parse_choice(data["date_precision"], DatePrecision, "date_precision")
    if given("place_name"):
        incident.place_name = clean_text(data.get("place_name"), "place_name", max_length=300)
    if given("latitude"):
        incident.latitude = parse_coordinate(data.get("latitude"), "latitude", 90)
    if given("longitude"):
        incident.longitude = parse_coordinate(data.get("longitude"), "longitude", 180)
    if data.get("location_precision"):
        incident.location_precision = parse_choice(data["location_precision"], LocationPrecision, "location_precision")
    if given("violation_types"):
        incident.violation_types = parse_violation_types(data.get("violation_types"))
    if given("victim_count"):
        incident.victim_count = parse_count(data.get("victim_count"), "victim_count")
    if given("victim_count_source"):
        incident.victim_count_source = clean_text(
            data.get("victim_count_source"), "victim_count_source", max_length=500
        )
    if incident.start_date and incident.end_date and incident.end_date < incident.start_date:
        raise ValidationFailed(_("The end date cannot be before the start date."), field="end_date")
    if (incident.latitude is None) != (incident.longitude is None):
        raise ValidationFailed(_("Give both latitude and longitude, or neither."), field="longitude")


def parse_violation_types(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationFailed(_("Give a list of violation types."), field="violation_types")
    unknown = [v for v in value if v not in VIOLATION_TYPES]
    if unknown:
        raise ValidationFailed(_("Unknown violation type: %(v)s.", v=", ".join(unknown)[:200]), field="violation_types")
    return list(dict.fromkeys(value))


def incident_query(case: Case, args: Mapping[str, Any] | None = None) -> Any:
    """Incidents of a case by date (undated last), filtered by date range, violation type and actor involved.
    An incident matches a date range when its known period overlaps it."""
    args = args or {}
    stmt = select(Incident).where(Incident.case_id == case.id)
    start = parse_date(args.get("from"), "from")
    end = parse_date(args.get("to"), "to")
    if start:
        stmt = stmt.where(func.coalesce(Incident.end_date, Incident.start_date) >= start)
    if end:
        stmt = stmt.where(Incident.start_date <= end)
    if args.get("violation_type"):
        wanted = parse_violation_types([args["violation_type"]])[0]
        # Stored as a JSON list on both engines; the list is short, so match its text form.
        stmt = stmt.where(func.cast(Incident.violation_types, String).contains(f'"{wanted}"'))
    if args.get("actor"):
        try:
            actor_id = uuid.UUID(str(args["actor"]))
        except ValueError:
            raise ValidationFailed(_("Unknown actor."), field="actor") from None
        stmt = stmt.where(Incident.id.in_(select(Involvement.incident_id).where(Involvement.actor_id == actor_id)))
    # NULLS LAST is spelled differently per engine, so sort on a flag first.
    return stmt.order_by(Incident.start_date.is_(None), Incident.start_date, Incident.title, Incident.id)


def incidents_of(session: Session, case: Case, args: Mapping[str, Any] | None = None) -> list[Incident]:
    return list(session.scalars(incident_query(case, args)))


def format_incident_date(incident: Incident) -> str:
    """Show a date only as precisely as it is known: "14 June 2020", "June 2020", "approx. 2019"."""

    def one(d: date) -> str:
        precision = incident.date_precision
        if precision is DatePrecision.DAY:
            return format_date(d, "d MMMM y")
        if precision is DatePrecision.MONTH:
            return format_date(d, "MMMM y")
        if precision is DatePrecision.YEAR:
            return format_date(d, "y")
        return _("approx. %(year)s", year=format_date(d, "y"))

    if incident.start_date is None:
        return _("date unknown")
    start = one(incident.start_date)
    if incident.end_date and incident.end_date != incident.start_date:
        end = one(incident.end_date)
        if end != start:
            return f"{start} – {end}"
    return start
