"""Independent verification of the custody record: the hash chain, the head, the signed checkpoints,
and (fixity) every referenced blob re-hashed against the SHA-256 recorded at ingest.

Each problem names what a reviewer needs to find it: the entry's seq, the item's ERN, expected vs found.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import models as _every_model  # noqa: F401 - usable without the app: map every model
from casefile.custody.chain import ChainVerifier
from casefile.custody.ledger import head, iter_entry_fields
from casefile.custody.merkle import MerkleAccumulator, hash_to_hex
from casefile.custody.models import Checkpoint
from casefile.custody.signing import SignedTreeHead, verify_tree_head
from casefile.evidence.models import EvidenceItem
from casefile.storage import BlobNotFound, BlobStore, StorageError


@dataclass(frozen=True)
class Problem:
    kind: str
    message: str
    seq: int | None = None
    ern: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FixityItem(NamedTuple):
    """What verification needs of an evidence item: plain rows from one narrow query, not ORM objects."""

    id: uuid.UUID
    ern: str
    sha256: str
    case_id: uuid.UUID


@dataclass
class FixityResult:
    item_id: uuid.UUID
    case_id: uuid.UUID
    ern: str
    sha256: str
    ok: bool
    found: str | None


@dataclass
class VerifyReport:
    checked: int = 0
    items_checked: int = 0
    checkpoints_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    fixity: list[FixityResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "items_checked": self.items_checked,
            "checkpoints_checked": self.checkpoints_checked,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify_ledger(
    session: Session,
    store: BlobStore | None,
    public_key_pem: bytes,
    *,
    case_ids: Collection[uuid.UUID] | None = None,
    progress: Callable[[int], None] | None = None,
    file_progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Walk the whole chain (always the whole chain: a partial walk proves nothing), check the head and
    every checkpoint; with a store, re-hash every blob of the given cases (None: of every case) for fixity.
    Only reads: the caller records fixity results in the ledger if it wants to."""
    report = VerifyReport()
    query = select(*FIXITY_COLUMNS)
    items = {str(item.id): item for item in map(FixityItem._make, session.execute(query))}
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id)))
    pending = list(checkpoints)
    chain = ChainVerifier()
    tree = MerkleAccumulator()
    while pending and pending[0].tree_size == 0:  # a checkpoint of the empty ledger (fresh instance)
        _check_checkpoint(pending.pop(0), hash_to_hex(tree.root()), public_key_pem, report)
    for fields in iter_entry_fields(session):
        for problem in chain.feed(fields):
            report.problems.append(
                Problem(problem.kind, problem.message, problem.seq, None, problem.expected, problem.found)
            )
        evidence_id = fields["evidence_id"]
        if evidence_id and fields["sha256"]:
            item = items.get(evidence_id)
            # Only items of the cases being verified are named: others belong to cases the caller may not see.
            if item is not None and (case_ids is None or item.case_id in case_ids) and item.sha256 != fields["sha256"]:
                report.problems.append(
                    Problem(
                        "item_hash_changed",
                        f"entry {fields['seq']}: {item.ern} was recorded with SHA-256 {fields['sha256']} "
                        f"but the evidence record now says {item.sha256}",
                        fields["seq"],
                        item.ern,
                        fields["sha256"],
                        item.sha256,
                    )
                )
        tree.append(_leaf(fields["entry_hash"]))
        while pending and pending[0].tree_size == tree.size:
            _check_checkpoint(pending.pop(0), hash_to_hex(tree.root()), public_key_pem, report)
        report.checked += 1
        if progress and report.checked % 10_000 == 0:
            progress(report.checked)
    result = chain.finish()
    ledger_head = head(session)
    if ledger_head is not None and (
        ledger_head.seq != (result.last_seq or 0) or ledger_head.entry_hash != result.head_hash
    ):
        report.problems.append(
            Problem(
                "head_mismatch",
                f"the ledger head names entry {ledger_head.seq} ({ledger_head.entry_hash}) but the chain ends at entry "
                f"{result.last_seq or 0} ({result.head_hash}): entries after {result.last_seq or 0} are missing",
                result.last_seq,
                None,
                ledger_head.entry_hash,
                result.head_hash,
            )
        )
    for checkpoint in pending:
        report.problems.append(
            Problem(
                "checkpoint_beyond_ledger",
                f"checkpoint {checkpoint.id} signed a tree of {checkpoint.tree_size} entries but the ledger holds "
                f"{tree.size}: entries were removed",
                checkpoint.tree_size,
                None,
                str(checkpoint.tree_size),
                str(tree.size),
            )
        )
    if store is not None:
        scope = [i for i in sorted(items.values(), key=lambda i: i.ern) if case_ids is None or i.case_id in case_ids]
        check_fixity(store, scope, report, file_progress)
    return report


