"""What a dossier may contain: the profile's classification levels and the witnesses' current consent.

The planner decides; the builder only packs what the planner allowed. A testimony (or any derivative of
one) is included only when its witness's latest consent record for the profile's purpose is a grant.

Without a choice of items, the planner considers every item of the case and takes the default selection: what is
evidence of something (linked to an incident, actor, relation, involvement or charge element, or a witness
statement). Every item it considers ends up included or excluded with its reasons in words; nothing is left out
silently.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from casefile.cases.models import Case
from casefile.dossier.profiles import Profile
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.links.models import EvidenceLink
from casefile.witnesses.models import Statement, Witness
from casefile.witnesses.services import current_consents


@dataclass
class Plan:
    profile: Profile
    included: list[EvidenceItem] = field(default_factory=list)
    excluded: list[tuple[EvidenceItem, list[str]]] = field(default_factory=list)
    witnesses: dict[uuid.UUID, Witness] = field(default_factory=dict)  # item id → witness, for pseudonyms
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


def plan_dossier(session: Session, case: Case, profile: Profile, evidence_ids: Sequence[Any] | None) -> Plan:
    """Without `evidence_ids`, every item of the case is considered and those outside the default selection are
    excluded with that reason (and any other that applies); with them, exactly the chosen items are."""
    if evidence_ids is None:
        items, unselected = _every_item(session, case)
    else:
        items, unselected = chosen_items(session, case, evidence_ids), set()
    witnesses = witnesses_by_item(session, items)
    plan = Plan(profile, witnesses=witnesses, unselected=unselected)
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
                _("classified %(level)s, which this profile does not allow", level=item.classification.value)
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
                        purpose=profile.consent_purpose.value,
                    )
                )
            elif not record.granted:
                withdrawn = any(r.granted for r in history)
                reasons.append(
                    _(
                        "witness %(code)s withdrew consent to %(purpose)s on %(date)s",
                        code=witness.code,
                        purpose=profile.consent_purpose.value,
                        date=record.recorded_on.isoformat(),
                    )
                    if withdrawn
                    else _(
                        "witness %(code)s refused consent to %(purpose)s on %(date)s",
                        code=witness.code,
                        purpose=profile.consent_purpose.value,
                        date=record.recorded_on.isoformat(),
                    )
                )
        if reasons:
            plan.excluded.append((item, reasons))
        else:
            plan.included.append(item)
    return plan
