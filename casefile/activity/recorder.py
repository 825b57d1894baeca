"""Writes the activity feed from the session itself: after every flush, each created, changed or removed object of
the case file becomes a row naming its fields' values before and after.

Recording at the flush, rather than in each service, means no path that edits the case file (a page, the API, an
import, a job, the demo) can forget it, and the before/after come from SQLAlchemy's own attribute history, not from
a copy each service would have to keep right.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from flask import g, has_request_context
from sqlalchemy import Table, event, insert, inspect
from sqlalchemy.orm import Session

from casefile.activity.models import Activity, ActivityAction, SubjectKind
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.auth.models import Membership, User
from casefile.cases.models import Case, Incident
from casefile.cases.services import INCIDENT_FIELDS
from casefile.collab.models import Assignment, Comment, CommentedKind
from casefile.db import acting_user, utcnow
from casefile.dossier.models import Dossier
from casefile.evidence.models import EvidenceItem
from casefile.legal.models import Charge
from casefile.links.models import EvidenceLink
from casefile.witnesses.models import Witness

LABEL_LENGTH = 400


def _name(session: Session, model: type[Any], raw: Any) -> str | None:
    """The name of the object a foreign key points at, as it is now (a feed names actors, not their ids)."""
    if raw is None:
        return None
    found = session.get(model, raw)
    if found is None:
        return str(raw)
    if isinstance(found, User):
        return found.name or found.email
    if isinstance(found, EvidenceItem):
        return f"{found.ern} {found.title}"
    if isinstance(found, Charge):
        return _charge_label(session, found)
    return str(getattr(found, "title", None) or getattr(found, "name", None) or getattr(found, "reference", raw))


def _charge_label(session: Session, charge: Charge) -> str:
    return f"{_name(session, Actor, charge.suspect_id)} · {charge.offence_code}"


def _link_target(session: Session, link: EvidenceLink) -> str | None:
    for column, model in (
        ("incident_id", Incident),
        ("actor_id", Actor),
        ("charge_id", Charge),
        ("relation_id", ActorRelation),
        ("involvement_id", Involvement),
    ):
        raw = getattr(link, column)
        if raw is not None:
            if model is ActorRelation:
                relation = session.get(ActorRelation, raw)
                return _relation_label(session, relation) if relation else str(raw)
            if model is Involvement:
                involvement = session.get(Involvement, raw)
                return _involvement_label(session, involvement) if involvement else str(raw)
            return _name(session, model, raw)
    return None


def _relation_label(session: Session, relation: ActorRelation) -> str:
    return f"{_name(session, Actor, relation.source_actor_id)} → {_name(session, Actor, relation.target_actor_id)}"


def _involvement_label(session: Session, involvement: Involvement) -> str:
    return f"{_name(session, Actor, involvement.actor_id)} · {_name(session, Incident, involvement.incident_id)}"


COMMENTED = {
    CommentedKind.EVIDENCE: EvidenceItem,
    CommentedKind.INCIDENT: Incident,
    CommentedKind.ACTOR: Actor,
    CommentedKind.CHARGE: Charge,
}


@dataclass(frozen=True)
class Tracked:
    kind: SubjectKind
    # The fields shown, by the name the feed gives them; a field naming another object (a foreign key) is shown by
    # that object's name (`references`).
    fields: tuple[str, ...]
    label: Callable[[Session, Any], str]
    references: tuple[tuple[str, str, type[Any]], ...] = ()  # (shown name, attribute, model)
    case_of: Callable[[Any], uuid.UUID] = lambda obj: cast("uuid.UUID", obj.case_id)
    subject_of: Callable[[Any], uuid.UUID] = lambda obj: cast("uuid.UUID", obj.id)
    # A change of this attribute to a value is the object's removal (links are never deleted: they are closed).
    removal: str | None = None


TRACKED: dict[type[Any], Tracked] = {
    Case: Tracked(
        SubjectKind.CASE,
        ("title", "summary", "situation", "status"),
        lambda s, o: f"{o.reference} {o.title}",
        case_of=lambda o: o.id,
    ),
    Incident: Tracked(
        SubjectKind.INCIDENT,
        INCIDENT_FIELDS,
        lambda s, o: o.title,
    ),
    Actor: Tracked(
        SubjectKind.ACTOR,
        (
            "kind",
            "name",
            "aliases",
            "description",
            "date_of_birth",
            "place_of_birth",
            "nationality",
            "identifiers",
        ),
        lambda s, o: o.name,
        references=(("merged_into", "merged_into_id", Actor),),
    ),
    ActorRelation: Tracked(
        SubjectKind.RELATION,
        ("relation", "valid_from", "valid_to", "confidence", "note"),
        _relation_label,
        references=(("source_actor", "source_actor_id", Actor), ("target_actor", "target_actor_id", Actor)),
    ),
    Involvement: Tracked(
        SubjectKind.INVOLVEMENT,
        ("degree", "mode_of_liability", "status", "note"),
        _involvement_label,
        references=(("actor", "actor_id", Actor), ("incident", "incident_id", Incident)),
    ),
    Charge: Tracked(
        SubjectKind.CHARGE,
        ("offence_code", "mode_code", "note"),
        _charge_label,
        references=(("suspect", "suspect_id", Actor),),
    ),
    EvidenceItem: Tracked(
        SubjectKind.EVIDENCE,
        (
            "kind",
            "title",
            "description",
            "source",
            "source_reliability",
            "info_credibility",
            "collected_at",
            "collected_precision",
            "collected_by",
            "collection_place",
            "classification",
            "graphic",
            "verification_status",
        ),
        lambda s, o: f"{o.ern} {o.title}",
    ),
    EvidenceLink: Tracked(
        SubjectKind.LINK,
        ("element_code", "stance", "note"),
        lambda s, o: f"{_name(s, EvidenceItem, o.evidence_id)} → {_link_target(s, o)}",
        removal="removed_at",
    ),
    Witness: Tracked(SubjectKind.WITNESS, ("code", "risk_level"), lambda s, o: o.code),
    Membership: Tracked(
        SubjectKind.MEMBER,
        ("role", "can_view_identities", "is_lead"),
        lambda s, o: _name(s, User, o.user_id) or "",
        subject_of=lambda o: o.user_id,
    ),
    Assignment: Tracked(
        SubjectKind.ASSIGNMENT,
        ("target_type", "due_on", "note", "done_at"),
        lambda s, o: o.target_label,
        references=(("assignee", "assignee_id", User),),
    ),
    Comment: Tracked(
        SubjectKind.COMMENT,
        ("target_type", "body"),
        lambda s, o: _name(s, COMMENTED[CommentedKind(o.target_type)], o.target_id) or "",
    ),
    Dossier: Tracked(
        SubjectKind.DOSSIER,
        ("profile", "title", "status", "error"),
        lambda s, o: o.title,
        references=(("approved_by", "approved_by_id", User),),
    ),
}


def plain(value: Any) -> Any:
    """A value as JSON stores it: codes for enumerations, ISO 8601 for dates."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or value is False


