"""Witnesses: pseudonyms, protected identities, consent, statements.

A protected identity is only ever decrypted inside `reveal_identity` (and key rotation), and every
reveal is a custody entry. Nothing else in the application can read it: lists, pages, API responses,
search results, error messages and exports see the pseudonym code only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from casefile.auth.models import User
from casefile.auth.services import actors_of, person_label
from casefile.cases.models import Case
from casefile.cases.services import clean_text, parse_choice, parse_date
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody, record_item_event
from casefile.custody.models import CustodyEntry
from casefile.db import utcnow
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem, OnDuplicate
from casefile.evidence.services import ingest, record_acquisition
from casefile.storage import BlobStore, BlobWriter
from casefile.witnesses.crypto import FieldCipher
from casefile.witnesses.models import IDENTITY_FIELDS, ConsentPurpose, ConsentRecord, RiskLevel, Statement, Witness

IDENTITY_LIMITS = {
    "full_name": 300,
    "other_names": 500,
    "date_of_birth": 10,
    "contact": 500,
    "address": 1000,
    "notes": 5000,
}
STATEMENT_FIELDS = ("interview_date", "interview_place", "interviewer", "language", "interpreter")


def field_cipher() -> FieldCipher:
    return current_app.extensions["casefile_cipher"]


def context(witness_id: uuid.UUID) -> str:
    return f"casefile:witness-identity:{witness_id}"


def validate_identity(data: Mapping[str, Any]) -> dict[str, str]:
    identity = {
        name: clean_text(data.get(name), name, max_length=IDENTITY_LIMITS[name])
        for name in IDENTITY_FIELDS
        if name != "date_of_birth"
    }
    # Forms give a date, the API gives text: both are stored as ISO text inside the ciphertext.
    born = parse_date(data.get("date_of_birth"), "date_of_birth")
    identity["date_of_birth"] = born.isoformat() if born else ""
    if not identity["full_name"]:
        raise ValidationFailed(_("The witness's name is required (it is stored encrypted)."), field="full_name")
    return identity


def create_witness(session: Session, cipher: FieldCipher, case: Case, actor: User, data: Mapping[str, Any]) -> Witness:
    identity = validate_identity(data)
    risk = parse_choice(data.get("risk_level") or RiskLevel.MEDIUM.value, RiskLevel, "risk_level")
    # Number under the case row lock, like ERNs: pseudonym codes are unique and never reused.
    session.scalar(select(Case.id).where(Case.id == case.id).with_for_update())
    number = (session.scalar(select(func.max(Witness.number)).where(Witness.case_id == case.id)) or 0) + 1
    witness = Witness(
        id=uuid.uuid4(),
        case_id=case.id,
        number=number,
        code=f"W-{number:04d}",
        risk_level=risk,
        created_by_id=actor.id,
        identity_ciphertext="",
    )
    witness.identity_ciphertext = cipher.encrypt(identity, context(witness.id))
    session.add(witness)
    session.flush()
    return witness


def reveal_identity(
    session: Session, cipher: FieldCipher, witness: Witness, actor: User, reason: Any
) -> dict[str, str]:
    """Decrypt the identity for a user the gate has already allowed, and record that they saw it."""
    why = clean_text(reason, "reason", max_length=500)
    if not why:
        raise ValidationFailed(_("Give a reason for revealing this identity."), field="reason")
    identity = cipher.decrypt(witness.identity_ciphertext, context(witness.id))
    record_custody(
        session,
        actor=actor,
        action=Action.IDENTITY_REVEALED,
        case_id=witness.case_id,
        details={"witness": witness.code, "reason": why},
    )
    return identity


# A witness page lists at most this many reveals, newest first: the cost of a page stays bounded however often
# an identity was seen (the ledger keeps them all).
REVEALS_SHOWN = 200


@dataclass(frozen=True)
class IdentityReveal:
    """Who saw a protected identity, when and why: read back from the ledger, never the identity itself."""

    at: datetime
    by: str  # the person's email (the API's)
    reason: str
    seq: int
    by_label: str = ""  # "Name (role)", for pages


def identity_reveals(session: Session, witness: Witness, limit: int = REVEALS_SHOWN) -> list[IdentityReveal]:
    """The witness's `identity_revealed` ledger entries, newest first (the ledger is the only record of
    reveals: there is no second copy to fall out of step). Two queries, whatever the number of reveals."""
    entries = list(
        session.scalars(
            select(CustodyEntry)
            .where(
                CustodyEntry.case_id == witness.case_id,
                CustodyEntry.action == Action.IDENTITY_REVEALED.value,
                CustodyEntry.details["witness"].as_string() == witness.code,
            )
            .order_by(CustodyEntry.seq.desc())
            .limit(limit)
        )
    )
    people = actors_of(session, entries)
    return [
        IdentityReveal(
            at=e.at,
            by=people[e.actor].email if e.actor in people else e.actor,
            reason=str(e.details.get("reason", "")),
            seq=e.seq,
            by_label=person_label(people[e.actor]) if e.actor in people else e.actor,
        )
        for e in entries
    ]


def update_identity(
    session: Session, cipher: FieldCipher, witness: Witness, actor: User, data: Mapping[str, Any]
) -> Witness:
    identity = validate_identity(data)
    witness.identity_ciphertext = cipher.encrypt(identity, context(witness.id))
    session.flush()
    # The ledger says that the identity changed, never what it says.
    record_custody(
        session,
        actor=actor,
        action=Action.METADATA_CHANGED,
        case_id=witness.case_id,
        details={"witness": witness.code, "changed": "protected identity"},
    )
    return witness


def set_risk(session: Session, witness: Witness, actor: User, value: Any) -> Witness:
    risk = parse_choice(value, RiskLevel, "risk_level")
    if risk != witness.risk_level:
        record_custody(
            session,
            actor=actor,
            action=Action.METADATA_CHANGED,
            case_id=witness.case_id,
            details={"witness": witness.code, "risk_level": {"from": witness.risk_level.value, "to": risk.value}},
        )
        witness.risk_level = risk
        session.flush()
    return witness


def record_consent(session: Session, witness: Witness, actor: User, data: Mapping[str, Any]) -> ConsentRecord:
    """Add to the register. A withdrawal is a new record with granted=false; nothing is ever edited."""
    purpose = parse_choice(data.get("purpose"), ConsentPurpose, "purpose")
    granted = data.get("granted")
    if isinstance(granted, str):
        granted = {
            "true": True,
            "yes": True,
            "1": True,
            "granted": True,
            "false": False,
            "no": False,
            "0": False,
            "refused": False,
        }.get(granted.strip().lower())
    if not isinstance(granted, bool):
        raise ValidationFailed(_("Say whether consent was granted or refused."), field="granted")
    recorded_on = parse_date(data.get("recorded_on"), "recorded_on") or date.today()
    if recorded_on > date.today():
        raise ValidationFailed(_("Consent cannot be recorded in the future."), field="recorded_on")
    how = clean_text(data.get("how_recorded"), "how_recorded", max_length=300, required=True)
    record = ConsentRecord(
        witness_id=witness.id,
        purpose=purpose,
        granted=granted,
        recorded_on=recorded_on,
        how_recorded=how,
        note=clean_text(data.get("note"), "note", max_length=5000),
        recorded_by_id=actor.id,
    )
    session.add(record)
    session.flush()
    # Consent decides what a dossier may contain, so each decision is also in the tamper-evident ledger.
    # The pseudonym code only: the protected identity never reaches the ledger. Written last (the ledger
    # lock is held until commit).
    record_custody(
        session,
        actor=actor,
        action=Action.CONSENT_RECORDED,
        case_id=witness.case_id,
        details={
            "witness": witness.code,
            "consent_id": str(record.id),
            "purpose": purpose.value,
            "granted": granted,
            "recorded_on": recorded_on.isoformat(),
            "how_recorded": how,
        },
    )
    return record


def current_consents(witness: Witness) -> dict[ConsentPurpose, ConsentRecord | None]:
    """The state of each purpose: the latest decision (by the date it was made, then by when it was entered)
    decides; no record means no consent. A grant back-filled after a later withdrawal does not revive it."""
    state: dict[ConsentPurpose, ConsentRecord | None] = dict.fromkeys(ConsentPurpose)
    for record in sorted(witness.consents, key=lambda r: (r.recorded_on, r.created_at)):
        state[record.purpose] = record
    return state


def has_consent(witness: Witness, purpose: ConsentPurpose) -> bool:
    record = current_consents(witness)[purpose]
    return bool(record and record.granted)


def witnesses_of(session: Session, case: Case) -> list[Witness]:
    return list(
        session.scalars(
            select(Witness)
            .where(Witness.case_id == case.id)
            .order_by(Witness.number)
            .options(selectinload(Witness.consents), selectinload(Witness.statements))
        )
    )


def witness_in_case(session: Session, case_id: uuid.UUID, witness_id: Any) -> Witness:
    try:
        wid = uuid.UUID(str(witness_id))
    except ValueError:
        raise ValidationFailed(_("Unknown witness."), field="witness_id") from None
    witness = session.get(Witness, wid)
    if witness is None or witness.case_id != case_id:
        raise ValidationFailed(_("Unknown witness."), field="witness_id")
    return witness


def validate_statement(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"interview_date": parse_date(data.get("interview_date"), "interview_date")}
    for name, limit in (("interview_place", 300), ("interviewer", 200), ("language", 100), ("interpreter", 200)):
        out[name] = clean_text(data.get(name), name, max_length=limit)
    return out


def attach_statement(
    session: Session, item: EvidenceItem, witness: Witness, actor: User, interview: Mapping[str, Any]
) -> Statement:
    statement = Statement(evidence_id=item.id, witness_id=witness.id, **interview)
    session.add(statement)
    session.flush()
    record_item_event(
        session,
        item,
        actor,
        Action.LINKED,
        {"target_type": "witness", "target_id": witness.code},
    )
    return statement


def interview_order(statements: Sequence[Statement]) -> list[Statement]:
    """Statements already loaded, in the order of `statements_of` (undated interviews last, then by ERN)."""
    return sorted(
        statements, key=lambda st: (st.interview_date is None, st.interview_date or date.min, st.evidence.number)
    )


def statements_of(session: Session, witness: Witness) -> list[Statement]:
    """In interview order, so inconsistencies between successive statements can be reviewed."""
    return list(
        session.scalars(
            select(Statement)
            .join(EvidenceItem, EvidenceItem.id == Statement.evidence_id)
            .where(Statement.witness_id == witness.id)
            .order_by(Statement.interview_date.is_(None), Statement.interview_date, EvidenceItem.number)
            .options(selectinload(Statement.evidence).selectinload(EvidenceItem.derivatives))
        )
    )


def witness_for_items(session: Session, item_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Witness]:
    """Which witness gave each statement (looking through derivatives to their original)."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = session.execute(select(Statement.evidence_id, Witness).join(Witness).where(Statement.evidence_id.in_(ids)))
    return {evidence_id: witness for evidence_id, witness in rows.all()}  # noqa: C416 - Row pairs


