"""Actors, the relations between them (the command chain), and their involvement in incidents."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, selectinload

from casefile.actors.models import (
    Actor,
    ActorKind,
    ActorRelation,
    Confidence,
    Degree,
    Involvement,
    InvolvementStatus,
    RelationType,
)
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.cases.services import clean_text, parse_choice, parse_date
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody
from casefile.errors import Conflict, ValidationFailed
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.links.models import EvidenceLink
from casefile.names import similarity

DUPLICATE_THRESHOLD = 0.8


def parse_aliases(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace("\r", "").split("\n")
    if not isinstance(value, list | tuple):
        raise ValidationFailed(_("Give aliases as a list."), field="aliases")
    aliases = [clean_text(v, "aliases", max_length=300) for v in value if isinstance(v, str)]
    if len(aliases) != len(value) and any(not isinstance(v, str) for v in value):
        raise ValidationFailed(_("Give aliases as a list."), field="aliases")
    if len(aliases) > 100:
        raise ValidationFailed(_("At most 100 aliases."), field="aliases")
    return list(dict.fromkeys(a for a in aliases if a))


def parse_identifiers(value: Any) -> list[dict[str, str]]:
    """Passport, national ID and similar numbers: [{"type": …, "value": …}], or "type: value" lines."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        pairs = [line.partition(":") for line in value.replace("\r", "").split("\n") if line.strip()]
        value = [{"type": t.strip(), "value": v.strip()} for t, _sep, v in pairs]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValidationFailed(_("Give identifiers as a list of {type, value}."), field="identifiers")
    out = []
    for entry in value:
        kind = clean_text(entry.get("type"), "identifiers", max_length=100)
        number = clean_text(entry.get("value"), "identifiers", max_length=200)
        if not number:
            raise ValidationFailed(_("Each identifier needs a value."), field="identifiers")
        out.append({"type": kind or _("identifier"), "value": number})
    return out


def _apply(actor: Actor, data: Mapping[str, Any], partial: bool) -> None:
    def given(name: str) -> bool:
        return not partial or name in data

    if given("kind"):
        actor.kind = parse_choice(data.get("kind"), ActorKind, "kind")
    if given("name"):
        actor.name = clean_text(data.get("name"), "name", max_length=300, required=True)
    if given("aliases"):
        actor.aliases = parse_aliases(data.get("aliases"))
    if given("description"):
        actor.description = clean_text(data.get("description"), "description", max_length=20000)
    if given("date_of_birth"):
        actor.date_of_birth = clean_text(data.get("date_of_birth"), "date_of_birth", max_length=40)
    if given("place_of_birth"):
        actor.place_of_birth = clean_text(data.get("place_of_birth"), "place_of_birth", max_length=200)
    if given("nationality"):
        actor.nationality = clean_text(data.get("nationality"), "nationality", max_length=100)
    if given("identifiers"):
        actor.identifiers = parse_identifiers(data.get("identifiers"))


@dataclass(frozen=True)
class Candidate:
    actor: Actor
    score: float
    matched: str


def likely_duplicates(
    session: Session,
    case: Case,
    name: str,
    aliases: list[str],
    kind: ActorKind,
    exclude: uuid.UUID | None = None,
    among: Sequence[Actor] | None = None,
) -> list[Candidate]:
    """Actors of the case whose name or an alias reads like the given one in any script or spelling.
    A person is compared with persons and a body with bodies: "Mohamed al-Kani" and his militia "Kaniyat" read
    alike but are never one actor, while a militia entered once as an armed group and once as a unit may be."""
    found: list[Candidate] = []
    # `among`: the case's actors read once by a caller comparing many names (an import), not once per name.
    for actor in active_actors(session, case) if among is None else among:
        if actor.id == exclude:
            continue
        score, matched = resemblance(name, aliases, kind, actor)
        if score >= DUPLICATE_THRESHOLD:
            found.append(Candidate(actor, round(score, 2), matched))
    return sorted(found, key=lambda c: -c.score)


def resemblance(name: str, aliases: list[str], kind: ActorKind, actor: Actor) -> tuple[float, str]:
    """How much the name or an alias reads like the actor's (0 to 1), and which of the actor's names it matched;
    0 between a person and a body."""
    if (kind == ActorKind.PERSON) != (actor.kind == ActorKind.PERSON):
        return 0.0, ""
    wanted = [n for n in [name, *aliases] if n]
    return max(
        ((similarity(w, known), known) for w in wanted for known in [actor.name, *actor.aliases]), default=(0.0, "")
    )


