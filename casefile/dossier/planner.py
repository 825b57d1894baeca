"""What a dossier may contain: the profile's classification levels and the witnesses' current consent.

The planner decides; the builder only packs what the planner allowed. A testimony (or any derivative of
one) is included only when its witness's latest consent record for the profile's purpose is a grant.

A dossier may be about chosen targets (actors) and charges or designation criteria (`Scope`): then the planner
considers every item that supports or contradicts them (linked to a target, to a relation or involvement of one, to
an element of a chosen charge, or to an incident of those involvements and charges), plus the items the user adds.
What contradicts them is exculpatory: it is considered like the rest and labelled, never left out by the choice of
scope. Without targets or a choice of items, the planner considers every item of the case and takes the default
selection: what is evidence of something (linked to an incident, actor, relation, involvement or charge element,
or a witness statement). Every item it considers ends up included or excluded with its reasons in words; nothing is
left out silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, or_, select, true
from sqlalchemy.orm import Session, selectinload

from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.cases.models import Case
from casefile.dossier.profiles import Profile
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.labels import CLASSIFICATION_LABELS, CONSENT_PURPOSE_LABELS, VERIFICATION_STATUS_LABELS
from casefile.legal.catalogue import load_catalogue
from casefile.legal.models import Charge
from casefile.legal.services import charges_of
from casefile.links.models import EvidenceLink, Stance
from casefile.witnesses.models import Statement, Witness
from casefile.witnesses.services import current_consents


@dataclass(frozen=True)
class Scope:
    """Who the dossier is about and which charges or designation criteria it carries. No targets: the whole case,
    with every charge of the profile's frameworks."""

    targets: tuple[Actor, ...] = ()
    charges: tuple[Charge, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {"target_ids": [str(a.id) for a in self.targets], "charge_ids": [str(c.id) for c in self.charges]}


def _ids(raw_ids: Sequence[Any], field_name: str, message: str) -> list[uuid.UUID]:
    if isinstance(raw_ids, str | bytes) or not isinstance(raw_ids, Sequence):
        raise ValidationFailed(message, field=field_name)
    try:
        return [uuid.UUID(str(raw)) for raw in raw_ids]
    except ValueError:
        raise ValidationFailed(message, field=field_name) from None


def resolve_scope(
    session: Session,
    case: Case,
    profile: Profile,
    target_ids: Sequence[Any] | None,
    charge_ids: Sequence[Any] | None,
) -> Scope:
    """The chosen targets and charges, checked: actors and charges of this case, each charge under one of the
    profile's frameworks and against one of the targets. Without `charge_ids`: every charge of the profile's
    frameworks (against the targets, if any)."""
    targets: list[Actor] = []
    if target_ids:
        wanted = _ids(target_ids, "target_ids", _("Unknown actor."))
        targets = list(
            session.scalars(
                select(Actor)
                .where(Actor.id.in_(wanted), Actor.case_id == case.id, Actor.merged_into_id.is_(None))
                .order_by(Actor.name)
            )
        )
        if len(targets) != len(set(wanted)):
            raise ValidationFailed(_("Unknown actor."), field="target_ids")
    target_set = {a.id for a in targets}
    catalogue = load_catalogue()

    def framework_code(charge: Charge) -> str:
        return catalogue.framework_of(charge.offence_code).code

    if charge_ids is None:
        charges = [
            c
            for c in charges_of(session, case)
            if (not profile.frameworks or framework_code(c) in profile.frameworks)
            and (not target_set or c.suspect_id in target_set)
        ]
        return Scope(tuple(targets), tuple(charges))
    wanted = _ids(charge_ids, "charge_ids", _("Unknown charge."))
    by_id = {c.id: c for c in charges_of(session, case) if c.id in set(wanted)}
    if len(by_id) != len(set(wanted)):
        raise ValidationFailed(_("Unknown charge."), field="charge_ids")
    for charge in by_id.values():
        offence = catalogue.offence(charge.offence_code)
        if profile.frameworks and framework_code(charge) not in profile.frameworks:
            raise ValidationFailed(
                _(
                    "“%(offence)s” comes from %(framework)s, which a dossier for %(recipient)s does not carry.",
                    offence=offence.title,
                    framework=catalogue.framework_of(charge.offence_code).title,
                    recipient=profile.recipient or profile.title,
                ),
                field="charge_ids",
            )
        if target_set and charge.suspect_id not in target_set:
            raise ValidationFailed(
                _(
                    "“%(offence)s” is against %(suspect)s, who is not one of this dossier's targets.",
                    offence=offence.title,
                    suspect=charge.suspect.name,
                ),
                field="charge_ids",
            )
    return Scope(tuple(targets), tuple(by_id[i] for i in dict.fromkeys(wanted)))


def scope_incident_ids(session: Session, scope: Scope) -> set[uuid.UUID]:
    """The incidents the targets are involved in or charged with."""
    target_ids = [a.id for a in scope.targets]
    involved = set(session.scalars(select(Involvement.incident_id).where(Involvement.actor_id.in_(target_ids))))
    return involved | {incident.id for charge in scope.charges for incident in charge.incidents}


def about_scope(scope: Scope) -> ColumnElement[bool]:
    """Links that are evidence about what the dossier alleges: to a target, to a relation or involvement of one, to
    an element of a chosen charge, or to an incident of those involvements and charges. Without targets: every link.
    The one definition, for the selection, the exculpatory label and the dossier's exculpatory section."""
    if not scope.targets:
        return true()
    target_ids = [a.id for a in scope.targets]
    involvements = select(Involvement.id).where(Involvement.actor_id.in_(target_ids))
    return or_(
        EvidenceLink.actor_id.in_(target_ids),
        EvidenceLink.relation_id.in_(
            select(ActorRelation.id).where(
                or_(ActorRelation.source_actor_id.in_(target_ids), ActorRelation.target_actor_id.in_(target_ids))
            )
        ),
        EvidenceLink.involvement_id.in_(involvements),
        EvidenceLink.charge_id.in_([c.id for c in scope.charges]),
        EvidenceLink.incident_id.in_(select(Involvement.incident_id).where(Involvement.actor_id.in_(target_ids))),
        EvidenceLink.incident_id.in_([i.id for charge in scope.charges for i in charge.incidents]),
    )


def exculpatory_links(scope: Scope, evidence_ids: Collection[uuid.UUID]) -> Select[EvidenceLink]:
    """The links by which these items contradict what the dossier alleges."""
    return select(EvidenceLink).where(
        EvidenceLink.evidence_id.in_(list(evidence_ids)),
        EvidenceLink.stance == Stance.CONTRADICTS,
        about_scope(scope),
    )


@dataclass
class Plan:
    profile: Profile
    included: list[EvidenceItem] = field(default_factory=list)
    excluded: list[tuple[EvidenceItem, list[str]]] = field(default_factory=list)
    witnesses: dict[uuid.UUID, Witness] = field(default_factory=dict)  # item id → witness, for pseudonyms
    scope: Scope = field(default_factory=Scope)
    # Items that contradict the targets or charges: included like the rest, and labelled.
    exculpatory: set[uuid.UUID] = field(default_factory=set)
    # Excluded only because the default selection does not take them (linked to nothing): not "withheld" from
    # the recipient by the profile's rules, so not counted as such in the dossier.
    unselected: set[uuid.UUID] = field(default_factory=set)

    @property
    def withheld_count(self) -> int:
        """Items the recipient's rules (classification, consent) kept out of the dossier."""
        return sum(1 for item, _reasons in self.excluded if item.id not in self.unselected)


def witnesses_by_item(session: Session, items: Sequence[EvidenceItem]) -> dict[uuid.UUID, Witness]:
    """The witness behind each item: its own statement, or the statement it was derived from."""
    by_id = {i.id: i for i in items}
    roots: dict[uuid.UUID, uuid.UUID] = {}
    for item in items:
        root = item
        seen = {root.id}
        while root.parent_id and root.parent_id not in seen:
            parent = by_id.get(root.parent_id) or session.get(EvidenceItem, root.parent_id)
            if parent is None:
                break
            seen.add(parent.id)
            root = parent
        roots[item.id] = root.id
    rows = session.execute(
        select(Statement.evidence_id, Witness)
        .join(Witness, Witness.id == Statement.witness_id)
        .where(Statement.evidence_id.in_(set(roots.values()) | set(roots)))
        .options(selectinload(Witness.consents))
    ).all()
    statement_witness = dict(rows)
    return {
        item_id: statement_witness.get(item_id) or statement_witness[root_id]
        for item_id, root_id in roots.items()
        if item_id in statement_witness or root_id in statement_witness
    }


def _in_default_selection(case: Case) -> ColumnElement[bool]:
    """Everything that is evidence of something: linked to an incident, actor, relation, involvement or
    charge element, or a witness statement."""
    linked = select(EvidenceLink.evidence_id).where(EvidenceLink.case_id == case.id)
    statements = select(Statement.evidence_id)
    return EvidenceItem.id.in_(linked) | EvidenceItem.id.in_(statements)


def default_selection(session: Session, case: Case) -> list[EvidenceItem]:
    """The items a dossier takes when none are chosen (see `_in_default_selection`)."""
    return list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.case_id == case.id, _in_default_selection(case))
            .order_by(EvidenceItem.number)
        )
    )