def rotate_field_keys(session: Session, cipher: FieldCipher) -> tuple[int, int]:
    """Re-encrypt every protected identity under the first configured key. All or nothing: one field that
    cannot be decrypted aborts the whole rotation (the caller's transaction rolls back)."""
    changed = total = 0
    for witness in session.scalars(select(Witness).order_by(Witness.case_id, Witness.number)):
        total += 1
        identity = cipher.decrypt(witness.identity_ciphertext, context(witness.id))
        if cipher.key_of(witness.identity_ciphertext) != cipher.current:
            changed += 1
        witness.identity_ciphertext = cipher.encrypt(identity, context(witness.id))
    session.flush()
    return changed, total


STATEMENT_TEXT_CHARS = 200_000


def typed_statement(store: BlobStore, text: Any, witness_id: Any) -> tuple[BlobWriter, str]:
    """A statement typed in instead of uploaded: its text becomes a UTF-8 text file (the evidence, hashed like any
    upload), named for the day it was typed. Only as a witness's statement: a typed note of unknown origin is not
    evidence of anything."""
    if not witness_id:
        raise ValidationFailed(_("Choose the witness whose statement this is."), field="witness_id")
    body = clean_text(text, "statement_text", max_length=STATEMENT_TEXT_CHARS).strip()
    if not body:
        raise ValidationFailed(_("Type the statement, or choose a file."), field="statement_text")
    writer = store.writer()
    writer.write(body.encode("utf-8") + b"\n")  # clean_text kept tabs and line feeds only
    return writer, f"statement-{utcnow():%Y%m%d-%H%M%S}.txt"


