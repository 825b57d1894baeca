"""Linking evidence to what it is evidence of (or against), and reading those links back.

Links are where evidence meets incidents, actors and the law. This module reads those capabilities' tables and
the legal catalogue but calls none of their services, so legal's matrix and link analysis can count links here
without an import circle (the link form, which lists targets through their services, is links/forms.py).
Every link and unlink is a custody entry of the item.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from casefile import labels
from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.auth.models import User
from casefile.cases.models import Incident
from casefile.custody.actions import Action
from casefile.custody.ledger import record_item_event
from casefile.db import utcnow
from casefile.errors import NotFound, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.labels import catalogue_text
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.links.models import TARGET_COLUMNS, EvidenceLink, Stance
from casefile.parsing import clean_text, parse_choice

LinkTarget = Incident | Actor | ActorRelation | Involvement | Charge
LINK_TARGETS = tuple(TARGET_COLUMNS)
TARGET_MODELS: dict[str, type[LinkTarget]] = {
    "incident": Incident,
    "actor": Actor,
    "actor_relation": ActorRelation,
    "involvement": Involvement,
    "charge_element": Charge,
}


def _link_target(session: Session, item: EvidenceItem, target_type: Any, target_id: Any) -> tuple[str, LinkTarget]:
    if not isinstance(target_type, str) or target_type not in TARGET_MODELS:
        raise ValidationFailed(
            _("target_type must be one of: %(types)s.", types=", ".join(LINK_TARGETS)), field="target_type"
        )
    try:
        # A class chosen at run time: the checker only knows get() returns some mapped class.
        target = cast("LinkTarget | None", session.get(TARGET_MODELS[target_type], uuid.UUID(str(target_id))))
    except ValueError:
        target = None
    # Another case's object is indistinguishable from a missing one.
    if target is None or target.case_id != item.case_id:
        raise ValidationFailed(_("Unknown link target."), field="target_id")
    return TARGET_COLUMNS[target_type], target


def link_evidence(
    session: Session,
    item: EvidenceItem,
    actor: User,
    target_type: Any,
    target_id: Any,
    stance: Any = "supports",
    note: Any = "",
    element_code: Any = None,
) -> EvidenceLink:
    """Link an item to what it is evidence of (or against). Linking again updates stance and note."""
    column, target = _link_target(session, item, target_type, target_id)
    element = None
    if isinstance(target, Charge):
        codes = {e.code for _group, e in load_catalogue().elements_to_prove(target.offence_code, target.mode_code)}
        if element_code not in codes:
            raise ValidationFailed(_("Choose an element of this charge."), field="element_code")
        element = element_code
    stance_value = parse_choice(stance or "supports", Stance, "stance")
    note_text = clean_text(note, "note", max_length=5000)
    link = session.scalar(
        select(EvidenceLink).where(
            EvidenceLink.evidence_id == item.id,
            getattr(EvidenceLink, column) == target.id,
            EvidenceLink.element_code == element if element else EvidenceLink.element_code.is_(None),
        )
    )
    if link is None:
        link = EvidenceLink(
            evidence_id=item.id,
            case_id=item.case_id,
            created_by_id=actor.id,
            element_code=element,
            **{column: target.id},
        )
        session.add(link)
    link.stance = stance_value
    link.note = note_text
    session.flush()
    record_item_event(
        session,
        item,
        actor,
        Action.LINKED,
        {
            "target_type": target_type,
            "target_id": str(target.id),
            **({"element": element} if element else {}),
            "stance": stance_value.value,
            "note": note_text,
        },
    )
    return link


def unlink(session: Session, item: EvidenceItem, actor: User, link_id: Any) -> None:
    try:
        lid = uuid.UUID(str(link_id))
    except ValueError:
        raise NotFound("Not found.") from None
    link = session.scalar(select(EvidenceLink).where(EvidenceLink.id == lid, EvidenceLink.evidence_id == item.id))
    if link is None:
        raise NotFound("Not found.")
    details = {
        "target_type": link.target_type,
        "target_id": str(link.target_id),
        "stance": link.stance.value,
        **({"element": link.element_code} if link.element_code else {}),
    }
    # A state change, never a DELETE (the database refuses one): what was once asserted stays on record.
    link.removed_at, link.removed_by_id = utcnow(), actor.id
    session.flush()
    session.expire(item, ["links"])  # reloaded without it (the query hides removed links)
    record_item_event(session, item, actor, Action.UNLINKED, details)


def evidence_links(session: Session, where: ColumnElement[bool]) -> list[EvidenceLink]:
    """The links matching `where` with their items and targets loaded (a fixed number of queries), in ERN order:
    the "linked evidence" of an incident's or an actor's page."""
    stmt = (
        select(EvidenceLink)
        .join(EvidenceItem, EvidenceItem.id == EvidenceLink.evidence_id)
        .where(where)
        .options(
            selectinload(EvidenceLink.evidence),
            selectinload(EvidenceLink.incident),
            selectinload(EvidenceLink.actor),
            selectinload(EvidenceLink.relation),
            selectinload(EvidenceLink.involvement),
            selectinload(EvidenceLink.charge),
        )
        .order_by(EvidenceItem.number, EvidenceLink.created_at)
        .limit(LINKED_SHOWN)
    )
    return list(session.scalars(stmt))


LINKED_SHOWN = 500


def relation_words(relation: ActorRelation) -> str:
    """ "A commands B", in words (the relation's stored code never shown)."""
    word = labels.word_for(relation.relation.value, "relation", _)
    return f"{relation.source.name} {word} {relation.target.name}"


def involvement_words(involvement: Involvement) -> str:
    word = labels.word_for(involvement.degree.value, "degree", _)
    return f"{involvement.actor.name}: {word} — {involvement.incident.title}"


def element_title(text: str) -> str:
    """An element's short title: its text up to the first colon where it has one ("Superior-subordinate
    relationship: the accused was…"), else its whole text."""
    head, colon, _rest = text.partition(":")
    return head.strip() if colon and 0 < len(head.strip()) <= 100 else text


def element_label(code: object) -> str:
    """A catalogue element in words for a custody trail, where only its code is stored: its short title and
    reference; an element no longer in the catalogue by its code."""
    try:
        element = load_catalogue().element(str(code))
    except KeyError:
        return str(code)
    return f"{element_title(catalogue_text(element, 'text'))} ({catalogue_text(element, 'reference')})"


def element_words(charge: Charge, code: str | None, *, full: bool = False) -> str:
    """An element of a charge in words: whose charge, which offence, which element (its short title, or with
    `full` its whole text). An element no longer in the catalogue is named by its code, the only name left."""
    catalogue = load_catalogue()
    try:
        offence = catalogue_text(catalogue.offence(charge.offence_code), "title")
    except KeyError:
        offence = charge.offence_code
    try:
        element = catalogue.element(code or "")
    except KeyError:
        return f"{charge.suspect.name}, {offence} — {code}"
    text = catalogue_text(element, "text")
    text = text if full else element_title(text)
    return f"{charge.suspect.name}, {offence} — {text}"


def link_label(link: EvidenceLink, *, full: bool = False) -> str:
    """What a link points at, in words, for lists and exports (an element with its whole text given `full`)."""
    if link.incident is not None:
        return link.incident.title
    if link.actor is not None:
        return link.actor.name
    if link.relation is not None:
        return relation_words(link.relation)
    if link.involvement is not None:
        return involvement_words(link.involvement)
    if link.charge is not None:
        return element_words(link.charge, link.element_code, full=full)
    return ""


def link_counts(
    session: Session,
    column: InstrumentedAttribute[Any],
    ids: Sequence[uuid.UUID],
    evidence_ids: Collection[uuid.UUID] | None = None,
) -> dict[uuid.UUID, tuple[int, int]]:
    """Supporting and contradicting evidence counts per linked object (`column` is the EvidenceLink column of
    the objects' kind), in one query; optionally counting only the given evidence items."""
    counts: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0])
    if ids:
        stmt = select(column, EvidenceLink.stance).where(column.in_(list(ids)))
        if evidence_ids is not None:
            stmt = stmt.where(EvidenceLink.evidence_id.in_(list(evidence_ids)))
        for target, stance in session.execute(stmt):
            if stance is Stance.SUPPORTS:
                counts[target][0] += 1
            elif stance is Stance.CONTRADICTS:
                counts[target][1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}