def _every_item(session: Session, case: Case) -> tuple[list[EvidenceItem], set[uuid.UUID]]:
    """Every item of the case, and which of them the default selection leaves out, in one query."""
    rows = session.execute(
        select(EvidenceItem, _in_default_selection(case).label("selected"))
        .where(EvidenceItem.case_id == case.id)
        .order_by(EvidenceItem.number)
    ).all()
    return [item for item, _selected in rows], {item.id for item, selected in rows if not selected}


def chosen_items(session: Session, case: Case, evidence_ids: Sequence[Any]) -> list[EvidenceItem]:
    ids = []
    for raw in evidence_ids:
        try:
            ids.append(uuid.UUID(str(raw)))
        except ValueError:
            raise ValidationFailed(_("Unknown evidence item."), field="evidence_ids") from None
    items = list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.id.in_(ids), EvidenceItem.case_id == case.id)
            .order_by(EvidenceItem.number)
        )
    )
    if len(items) != len(set(ids)):
        raise ValidationFailed(_("Unknown evidence item."), field="evidence_ids")
    return items


def _lower_first(words: str) -> str:
    """A label inside a sentence: "Sharing with the ICC" → "sharing with the ICC"."""
    return words[:1].lower() + words[1:]


def plan_dossier(
    session: Session,
    case: Case,
    profile: Profile,
    evidence_ids: Sequence[Any] | None,
    scope: Scope | None = None,
) -> Plan:
    """With targets in `scope`, every item that supports or contradicts the scope is considered, plus the items of
    `evidence_ids`. Without targets: without `evidence_ids`, every item of the case is considered and those outside
    the default selection are excluded with that reason (and any other that applies); with them, exactly the chosen
    items are."""
    scope = scope or Scope()
    if scope.targets:
        linked = select(EvidenceLink.evidence_id).where(EvidenceLink.case_id == case.id, about_scope(scope))
        added = chosen_items(session, case, evidence_ids or [])
        found = list(session.scalars(select(EvidenceItem).where(EvidenceItem.id.in_(linked))))
        items = sorted({i.id: i for i in [*found, *added]}.values(), key=lambda i: i.number)
        unselected: set[uuid.UUID] = set()
    elif evidence_ids is None:
        items, unselected = _every_item(session, case)
    else:
        items, unselected = chosen_items(session, case, evidence_ids), set()
    witnesses = witnesses_by_item(session, items)
    exculpatory = set(
        session.scalars(exculpatory_links(scope, [i.id for i in items]).with_only_columns(EvidenceLink.evidence_id))
    )
    plan = Plan(profile, witnesses=witnesses, unselected=unselected, scope=scope, exculpatory=exculpatory)
    purpose = _lower_first(_(CONSENT_PURPOSE_LABELS[profile.consent_purpose.value]))  # "sharing with the ICC"
    for item in items:
        reasons = []
        if item.id in unselected:
            reasons.append(
                _(
                    "linked to no incident, actor, relation, involvement or charge element and not a witness "
                    "statement, so not in the default selection; choose it explicitly to include it"
                )
            )
        if item.classification not in profile.allowed_classifications:
            reasons.append(
                _(
                    "classified %(level)s, which this profile does not allow",
                    level=_lower_first(_(CLASSIFICATION_LABELS[item.classification.value])),
                )
            )
        if profile.verified_only and item.verification_status != "verified":
            reasons.append(
                _(
                    "not verified (%(status)s), and this profile takes verified evidence only",
                    status=_(VERIFICATION_STATUS_LABELS.get(item.verification_status, item.verification_status)),
                )
            )
        witness = witnesses.get(item.id)
        if witness is not None:
            history = [r for r in witness.consents if r.purpose is profile.consent_purpose]
            record = current_consents(witness)[profile.consent_purpose]
            if record is None:
                reasons.append(
                    _(
                        "no consent of witness %(code)s to %(purpose)s is recorded",
                        code=witness.code,
                        purpose=purpose,
                    )
                )
            elif not record.granted:
                withdrawn = any(r.granted for r in history)
                reasons.append(
                    _(
                        "witness %(code)s withdrew consent to %(purpose)s on %(date)s",
                        code=witness.code,
                        purpose=purpose,
                        date=record.recorded_on.isoformat(),
                    )
                    if withdrawn
                    else _(
                        "witness %(code)s refused consent to %(purpose)s on %(date)s",
                        code=witness.code,
                        purpose=purpose,
                        date=record.recorded_on.isoformat(),
                    )
                )
        if reasons:
            plan.excluded.append((item, reasons))
        else:
            plan.included.append(item)
    return plan