def receive_upload(
    session: Session,
    store: BlobStore,
    case: Case,
    actor: User,
    writer: BlobWriter,
    *,
    filename: str | None,
    data: Mapping[str, Any],
    on_duplicate: OnDuplicate = OnDuplicate.ASK,
    **options: Any,
) -> tuple[EvidenceItem, bool]:
    """One uploaded file, from the upload page or the API: (the item, whether it is new). A file already in the case
    is recorded as a new acquisition of the existing item when the uploader chose so (False), refused when they did
    not choose (DuplicateFile), or kept as a copy."""
    if on_duplicate is OnDuplicate.ACQUISITION:
        existing = record_acquisition(session, case, actor, writer, filename=filename, data=data)
        if existing is not None:
            return existing, False
    item = ingest_evidence(
        session, store, case, actor, writer, filename=filename, data=data, on_duplicate=on_duplicate, **options
    )
    return item, True


def ingest_evidence(
    session: Session,
    store: BlobStore,
    case: Case,
    actor: User,
    writer: BlobWriter,
    *,
    filename: str | None,
    data: Mapping[str, Any],
    witness_id: Any = None,
    **options: Any,
) -> EvidenceItem:
    """Ingest a file; with a witness it becomes one of their statements (a testimony with interview details).
    Everything is validated before the file is stored."""

    if not witness_id:
        return ingest(session, store, case, actor, writer, filename=filename, data=data, **options)
    witness = witness_in_case(session, case.id, witness_id)
    interview = validate_statement(data)
    item = ingest(session, store, case, actor, writer, filename=filename, data={**data, "kind": "testimony"}, **options)
    attach_statement(session, item, witness, actor, interview)
    return item