FIXITY_COLUMNS = (EvidenceItem.id, EvidenceItem.ern, EvidenceItem.sha256, EvidenceItem.case_id)


def check_fixity(
    store: BlobStore,
    items: Sequence[FixityItem],
    report: VerifyReport,
    file_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Re-hash each item's blob into `report` (a FixityResult each, a problem for each missing or unreadable
    file). Rows of FIXITY_COLUMNS, made with FixityItem._make."""
    for done, item in enumerate(items):
        if file_progress:  # (files done, files to do) before each file and once at the end
            file_progress(done, len(items))
        report.fixity.append(_fixity(store, item, report))
        report.items_checked += 1
    if file_progress:
        file_progress(len(items), len(items))


def _leaf(entry_hash: object) -> bytes:
    """The Merkle leaf of an entry; a malformed stored hash (already reported by the chain check) still
    occupies its position so later checkpoints are compared at the right size."""
    if not isinstance(entry_hash, str):
        return b""
    try:
        raw = bytes.fromhex(entry_hash)
    except ValueError:
        return b""
    return raw if len(raw) == 32 else b""


def _check_checkpoint(checkpoint: Checkpoint, root: str, public_key_pem: bytes, report: VerifyReport) -> None:
    report.checkpoints_checked += 1
    sth = SignedTreeHead(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        timestamp=checkpoint.timestamp,
        signature=checkpoint.signature,
        key_id=checkpoint.key_id,
    )
    if not verify_tree_head(public_key_pem, sth):
        report.problems.append(
            Problem(
                "checkpoint_signature",
                f"checkpoint {checkpoint.id} (tree size {checkpoint.tree_size}): the signature does not verify with "
                "the instance key",
                checkpoint.tree_size,
            )
        )
    if checkpoint.root_hash != root:
        report.problems.append(
            Problem(
                "checkpoint_root",
                f"checkpoint {checkpoint.id} (tree size {checkpoint.tree_size}): Merkle root expected "
                f"{checkpoint.root_hash} found {root}",
                checkpoint.tree_size,
                None,
                checkpoint.root_hash,
                root,
            )
        )


def _fixity(store: BlobStore, item: FixityItem, report: VerifyReport) -> FixityResult:
    try:
        found: str | None = store.rehash(item.sha256)
    except BlobNotFound:
        found = None
        report.problems.append(
            Problem(
                "blob_missing",
                f"{item.ern}: the stored file is missing (expected SHA-256 {item.sha256})",
                None,
                item.ern,
                item.sha256,
                None,
            )
        )
    except (StorageError, ValueError) as error:
        found = None
        report.problems.append(
            Problem(
                "blob_unreadable",
                f"{item.ern}: the stored file could not be read ({error})",
                None,
                item.ern,
                item.sha256,
                None,
            )
        )
    else:
        if found != item.sha256:
            report.problems.append(
                Problem(
                    "fixity",
                    f"{item.ern}: SHA-256 expected {item.sha256} found {found}",
                    None,
                    item.ern,
                    item.sha256,
                    found,
                )
            )
    return FixityResult(item.id, item.case_id, item.ern, item.sha256, found == item.sha256, found)
