"""Independent verification of the custody record: the hash chain, the head, the signed checkpoints,
and (fixity) every referenced blob re-hashed against the SHA-256 recorded at ingest.

Each problem names what a reviewer needs to find it: the entry's seq, the item's ERN, expected vs found.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import models as _every_model  # noqa: F401 - usable without the app: map every model
from casefile.custody.actions import Action
from casefile.custody.chain import ChainVerifier, entry_hash
from casefile.custody.ledger import head, iter_entry_fields
from casefile.custody.merkle import MerkleAccumulator, hash_to_hex
from casefile.custody.models import Checkpoint
from casefile.custody.signing import SignedTreeHead, verify_tree_head
from casefile.custody.timestamps import check_tokens
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
    published_checked: int = 0  # tree heads published outside the instance (casefile.custody.witness)
    timestamps_checked: int = 0  # RFC 3161 tokens (casefile.custody.timestamps)
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
            "published_checked": self.published_checked,
            "timestamps_checked": self.timestamps_checked,
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
    tsa_roots: Sequence[x509.Certificate] | None = None,
) -> VerifyReport:
    """Walk the whole chain (always the whole chain: a partial walk proves nothing), check the head and
    every checkpoint; with a store, re-hash every blob of the given cases (None: of every case) for fixity.
    Only reads: the caller records fixity results in the ledger if it wants to. Timestamp tokens are checked against
    their checkpoints always, and their signatures against `tsa_roots` when given."""
    report = VerifyReport()
    query = select(*FIXITY_COLUMNS)
    items = {str(item.id): item for item in map(FixityItem._make, session.execute(query))}
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id)))
    pending = list(checkpoints)
    chain = ChainVerifier()
    tree = MerkleAccumulator()
    while pending and pending[0].tree_size == 0:  # a checkpoint of the empty ledger (fresh instance)
        _check_checkpoint(pending.pop(0), hash_to_hex(tree.root()), public_key_pem, report)
    in_scope = None if case_ids is None else {str(case_id) for case_id in case_ids}
    ingested: set[str] = set()  # items whose `ingested` entry was seen
    suspects: dict[int, dict[str, Any]] = {}  # entries whose hash does not match, to recognise a reorder
    for fields in iter_entry_fields(session):
        for problem in chain.feed(fields):
            report.problems.append(
                Problem(problem.kind, problem.message, problem.seq, None, problem.expected, problem.found)
            )
            if problem.kind == "hash_mismatch" and problem.seq is not None and len(suspects) < MAX_SUSPECTS:
                suspects[problem.seq] = fields
        evidence_id = fields["evidence_id"]
        # Only items of the cases being verified are named: others belong to cases the caller may not see.
        visible = in_scope is None or fields["case_id"] in in_scope
        if evidence_id and fields["action"] == INGESTED:
            ingested.add(evidence_id)
            if visible:
                _check_ingested(fields, items.get(evidence_id), report)
        if evidence_id and fields["sha256"]:
            item = items.get(evidence_id)
            if item is not None and visible and item.sha256 != fields["sha256"]:
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
        tree.append(leaf_data(fields["entry_hash"]))
        while pending and pending[0].tree_size == tree.size:
            _check_checkpoint(pending.pop(0), hash_to_hex(tree.root()), public_key_pem, report)
        report.checked += 1
        if progress and report.checked % 10_000 == 0:
            progress(report.checked)
    report.problems = name_reorders(report.problems, suspects)
    for item in sorted(items.values(), key=lambda i: i.ern):
        if str(item.id) not in ingested and (case_ids is None or item.case_id in case_ids):
            report.problems.append(
                Problem(
                    "item_unrecorded",
                    f"{item.ern}: the evidence record has no `ingested` entry in the ledger (SHA-256 {item.sha256})",
                    None,
                    item.ern,
                    None,
                    item.sha256,
                )
            )
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
    report.timestamps_checked, token_problems = check_tokens(session, tsa_roots)
    report.problems.extend(Problem(p.kind, p.message) for p in token_problems)
    if store is not None:
        scope = [i for i in sorted(items.values(), key=lambda i: i.ern) if case_ids is None or i.case_id in case_ids]
        check_fixity(store, scope, report, file_progress)
    return report


FIXITY_COLUMNS = (EvidenceItem.id, EvidenceItem.ern, EvidenceItem.sha256, EvidenceItem.case_id)
INGESTED = str(Action.INGESTED)
MAX_SUSPECTS = 10_000
# How far from its place a moved entry is looked for: an insider swapping rows moves them a little; a wholesale
# shuffle is still reported, entry by entry, as hash and link problems.
REORDER_WINDOW = 16


def _check_ingested(fields: dict[str, Any], item: FixityItem | None, report: VerifyReport) -> None:
    """The record of an `ingested` entry's item must exist and name the same ERN (its SHA-256 is compared for every
    entry): an evidence row deleted or renamed behind the application's back is named here."""
    ern = (fields["details"] or {}).get("ern") if isinstance(fields["details"], dict) else None
    if item is None:
        report.problems.append(
            Problem(
                "item_missing",
                f"entry {fields['seq']}: {ern or fields['evidence_id']} was ingested with SHA-256 {fields['sha256']} "
                "but its evidence record is gone",
                fields["seq"],
                ern,
                fields["sha256"],
                None,
            )
        )
    elif ern != item.ern:
        report.problems.append(
            Problem(
                "item_ern_changed",
                f"entry {fields['seq']}: the item was ingested as {ern} but its evidence record now says {item.ern}",
                fields["seq"],
                item.ern,
                ern,
                item.ern,
            )
        )