def _changes(session: Session, obj: Any, spec: Tracked, created: bool) -> dict[str, dict[str, Any]]:
    state = inspect(obj)
    changes: dict[str, dict[str, Any]] = {}
    attributes = [(name, name, None) for name in spec.fields] + [(n, a, m) for n, a, m in spec.references]
    for shown, attribute, model in attributes:
        if created:
            after = getattr(obj, attribute)
            if not _empty(after):
                changes[shown] = {"from": None, "to": plain(_name(session, model, after) if model else after)}
            continue
        history = state.attrs[attribute].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if model is not None:
            before, after = _name(session, model, before), _name(session, model, after)
        before, after = plain(before), plain(after)
        if before != after:
            changes[shown] = {"from": before, "to": after}
    return changes


def _actor_id() -> uuid.UUID | None:
    acting = acting_user.get()
    if acting is not None:
        return acting
    # The request's logged-in user as Flask-Login already loaded it: never load it here, inside a flush.
    user = g.get("_login_user") if has_request_context() else None
    return user.id if isinstance(user, User) else None


def _after_flush(session: Session, _context: Any) -> None:
    rows: list[dict[str, Any]] = []
    now = utcnow()

    def add(obj: Any, spec: Tracked, action: ActivityAction, changes: dict[str, Any]) -> None:
        rows.append(
            {
                "id": uuid.uuid4(),
                "case_id": spec.case_of(obj),
                "at": now,
                "subject_type": spec.kind,
                "subject_id": spec.subject_of(obj),
                "subject_label": spec.label(session, obj)[:LABEL_LENGTH],
                "action": action,
                "changes": changes,
            }
        )

    with session.no_autoflush:
        for obj in session.new:
            spec = TRACKED.get(type(obj))
            if spec is not None:
                add(obj, spec, ActivityAction.CREATED, _changes(session, obj, spec, created=True))
        for obj in session.dirty:
            spec = TRACKED.get(type(obj))
            if spec is None or not session.is_modified(obj, include_collections=False):
                continue
            changes = _changes(session, obj, spec, created=False)
            if spec.removal is not None and any(v is not None for v in inspect(obj).attrs[spec.removal].history.added):
                add(obj, spec, ActivityAction.REMOVED, changes)
            elif changes:
                add(obj, spec, ActivityAction.CHANGED, changes)
        for obj in session.deleted:
            spec = TRACKED.get(type(obj))
            if spec is not None:
                add(obj, spec, ActivityAction.REMOVED, {})
    if rows:
        user_id = _actor_id()
        for row in rows:
            row["user_id"] = user_id
        session.connection().execute(insert(cast("Table", Activity.__table__)), rows)


if not event.contains(Session, "after_flush", _after_flush):
    event.listen(Session, "after_flush", _after_flush)
