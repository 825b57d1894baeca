"""Verification services: record a check, change the status, read an item's verification. Like every service:
flush, never commit. Every check and every status change is a custody entry of the item, so the trail says who
verified what, and `custody verify` covers it.

Four eyes: the person who uploaded an item (its creator) or collected it (its `collected_by` names them) may record
checks, but never set its status to verified.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from casefile.auth.gate import Access, require_case
from casefile.auth.models import User
from casefile.collab.services import notify_status_changed
from casefile.custody.actions import Action
from casefile.custody.ledger import record_item_event
from casefile.errors import Conflict, Forbidden, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.parsing import clean_text, parse_choice
from casefile.verification.models import (
    CONCLUSIONS,
    PHASES,
    CheckArea,
    CheckOutcome,
    VerificationCheck,
    VerificationStatus,
)

METHOD_LENGTH = 500
NOTES_LENGTH = 20_000
REASON_LENGTH = 2000


def _status(item: EvidenceItem) -> VerificationStatus:
    return VerificationStatus(item.verification_status or VerificationStatus.NEW)


def is_own(item: EvidenceItem, user: User) -> bool:
    """Whether `user` uploaded or collected the item (and so may not verify it)."""
    if item.created_by_id == user.id:
        return True
    collector = (item.collected_by or "").strip().casefold()
    return bool(collector) and collector in {(user.name or "").strip().casefold(), user.email.casefold()}


def record_check(session: Session, item: EvidenceItem, user: User, data: Mapping[str, Any]) -> VerificationCheck:
    """One check of the item (its area, outcome, method and notes). A new item's verification begins with it."""
    require_case(session, user, item.case_id, Access.WRITE)
    area = parse_choice(data.get("area"), CheckArea, "area")
    outcome = parse_choice(data.get("outcome"), CheckOutcome, "outcome")
    method = clean_text(data.get("method"), "method", max_length=METHOD_LENGTH, required=True)
    notes = clean_text(data.get("notes"), "notes", max_length=NOTES_LENGTH)
    check = VerificationCheck(
        evidence_id=item.id,
        case_id=item.case_id,
        area=area,
        outcome=outcome,
        method=method,
        notes=notes,
        checked_by_id=user.id,
    )
    session.add(check)
    session.flush()
    record_item_event(
        session,
        item,
        user,
        Action.VERIFICATION_CHECKED,
        {
            "check": str(check.id),
            "phase": PHASES[area],
            "area": area.value,
            "outcome": outcome.value,
            "method": method,
            "notes": notes,
        },
    )
    if _status(item) is VerificationStatus.NEW:
        _change(session, item, user, VerificationStatus.IN_VERIFICATION, "")
    return check


def set_status(session: Session, item: EvidenceItem, user: User, status: Any, reason: Any = "") -> EvidenceItem:
    """Move the item's verification: to in_verification (begin or reopen), or to a conclusion (verified, disputed,
    unverifiable) from in_verification, with at least one check recorded; never verified by its uploader or
    collector (403). 409 for a move the workflow does not allow."""
    require_case(session, user, item.case_id, Access.WRITE)
    target = parse_choice(status, VerificationStatus, "status")
    why = clean_text(reason, "reason", max_length=REASON_LENGTH)
    current = _status(item)
    if target is VerificationStatus.NEW:
        raise Conflict(_("A verification that has begun is never new again: reopen it (in verification)."))
    if target is current:
        raise Conflict(_("The item is already %(status)s.", status=target.value))
    if target in CONCLUSIONS:
        if current is not VerificationStatus.IN_VERIFICATION:
            raise Conflict(_("Only an item in verification can be concluded: reopen it first."))
        if not session.scalar(select(func.count()).where(VerificationCheck.evidence_id == item.id)):
            raise Conflict(_("Record at least one check before concluding the verification."))
        if target is VerificationStatus.VERIFIED and is_own(item, user):
            raise Forbidden(_("You uploaded or collected this item: someone else must verify it (four eyes)."))
        if target is not VerificationStatus.VERIFIED and not why:
            raise ValidationFailed(_("Say why it is %(status)s.", status=target.value), field="reason")
    _change(session, item, user, target, why)
    notify_status_changed(session, item, user)
    return item


def allowed_moves(item: EvidenceItem, user: User) -> list[VerificationStatus]:
    """The statuses this person may move the item to now (what set_status accepts, checks aside): a conclusion from
    in_verification, otherwise back to in_verification; never verified by the item's uploader or collector."""
    if _status(item) is VerificationStatus.IN_VERIFICATION:
        moves = [s for s in VerificationStatus if s in CONCLUSIONS]
    else:
        moves = [VerificationStatus.IN_VERIFICATION]
    return [s for s in moves if not (s is VerificationStatus.VERIFIED and is_own(item, user))]


def _change(session: Session, item: EvidenceItem, user: User, target: VerificationStatus, reason: str) -> None:
    before = _status(item)
    item.verification_status = target.value
    session.flush()
    record_item_event(
        session,
        item,
        user,
        Action.VERIFICATION_STATUS_CHANGED,
        {"from": before.value, "to": target.value, "reason": reason},
    )


def checks_of(session: Session, item: EvidenceItem) -> list[VerificationCheck]:
    return list(
        session.scalars(
            select(VerificationCheck)
            .where(VerificationCheck.evidence_id == item.id)
            .options(selectinload(VerificationCheck.checked_by))
            .order_by(VerificationCheck.checked_at, VerificationCheck.id)
        )
    )


def check_json(check: VerificationCheck) -> dict[str, Any]:
    return {
        "id": str(check.id),
        "phase": check.phase,
        "area": check.area.value,
        "outcome": check.outcome.value,
        "method": check.method,
        "notes": check.notes,
        "checked_by": check.checked_by.email,
        "checked_at": check.checked_at.isoformat(),
    }


def verification_json(session: Session, item: EvidenceItem, user: User) -> dict[str, Any]:
    return {
        "evidence_id": str(item.id),
        "status": _status(item).value,
        "may_verify": not is_own(item, user),
        "moves": [s.value for s in allowed_moves(item, user)],
        "checks": [check_json(c) for c in checks_of(session, item)],
    }


def verified_ids(session: Session, evidence_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these items are verified, in one query."""
    if not evidence_ids:
        return set()
    return set(
        session.scalars(
            select(EvidenceItem.id).where(
                EvidenceItem.id.in_(list(evidence_ids)), EvidenceItem.verification_status == VerificationStatus.VERIFIED
            )
        )
    )