def name_reorders(problems: list[Problem], suspects: dict[int, dict[str, Any]]) -> list[Problem]:
    """Entries whose stored hash verifies at another seq, together filling exactly the places they left, were
    reordered (their content is intact): one `reordered` problem per cycle replaces the hash and link problems that
    the move causes at those places and at the entry after them."""
    moved: dict[int, int] = {}  # where an entry is stored -> the seq it was sealed with
    for seq, fields in suspects.items():
        for original in range(max(1, seq - REORDER_WINDOW), seq + REORDER_WINDOW + 1):
            if original != seq and entry_hash({**fields, "seq": original}) == fields["entry_hash"]:
                moved[seq] = original
                break
    named: list[Problem] = []
    explained: set[int] = set()
    for start in sorted(moved):
        cycle, position = [], start
        while position in moved and position not in cycle:
            cycle.append(position)
            position = moved[position]
        if position != start or start in explained:
            continue  # not a closed cycle: these entries were changed, not just moved
        explained.update(cycle)
        explained.add(max(cycle) + 1)  # the entry after the moved ones links to what used to be there
        places = ", ".join(f"entry {moved[p]} is stored as {p}" for p in sorted(cycle))
        named.append(
            Problem(
                "reordered",
                f"entries {min(cycle)}–{max(cycle)} were reordered: {places} (their content is intact)",
                min(cycle),
                None,
                ",".join(str(moved[p]) for p in sorted(cycle)),
                ",".join(str(p) for p in sorted(cycle)),
            )
        )
    if not named:
        return problems
    kept = [p for p in problems if not (p.kind in ("hash_mismatch", "broken_link") and p.seq in explained)]
    return named + kept


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


def leaf_data(entry_hash: object) -> bytes:
    """The Merkle leaf of an entry; a malformed stored hash (already reported by the chain check) still
    occupies its position so later checkpoints are compared at the right size."""
    if not isinstance(entry_hash, str):
        return b""
    try:
        raw = bytes.fromhex(entry_hash)
    except ValueError:
        return b""
    return raw if len(raw) == 32 else b""


def tree_head_of(checkpoint: Checkpoint) -> SignedTreeHead:
    return SignedTreeHead(
        tree_size=checkpoint.tree_size,
        root_hash=checkpoint.root_hash,
        timestamp=checkpoint.timestamp,
        signature=checkpoint.signature,
        key_id=checkpoint.key_id,
    )


def _check_checkpoint(checkpoint: Checkpoint, root: str, public_key_pem: bytes, report: VerifyReport) -> None:
    report.checkpoints_checked += 1
    if not verify_tree_head(public_key_pem, tree_head_of(checkpoint)):
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
