"""Custody operations that combine the ledger with keys and storage: checkpoints, verification runs,
manual hand-over entries."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from cryptography import x509
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casefile.custody.actions import Action
from casefile.custody.keys import InstanceKey
from casefile.custody.ledger import (
    Actor,
    Draft,
    lock_head,
    record_custody_many,
    record_item_event,
)
from casefile.custody.merkle import hash_to_hex
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.signing import sign_tree_head
from casefile.custody.subtrees import StoredTree
from casefile.custody.verify import FixityResult, VerifyReport, verify_ledger
from casefile.db import utcnow
from casefile.errors import CasefileError, ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.parsing import clean_text
from casefile.storage import BlobStore


def create_checkpoint(session: Session, key: InstanceKey, reason: str) -> Checkpoint:
    """Sign the Merkle tree head over every entry so far. Holds the ledger head lock, so the signed size and root
    describe one exact state of the ledger; the root comes from the stored subtree roots (a few reads, where a walk of
    ten million entries would hold the lock, and stop every write, for minutes). A tree that disagrees with the newest
    signed head is not signed: stored nodes changed beneath it would otherwise be vouched for anew."""
    head = lock_head(session)
    tree = StoredTree(session, head.seq)
    previous = session.scalar(
        select(Checkpoint)
        .where(Checkpoint.tree_size <= head.seq)
        .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
        .limit(1)
    )
    try:
        root = hash_to_hex(tree.root())
        if previous is not None and hash_to_hex(tree.root(previous.tree_size)) != previous.root_hash:
            raise CasefileError(
                f"The stored Merkle tree disagrees with checkpoint {previous.id} (tree size {previous.tree_size}): "
                "nothing was signed. Run `custody verify` to find what changed."
            )
    except LookupError as missing:
        raise CasefileError(f"The stored Merkle tree is incomplete ({missing}): nothing was signed.") from missing
    sth = sign_tree_head(key.private, head.seq, root, utcnow())
    checkpoint = Checkpoint(
        tree_size=sth.tree_size,
        root_hash=sth.root_hash,
        timestamp=sth.timestamp,
        signature=sth.signature,
        key_id=sth.key_id,
        reason=reason[:100],
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def run_verification(
    session: Session,
    read_session: Session,
    store: BlobStore,
    key: InstanceKey,
    actor: Actor,
    *,
    case_ids: Collection[uuid.UUID] | None = None,
    fixity: bool = True,
    progress: Callable[[int], None] | None = None,
    file_progress: Callable[[int, int], None] | None = None,
    tsa_roots: Sequence[x509.Certificate] | None = None,
) -> VerifyReport:
    """Verify (reading through `read_session`) and record each item's fixity result in the ledger."""
    report = verify_ledger(
        read_session,
        store if fixity else None,
        key.public_pem,
        case_ids=case_ids,
        progress=progress,
        file_progress=file_progress,
        tsa_roots=tsa_roots,
    )
    record_fixity(session, actor, report.fixity)
    return report


def record_fixity(
    session: Session, actor: Actor, results: Iterable[FixityResult], details: Mapping[str, Any] | None = None
) -> None:
    """A fixity entry per result (verified, or failed with the hash found), each with `details` added."""
    record_custody_many(
        session,
        [
            Draft(
                actor,
                Action.FIXITY_VERIFIED if result.ok else Action.FIXITY_FAILED,
                result.case_id,
                result.item_id,
                result.sha256,
                {**(details or {}), **({"found": result.found} if not result.ok else {})},
            )
            for result in results
        ],
    )


TRANSFER_FIELDS = ("from_party", "to_party", "purpose", "location", "note")


def record_transfer(session: Session, item: EvidenceItem, actor: Actor, data: Mapping[str, Any]) -> CustodyEntry:
    """A physical or out-of-band hand-over of the item: who gave it, who received it, and why."""
    details = {name: clean_text(data.get(name), name, max_length=500) for name in TRANSFER_FIELDS}
    for required in ("from_party", "to_party", "purpose"):
        if not details[required]:
            raise ValidationFailed("From, to and purpose are required for a hand-over.", field=required)
    return record_item_event(
        session,
        item,
        actor,
        Action.TRANSFERRED,
        details,
    )


def last_fixity(session: Session, item_ids: list[uuid.UUID]) -> dict[uuid.UUID, CustodyEntry]:
    """The latest fixity entry of each item (the verification badge), in one query."""
    if not item_ids:
        return {}
    latest = (
        select(CustodyEntry.evidence_id, func.max(CustodyEntry.seq).label("seq"))
        .where(
            CustodyEntry.evidence_id.in_(item_ids),
            CustodyEntry.action.in_([Action.FIXITY_VERIFIED.value, Action.FIXITY_FAILED.value]),
        )
        .group_by(CustodyEntry.evidence_id)
        .subquery()
    )
    rows = session.scalars(select(CustodyEntry).join(latest, CustodyEntry.seq == latest.c.seq))
    return {entry.evidence_id: entry for entry in rows if entry.evidence_id}