def possible_duplicates(session: Session, actor: Actor) -> list[Candidate]:
    """Other active actors of the actor's case that read like it (what its page and the API both show).
    A merged actor has none: it is already folded into another."""
    if actor.merged_into_id:
        return []
    return likely_duplicates(session, actor.case, actor.name, list(actor.aliases), actor.kind, exclude=actor.id)


class LikelyDuplicates(Conflict):
    """Nothing was created: the new actor reads like actors already in the case."""

    code = "likely_duplicates"

    def __init__(self, candidates: list[Candidate]) -> None:
        super().__init__(
            _(
                "This actor reads like %(n)d already in the case. Add the spelling as an alias of one of them, "
                "or confirm that it is a different actor (confirm_new).",
                n=len(candidates),
            ),
            field="name",
        )
        self.candidates = candidates


def parse_flag(value: Any, field: str) -> bool:
    """A yes/no field from a form or JSON: absent is no; anything but a boolean is refused, not guessed."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed(_("Give true or false."), field=field)
    return value


def check_actor(data: Mapping[str, Any]) -> Actor:
    """Validate an actor's fields into an actor that is not added to the session (an import's preview)."""
    actor = Actor()
    _apply(actor, data, partial=False)
    return actor


def create_actor(
    session: Session, case: Case, user: User, data: Mapping[str, Any], *, confirm_new: bool = False
) -> Actor:
    """The one duplicate rule, for the pages and the API alike: an actor that reads like one already in the
    case (in any script or spelling) is created only when the creator has said it is a different actor
    (`confirm_new`); otherwise nothing is written and LikelyDuplicates (409) names the candidates, since a
    person split over two records splits their evidence and hides the link a charge depends on."""
    new = Actor(case_id=case.id, created_by_id=user.id)
    _apply(new, data, partial=False)
    candidates = likely_duplicates(session, case, new.name, list(new.aliases), new.kind)
    if candidates and not confirm_new:
        raise LikelyDuplicates(candidates)
    session.add(new)
    session.flush()
    return new


def update_actor(session: Session, target: Actor, data: Mapping[str, Any]) -> Actor:
    _apply(target, data, partial=True)
    session.flush()
    return target


def active_actors(session: Session, case: Case) -> list[Actor]:
    return list(
        session.scalars(
            select(Actor).where(Actor.case_id == case.id, Actor.merged_into_id.is_(None)).order_by(Actor.name)
        )
    )


def merge_actors(session: Session, keep: Actor, duplicate: Actor, user: User) -> Actor:
    """Fold `duplicate` into `keep`: every relation, involvement, evidence link and charge moves over; the
    duplicate's name and aliases become aliases; the duplicate row stays, pointing at `keep`, and the
    merge is written to the (append-only) custody ledger."""
    if keep.id == duplicate.id or keep.case_id != duplicate.case_id:
        raise ValidationFailed(_("Choose two different actors of the same case."), field="duplicate_id")
    if duplicate.merged_into_id or keep.merged_into_id:
        raise ValidationFailed(_("This actor has already been merged."), field="duplicate_id")
    moved = {}
    for model, column in (
        (ActorRelation, ActorRelation.source_actor_id),
        (ActorRelation, ActorRelation.target_actor_id),
        (Involvement, Involvement.actor_id),
        (EvidenceLink, EvidenceLink.actor_id),
        (Charge, Charge.suspect_id),
    ):
        result = session.execute(update(model).where(column == duplicate.id).values({column.key: keep.id}))
        moved[f"{model.__tablename__}.{column.key}"] = cast("CursorResult[Any]", result).rowcount
    # A relation that now points from an actor to itself is meaningless: it was between the two duplicates.
    self_relations = session.scalars(
        select(ActorRelation).where(ActorRelation.source_actor_id == keep.id, ActorRelation.target_actor_id == keep.id)
    ).all()
    if self_relations:
        raise ValidationFailed(
            _("These two actors are related to each other; remove that relation before merging."), field="duplicate_id"
        )
    keep.aliases = list(dict.fromkeys([*keep.aliases, duplicate.name, *duplicate.aliases]))
    keep.identifiers = [*keep.identifiers, *[i for i in duplicate.identifiers if i not in keep.identifiers]]
    duplicate.merged_into_id = keep.id
    session.flush()
    record_custody(
        session,
        actor=user,
        action=Action.ACTORS_MERGED,
        case_id=keep.case_id,
        details={
            "kept": {"id": str(keep.id), "name": keep.name},
            "merged": {"id": str(duplicate.id), "name": duplicate.name},
            "moved": moved,
        },
    )
    return keep


def actor_in_case(session: Session, case: Case, raw: Any, field: str) -> Actor:
    try:
        found = session.get(Actor, uuid.UUID(str(raw)))
    except ValueError:
        found = None
    if found is None or found.case_id != case.id or found.merged_into_id:
        raise ValidationFailed(_("Unknown actor."), field=field)
    return found


def create_relation(session: Session, case: Case, data: Mapping[str, Any]) -> ActorRelation:
    source = actor_in_case(session, case, data.get("source_actor_id"), "source_actor_id")
    target = actor_in_case(session, case, data.get("target_actor_id"), "target_actor_id")
    if source.id == target.id:
        raise ValidationFailed(_("An actor cannot be related to itself."), field="target_actor_id")
    relation = ActorRelation(
        case_id=case.id,
        source_actor_id=source.id,
        target_actor_id=target.id,
        relation=parse_choice(data.get("relation"), RelationType, "relation"),
        valid_from=parse_date(data.get("valid_from"), "valid_from"),
        valid_to=parse_date(data.get("valid_to"), "valid_to"),
        confidence=parse_choice(data.get("confidence") or "medium", Confidence, "confidence"),
        note=clean_text(data.get("note"), "note", max_length=5000),
    )
    if relation.valid_from and relation.valid_to and relation.valid_to < relation.valid_from:
        raise ValidationFailed(_("The end date cannot be before the start date."), field="valid_to")
    session.add(relation)
    session.flush()
    return relation


def create_involvement(session: Session, case: Case, data: Mapping[str, Any]) -> Involvement:
    actor = actor_in_case(session, case, data.get("actor_id"), "actor_id")
    try:
        incident = session.get(Incident, uuid.UUID(str(data.get("incident_id"))))
    except ValueError:
        incident = None
    if incident is None or incident.case_id != case.id:
        raise ValidationFailed(_("Unknown incident."), field="incident_id")
    mode = str(data.get("mode_of_liability") or "")
    if mode:
        try:
            load_catalogue().mode(mode)
        except KeyError:
            raise ValidationFailed(_("Unknown mode of liability."), field="mode_of_liability") from None
    involvement = Involvement(
        case_id=case.id,
        incident_id=incident.id,
        actor_id=actor.id,
        degree=parse_choice(data.get("degree"), Degree, "degree"),
        mode_of_liability=mode,
        status=parse_choice(data.get("status") or "alleged", InvolvementStatus, "status"),
        note=clean_text(data.get("note"), "note", max_length=5000),
    )
    session.add(involvement)
    session.flush()
    return involvement


def relations_of(session: Session, case: Case) -> list[ActorRelation]:
    return list(
        session.scalars(
            select(ActorRelation)
            .where(ActorRelation.case_id == case.id)
            .options(selectinload(ActorRelation.source), selectinload(ActorRelation.target))
            .order_by(ActorRelation.relation, ActorRelation.valid_from)
        )
    )


def involvements_of(
    session: Session, case: Case, *, actor: Actor | None = None, incident: Incident | None = None
) -> list[Involvement]:
    stmt = (
        select(Involvement)
        .where(Involvement.case_id == case.id)
        .options(selectinload(Involvement.actor), selectinload(Involvement.incident))
    )
    if actor is not None:
        stmt = stmt.where(Involvement.actor_id == actor.id)
    if incident is not None:
        stmt = stmt.where(Involvement.incident_id == incident.id)
    return list(session.scalars(stmt.order_by(Involvement.created_at)))


def relations_of_actor(session: Session, actor: Actor) -> list[ActorRelation]:
    return list(
        session.scalars(
            select(ActorRelation)
            .where(or_(ActorRelation.source_actor_id == actor.id, ActorRelation.target_actor_id == actor.id))
            .options(selectinload(ActorRelation.source), selectinload(ActorRelation.target))
        )
    )
