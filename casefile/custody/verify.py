"""Independent verification of the custody record: the hash chain, the head, the signed checkpoints,
and (fixity) every referenced blob re-hashed against the SHA-256 recorded at ingest.

Each problem names what a reviewer needs to find it: the entry's seq, the item's ERN, expected vs found.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from cryptography import x509
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from casefile import models as _every_model  # noqa: F401 - usable without the app: map every model
from casefile.custody.actions import Action
from casefile.custody.chain import GENESIS_HASH, ChainVerifier, entry_hash
from casefile.custody.ledger import body_reader, entry_rows, fields_reader, head, iter_entry_fields
from casefile.custody.merkle import EMPTY_ROOT, MerkleAccumulator, hash_from_hex, hash_to_hex, verify_inclusion
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.signing import SignedTreeHead, verify_tree_head
from casefile.custody.subtrees import BLOCK, BLOCK_LEVEL, MerkleNode, StoredTree, leaf_data
from casefile.custody.timestamps import check_tokens
from casefile.db import Database
from casefile.evidence.models import EvidenceItem
from casefile.storage import BlobNotFound, BlobStore, StorageError
from casefile.workers import worker_context


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


# A whole-ledger walk of at least two slices is split over processes, one slice each at a time (the hashing is Python
# and holds the GIL: threads would not help). Slices are about this long, as many as a multiple of the processes so each
# does the same work; each starts at a whole block of leaves, so the Merkle state there is a few stored subtree roots,
# which the walk then checks against the entries like every other stored root.
SLICE_ENTRIES = 1 << 18


def verify_ledger(
    session: Session,
    store: BlobStore | None,
    public_key_pem: bytes,
    *,
    case_ids: Collection[uuid.UUID] | None = None,
    progress: Callable[[int], None] | None = None,
    file_progress: Callable[[int, int], None] | None = None,
    tsa_roots: Sequence[x509.Certificate] | None = None,
    workers: int | None = None,
    slice_entries: int = SLICE_ENTRIES,
) -> VerifyReport:
    """Without `case_ids`, walk the whole chain (in slices over `workers` processes, default one per CPU, when it is
    two slices long or more), check the head, every checkpoint and the stored subtree roots; with
    them, check those cases' entries against the newest signed checkpoint and walk only what follows it
    (`_verify_cases`). With a store, re-hash every blob of the given cases (None: of every case) for fixity.
    Only reads: the caller records fixity results in the ledger if it wants to. Timestamp tokens are checked against
    their checkpoints always, and their signatures against `tsa_roots` when given."""
    if case_ids is not None:
        return _verify_cases(session, store, public_key_pem, case_ids, progress, file_progress, tsa_roots)
    report = VerifyReport()
    checkpoints = list(session.scalars(select(Checkpoint).order_by(Checkpoint.tree_size, Checkpoint.id)))
    while checkpoints and checkpoints[0].tree_size == 0:  # a checkpoint of the empty ledger (fresh instance)
        _check_checkpoint(checkpoints.pop(0), hash_to_hex(EMPTY_ROOT), public_key_pem, report)
    ledger_head = head(session)
    size = ledger_head.seq if ledger_head is not None else 0
    walk = None
    if (workers or _cpus()) > 1 and size >= 2 * slice_entries and not _in_memory(session):
        walk = _walk_in_processes(
            session, public_key_pem, checkpoints, size, workers or _cpus(), slice_entries, progress
        )
    if walk is None:  # one process, or the slices found a problem: walk in order, which names it exactly
        walk = _walk(session, public_key_pem, checkpoints, ChainVerifier(), MerkleAccumulator(), progress=progress)
    report.checked += walk.report.checked
    report.checkpoints_checked += walk.report.checkpoints_checked
    report.problems += name_reorders(walk.report.problems, walk.suspects)
    _check_unrecorded(session, None, report)
    _check_head(session, walk.last_seq or 0, walk.head_hash, report)
    for checkpoint in checkpoints:
        if checkpoint.tree_size > walk.size:
            _checkpoint_beyond(checkpoint, walk.size, report)
    _check_stored_subtrees(session, walk.subtrees, report)
    _finish(session, store, None, report, file_progress, tsa_roots)
    return report


@dataclass
class _Walk:
    """What a walk of entries after..up_to found: its problems, checked entries and checkpoints (in `report`), the
    subtree roots it computed, where the chain and the tree ended."""

    report: VerifyReport = field(default_factory=VerifyReport)
    suspects: dict[int, dict[str, Any]] = field(default_factory=dict)  # entries whose hash does not match
    subtrees: dict[tuple[int, int], bytes] = field(default_factory=dict)
    last_seq: int | None = None
    head_hash: str = GENESIS_HASH
    size: int = 0


def _walk(
    session: Session,
    public_key_pem: bytes,
    checkpoints: list[Checkpoint],
    chain: ChainVerifier,
    tree: MerkleAccumulator,
    *,
    after: int = 0,
    up_to: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> _Walk:
    """The chain, each entry's item, the Merkle tree and the checkpoints (in tree-size order) it reaches, from the
    state `chain` and `tree` hold. Memory does not grow with the ledger: each entry's item is read with it.

    An entry is hashed as stored (`body_reader`): one that hashes to its recorded hash, follows the last and names its
    item as recorded is intact and costs no more. Any other is put in its hashed form (`fields_reader`) and checked
    field by field, which names what is wrong (or finds it intact: stored before details were written canonically)."""
    walk = _Walk()
    report = walk.report
    pending = [c for c in checkpoints if c.tree_size > tree.size]
    body_of, fields_of = body_reader(session), fields_reader(session)
    check, accept, append, size = chain.check, chain.accept, tree.append_noting, tree.size
    sha256 = hashlib.sha256
    with _no_cycle_collection():
        for rows in _entries_with_items(session, after=after, up_to=up_to):
            for row in rows:
                # A row is ENTRY_FIELDS (seq 0, action 3, evidence_id 5, sha256 6, prev_hash 8, entry_hash 9) and then
                # the item's ern 10 and sha256 11 (_entries_with_items); read by position, as the hot path can afford.
                seq, stored, evidence_id = row[0], row[9], row[5]
                body = body_of(row)
                if body is not None and sha256(body).hexdigest() == stored and accept(seq, row[8], stored):
                    # Intact and in place. Its item is looked at closely only if an entry about it could be wrong
                    # about it: an `ingested` one, or one whose item is gone or has another SHA-256 now.
                    if evidence_id is not None and (row[3] == INGESTED or row[10] is None or row[6] != row[11]):
                        _check_item_fields(fields_of(row), _recorded(row), None, report)
                else:
                    fields = fields_of(row)
                    for problem in check(fields) or ():
                        report.problems.append(
                            Problem(problem.kind, problem.message, problem.seq, None, problem.expected, problem.found)
                        )
                        if (
                            problem.kind == "hash_mismatch"
                            and problem.seq is not None
                            and len(walk.suspects) < MAX_SUSPECTS
                        ):
                            walk.suspects[problem.seq] = fields
                    _check_item_fields(fields, _recorded(row), None, report)
                for level, index, root in append(leaf_data(stored), BLOCK_LEVEL):
                    walk.subtrees[(level, index)] = root
                size += 1
                while pending and pending[0].tree_size == size:
                    _check_checkpoint(pending.pop(0), hash_to_hex(tree.root()), public_key_pem, report)
            report.checked += len(rows)
            if progress:
                progress(report.checked)
    result = chain.finish()
    walk.last_seq, walk.head_hash, walk.size = result.last_seq, result.head_hash, tree.size
    return walk


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector for a walk: its rows, dicts and hashes make no reference cycles (they are freed
    as each batch is dropped), and the collector's passes over a batch's 100,000 young objects cost more than hashing
    them (bench.verify, 1M entries: 33 µs an entry with it, 17 without). Walks run in jobs, the CLI and slice
    processes, where nothing else needs the collector for those seconds; it is back on when the walk ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _walk_in_processes(
    session: Session,
    public_key_pem: bytes,
    checkpoints: list[Checkpoint],
    size: int,
    workers: int,
    slice_entries: int,
    progress: Callable[[int], None] | None,
) -> _Walk | None:
    """The walk of entries 1..size in slices, `workers` processes at a time; None if any slice found anything amiss
    (then the walk in order says exactly what). Each slice starts from the stored hash of the entry before it and the
    stored subtree roots of the leaves before it; both are checked in their turn (by the slice before, and against
    the entries' own roots in _check_stored_subtrees), so the slices together prove what one walk would."""
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    count = workers * -(-size // (workers * slice_entries))
    step = -(-size // count // BLOCK) * BLOCK  # size / count, rounded up to a whole block
    bounds = [(lo, min(lo + step, size)) for lo in range(0, size, step)]
    parts: dict[int, _Walk] = {}
    pool = ProcessPoolExecutor(min(workers, len(bounds)), mp_context=worker_context())
    try:
        futures = {
            pool.submit(
                _walk_slice, url, public_key_pem, lo, hi, [c.id for c in checkpoints if lo < c.tree_size <= hi]
            ): lo
            for lo, hi in bounds
        }
        for future in as_completed(futures):
            parts[futures[future]] = part = future.result()
            if part.report.problems:
                return None
            if progress:
                progress(sum(p.report.checked for p in parts.values()))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # a failure or a cancelled job: the slices not started never are
    walk = _Walk()
    for lo, hi in bounds:
        part = parts[lo]
        if part.last_seq != hi or part.size != hi:  # entries missing at its end (the walk in order names them)
            return None
        walk.report.checked += part.report.checked
        walk.report.checkpoints_checked += part.report.checkpoints_checked
        walk.subtrees |= part.subtrees
    walk.last_seq, walk.head_hash, walk.size = size, parts[bounds[-1][0]].head_hash, size
    return walk


def _walk_slice(url: str, public_key_pem: bytes, lo: int, hi: int, checkpoint_ids: list[int]) -> _Walk:
    """One slice of _walk_in_processes, in a process of its own (its own connection and snapshot: entries up to `hi`
    were committed before the walk began, and the ledger is append-only)."""
    database = Database(url)
    try:
        with database.read_sessionmaker() as session:
            checkpoints = list(
                session.scalars(
                    select(Checkpoint)
                    .where(Checkpoint.id.in_(checkpoint_ids))
                    .order_by(Checkpoint.tree_size, Checkpoint.id)
                )
            )
            start = session.scalar(select(CustodyEntry.entry_hash).where(CustodyEntry.seq == lo)) if lo else None
            try:
                tree = MerkleAccumulator.from_state(lo, StoredTree(session, lo).stack())
            except (LookupError, ValueError) as missing:
                walk = _Walk()
                walk.report.problems.append(Problem("stored_subtrees_mismatch", str(missing), lo))
                return walk
            chain = ChainVerifier(start or GENESIS_HASH, lo + 1)
            return _walk(session, public_key_pem, checkpoints, chain, tree, after=lo, up_to=hi)
    finally:
        database.dispose()


class Recorded(NamedTuple):
    """What an entry is compared with: its item's evidence record as it is now."""

    ern: str
    sha256: str


def _entries_with_items(
    session: Session,
    *,
    after: int = 0,
    up_to: int | None = None,
    case_ids: Collection[uuid.UUID] | None = None,
    batch: int = 10_000,
) -> Iterator[Sequence[Sequence[Any]]]:
    """Rows of `entry_rows` in batches, each followed by the ERN and SHA-256 of the item the entry names (`_recorded`),
    joined in the query that reads them: memory stays flat, and no query per item or per batch."""
    items = EvidenceItem.__table__.c
    return entry_rows(
        session,
        after=after,
        up_to=up_to,
        case_ids=case_ids,
        batch=batch,
        extra=(items.ern, items.sha256),
        outerjoin=(EvidenceItem, EvidenceItem.id == CustodyEntry.evidence_id),
    )


def _recorded(row: Sequence[Any]) -> Recorded | None:
    """The item of a row of `_entries_with_items`; None if it names none, or one that is not there."""
    return Recorded(row[10], row[11]) if row[10] is not None else None


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _in_memory(session: Session) -> bool:
    """An in-memory SQLite database, which another process cannot open."""
    url = session.get_bind().engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _verify_cases(
    session: Session,
    store: BlobStore | None,
    public_key_pem: bytes,
    case_ids: Collection[uuid.UUID],
    progress: Callable[[int], None] | None,
    file_progress: Callable[[int, int], None] | None,
    tsa_roots: Sequence[x509.Certificate] | None,
) -> VerifyReport:
    """Some cases' record, reading their own entries and the ledger after the newest checkpoint only, not the whole
    ledger: each of their entries up to that signed checkpoint must hash to itself and be, by an RFC 6962 inclusion
    proof from the stored subtree roots, the entry the checkpoint signed at its seq (the signature fixes every entry's
    place and content, so the chain links between them need no walk); after it, the chain is walked entry by entry to
    the head. Entries of other cases are checked only in that walk: `custody verify` without a case checks them all."""
    report = VerifyReport()
    ledger_head = head(session)
    size = ledger_head.seq if ledger_head is not None else 0
    in_scope = {str(case_id) for case_id in case_ids}
    fields_of = fields_reader(session)
    for checkpoint in session.scalars(select(Checkpoint).where(Checkpoint.tree_size > size)):
        _checkpoint_beyond(checkpoint, size, report)
    anchor = session.scalar(
        select(Checkpoint)
        .where(Checkpoint.tree_size <= size, Checkpoint.tree_size > 0)
        .order_by(Checkpoint.tree_size.desc(), Checkpoint.id.desc())
        .limit(1)
    )
    signed, start_hash = 0, GENESIS_HASH
    if anchor is not None:
        signed = anchor.tree_size
        tree = StoredTree(session, signed)
        try:
            root = hash_to_hex(tree.root())
        except LookupError as missing:
            root = str(missing)
        _check_checkpoint(anchor, root, public_key_pem, report)
        for rows in _entries_with_items(session, up_to=signed, case_ids=case_ids, batch=1000):
            tree.prefetch_proofs(row[0] - 1 for row in rows)
            for row in rows:
                fields = fields_of(row)
                _check_signed(fields, tree, anchor, report)
                _check_item_fields(fields, _recorded(row), in_scope, report)
                report.checked += 1
            if progress:
                progress(report.checked)
        # The chain after the checkpoint continues from the last entry it signed, itself proven in place.
        for fields in iter_entry_fields(session, after=signed - 1, up_to=signed):
            _check_signed(fields, tree, anchor, report)
            start_hash = fields["entry_hash"]
    chain = ChainVerifier(start_hash, signed + 1)
    for rows in _entries_with_items(session, after=signed):
        for row in rows:
            fields = fields_of(row)
            for problem in chain.feed(fields):
                report.problems.append(
                    Problem(problem.kind, problem.message, problem.seq, None, problem.expected, problem.found)
                )
            _check_item_fields(fields, _recorded(row), in_scope, report)
        report.checked += len(rows)
    _check_unrecorded(session, case_ids, report)
    result = chain.finish()
    _check_head(session, result.last_seq or signed, result.head_hash, report)
    _finish(session, store, case_ids, report, file_progress, tsa_roots)
    return report


def _checkpoint_beyond(checkpoint: Checkpoint, size: int, report: VerifyReport) -> None:
    report.problems.append(
        Problem(
            "checkpoint_beyond_ledger",
            f"checkpoint {checkpoint.id} signed a tree of {checkpoint.tree_size} entries but the ledger holds "
            f"{size}: entries were removed",
            checkpoint.tree_size,
            None,
            str(checkpoint.tree_size),
            str(size),
        )
    )


def _check_signed(fields: dict[str, Any], tree: StoredTree, anchor: Checkpoint, report: VerifyReport) -> None:
    seq = fields["seq"]
    recomputed = entry_hash(fields)
    if recomputed != fields["entry_hash"]:
        report.problems.append(
            Problem(
                "hash_mismatch",
                f"entry {seq}: its content hashes to {recomputed}, not to its recorded hash {fields['entry_hash']}",
                seq,
                None,
                fields["entry_hash"],
                recomputed,
            )
        )
    try:
        proof = tree.inclusion_proof(seq - 1)
        included = verify_inclusion(
            leaf_data(recomputed), seq - 1, anchor.tree_size, proof, hash_from_hex(anchor.root_hash)
        )
    except (LookupError, ValueError):
        included = False
    if not included:
        # Its proof's lowest siblings come from the entries of its block of 256: one changed there fails them all.
        first, last = (seq - 1) // BLOCK * BLOCK + 1, min(((seq - 1) // BLOCK + 1) * BLOCK, anchor.tree_size)
        report.problems.append(
            Problem(
                "not_in_checkpoint",
                f"entry {seq}: it cannot be proven to be the entry checkpoint {anchor.id} signed at this place (tree "
                f"size {anchor.tree_size}): it, another entry among {first}–{last}, or the stored Merkle roots "
                "changed after signing",
                seq,
                None,
                anchor.root_hash,
                recomputed,
            )
        )


def _check_item_fields(
    fields: dict[str, Any], item: Recorded | None, in_scope: set[str] | None, report: VerifyReport
) -> None:
    """An entry about an item (`item`: its evidence record, None if there is none): its `ingested` entry names the
    item as recorded, and every entry's SHA-256 is the item's. Only items of the cases being verified are named:
    others belong to cases the caller may not see."""
    if not fields["evidence_id"]:
        return
    visible = in_scope is None or fields["case_id"] in in_scope
    if fields["action"] == INGESTED and visible:
        _check_ingested(fields, item, report)
    if fields["sha256"] and item is not None and visible and item.sha256 != fields["sha256"]:
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


def _check_unrecorded(session: Session, case_ids: Collection[uuid.UUID] | None, report: VerifyReport) -> None:
    """Evidence records (of `case_ids`, or all) with no `ingested` entry in the ledger. Asked of the database in the
    walk's own snapshot, whose entries the walk has just re-hashed: a set of every item seen would grow with the
    ledger."""
    ingested = select(CustodyEntry.seq).where(
        CustodyEntry.evidence_id == EvidenceItem.id, CustodyEntry.action == INGESTED
    )
    query = select(EvidenceItem.ern, EvidenceItem.sha256).where(~ingested.exists()).order_by(EvidenceItem.ern)
    if case_ids is not None:
        query = query.where(EvidenceItem.case_id.in_(list(case_ids)))
    for ern, sha256 in session.execute(query):
        report.problems.append(
            Problem(
                "item_unrecorded",
                f"{ern}: the evidence record has no `ingested` entry in the ledger (SHA-256 {sha256})",
                None,
                ern,
                None,
                sha256,
            )
        )


def _check_head(session: Session, last_seq: int, last_hash: str, report: VerifyReport) -> None:
    ledger_head = head(session)
    if ledger_head is not None and (ledger_head.seq != last_seq or ledger_head.entry_hash != last_hash):
        report.problems.append(
            Problem(
                "head_mismatch",
                f"the ledger head names entry {ledger_head.seq} ({ledger_head.entry_hash}) but the chain ends at entry "
                f"{last_seq} ({last_hash}): entries after {last_seq} are missing",
                last_seq,
                None,
                ledger_head.entry_hash,
                last_hash,
            )
        )


def _finish(
    session: Session,
    store: BlobStore | None,
    case_ids: Collection[uuid.UUID] | None,
    report: VerifyReport,
    file_progress: Callable[[int, int], None] | None,
    tsa_roots: Sequence[x509.Certificate] | None,
) -> None:
    report.timestamps_checked, token_problems = check_tokens(session, tsa_roots)
    report.problems.extend(Problem(p.kind, p.message) for p in token_problems)
    if store is not None:
        query = select(*FIXITY_COLUMNS).order_by(EvidenceItem.ern)
        if case_ids is not None:
            query = query.where(EvidenceItem.case_id.in_(list(case_ids)))
        check_fixity(store, [FixityItem._make(row) for row in session.execute(query)], report, file_progress)


def _check_stored_subtrees(session: Session, expected: dict[tuple[int, int], bytes], report: VerifyReport) -> None:
    """Every stored subtree root (casefile.custody.subtrees), from which proofs are given, must be the one the
    entries give: a changed, missing or extra root is named (its proofs would not verify against a signed head)."""
    seen: set[tuple[int, int]] = set()
    last: tuple[int, int] = (-1, -1)
    while True:
        nodes = session.execute(
            select(MerkleNode.level, MerkleNode.idx, MerkleNode.hash)
            .where(tuple_(MerkleNode.level, MerkleNode.idx) > last)
            .order_by(MerkleNode.level, MerkleNode.idx)
            .limit(10_000)
        ).all()
        if not nodes:
            break
        for level, index, stored in nodes:
            seen.add((level, index))
            want = expected.get((level, index))
            if want != stored:
                _subtree_problem(report, level, index, want, stored)
        last = (nodes[-1].level, nodes[-1].idx)
    for level, index in sorted(expected.keys() - seen):
        _subtree_problem(report, level, index, expected[(level, index)], None)


def _subtree_problem(report: VerifyReport, level: int, index: int, want: bytes | None, stored: bytes | None) -> None:
    first, last = index << level, ((index + 1) << level) - 1
    report.problems.append(
        Problem(
            "stored_subtrees_mismatch",
            f"the stored Merkle root of entries {first + 1}–{last + 1} "
            + ("is missing" if stored is None else "is not theirs" if want else "names entries the ledger lacks")
            + ": proofs made from it would not verify",
            last + 1,
            None,
            hash_to_hex(want) if want else None,
            hash_to_hex(stored) if stored else None,
        )
    )


FIXITY_COLUMNS = (EvidenceItem.id, EvidenceItem.ern, EvidenceItem.sha256, EvidenceItem.case_id)
INGESTED = str(Action.INGESTED)
MAX_SUSPECTS = 10_000
# How far from its place a moved entry is looked for: an insider swapping rows moves them a little; a wholesale
# shuffle is still reported, entry by entry, as hash and link problems.
REORDER_WINDOW = 16


def _check_ingested(fields: dict[str, Any], item: Recorded | None, report: VerifyReport) -> None:
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
