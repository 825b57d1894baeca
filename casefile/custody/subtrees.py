"""Stored Merkle subtree roots of the custody ledger, kept at append, so that proofs and roots need O(log n) reads and
memory instead of a tree of the whole ledger built in memory (about 64 bytes per entry: 2.9 GB at ten million).

Like a Certificate Transparency log's tiles: every complete, aligned subtree of 2^BLOCK_LEVEL leaves or more has
its root stored once (`merkle_nodes`, append-only), when its last leaf is appended. A root or proof over any tree
size is then assembled from those nodes, plus at most two blocks of entry hashes read for the part below a block
(RFC 6962's decomposition, casefile.custody.merkle's own paths). Nothing here is trusted on its own: every proof is
checked by whoever receives it against a signed tree head, the dossier builder checks its proofs before writing
them, and `custody verify` compares the stored roots with the entries it re-hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import BigInteger, Integer, LargeBinary, or_, select, tuple_
from sqlalchemy.orm import Mapped, Session, mapped_column

from casefile.custody.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    _consistency_path,
    _inclusion_path,
    _largest_pow2_below,
    leaf_hash,
    node_hash,
)
from casefile.custody.models import CustodyEntry
from casefile.db import Base

BLOCK_LEVEL = 8  # stored nodes cover 256 leaves or more: 2/256 of a row per entry, a block read is 8 KB
BLOCK = 1 << BLOCK_LEVEL


class MerkleNode(Base):
    """The root of leaves [idx·2^level, (idx+1)·2^level) of the ledger (leaf i is entry seq i+1)."""

    __tablename__ = "merkle_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


def leaf_data(entry_hash: object) -> bytes:
    """The Merkle leaf of an entry: the 32 bytes of its hash (a malformed stored hash, which `custody verify`
    reports, still occupies its position so later sizes are compared at the right place)."""
    if not isinstance(entry_hash, str):
        return b""
    try:
        raw = bytes.fromhex(entry_hash)
    except ValueError:
        return b""
    return raw if len(raw) == 32 else b""


def _leaf_hashes(session: Session, lo: int, hi: int) -> list[bytes]:
    """Leaf hashes of leaves [lo, hi): entries seq lo+1 … hi, one range read of the primary key."""
    rows = session.scalars(
        select(CustodyEntry.entry_hash).where(CustodyEntry.seq > lo, CustodyEntry.seq <= hi).order_by(CustodyEntry.seq)
    ).all()
    if len(rows) != hi - lo:
        raise LookupError(f"the ledger has no entries {lo + 1}…{hi}")
    return [leaf_hash(leaf_data(h)) for h in rows]


def _root_of(hashed_leaves: Sequence[bytes]) -> bytes:
    tree = MerkleAccumulator()
    for hashed in hashed_leaves:
        tree.append_leaf_hash(hashed)
    return tree.root()


def store_completed(session: Session, old_size: int, new_size: int) -> None:
    """Store the roots of the subtrees completed by appending leaves old_size … new_size-1 (called by the ledger
    under its head lock, after the entries are flushed): for each block completed, its root from its entry hashes,
    then each parent it completes, from the stored left sibling."""
    made: dict[tuple[int, int], bytes] = {}
    for block in range(old_size // BLOCK, new_size // BLOCK):
        if (block + 1) * BLOCK <= old_size:
            continue
        level, idx = BLOCK_LEVEL, block
        made[(level, idx)] = _root_of(_leaf_hashes(session, block * BLOCK, (block + 1) * BLOCK))
        while idx & 1:  # a right child completes its parent
            left = made.get((level, idx - 1)) or session.get_one(MerkleNode, (level, idx - 1)).hash
            made[(level + 1, idx >> 1)] = node_hash(left, made[(level, idx)])
            level, idx = level + 1, idx >> 1
    if made:
        session.add_all(MerkleNode(level=lv, idx=ix, hash=h) for (lv, ix), h in made.items())
        session.flush()


class StoredTree:
    """Roots and RFC 6962 proofs of the ledger's first `size` entries from the stored nodes (cached per tree: a
    dossier asking for many proofs reads each node and block once)."""

    def __init__(self, session: Session, size: int) -> None:
        self.session = session
        self.size = size
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._blocks: dict[int, list[bytes]] = {}

    def _block(self, block: int) -> list[bytes]:
        if block not in self._blocks:
            lo = block * BLOCK
            self._blocks[block] = _leaf_hashes(self.session, lo, min(lo + BLOCK, self.size))
        return self._blocks[block]

    def _needs(self, lo: int, hi: int, nodes: set[tuple[int, int]], blocks: set[int]) -> None:
        """What subroot(lo, hi) will read: the same decomposition, recording instead of hashing."""
        width = hi - lo
        level = (width - 1).bit_length()
        if width == 1 << level and lo % width == 0:
            if level >= BLOCK_LEVEL:
                nodes.add((level, lo >> level))
            else:
                blocks.add(lo // BLOCK)
            return
        k = _largest_pow2_below(width)
        self._needs(lo, lo + k, nodes, blocks)
        self._needs(lo + k, hi, nodes, blocks)

    def prefetch_proofs(self, indices: Iterable[int], size: int | None = None) -> None:
        """Read, in a few queries, every node and block the inclusion proofs of `indices` need (a case's entries
        are scattered over the ledger: one query each would grow with the case)."""
        size = self.size if size is None else size
        indices = list(indices)

        def walk(plan: Callable[[int, int], bytes]) -> None:
            for index in indices:
                _inclusion_path(index, size, plan)

        self._prefetch(walk, {index // BLOCK for index in indices})  # the leaf itself is compared by the caller

    def _prefetch(self, walk: Callable[[Callable[[int, int], bytes]], object], blocks: set[int] | None = None) -> None:
        """Run `walk` with a subroot that only records what it would read, then read all of it in a few queries:
        a root or proof costs the same number of statements at any ledger size (one per node would grow with it)."""
        nodes: set[tuple[int, int]] = set()
        blocks = set() if blocks is None else blocks

        def plan(lo: int, hi: int) -> bytes:
            self._needs(lo, hi, nodes, blocks)
            return b""

        walk(plan)
        # Chunks large enough that a case's proofs stay one or two statements at any ledger size (50 entries' proofs
        # need ~750 nodes at ten million entries), small enough for SQLite's limits on parameters and expression depth.
        wanted = sorted(k for k in nodes if k not in self._nodes)
        for start in range(0, len(wanted), 5000):
            part = wanted[start : start + 5000]
            for node in self.session.scalars(
                select(MerkleNode).where(tuple_(MerkleNode.level, MerkleNode.idx).in_(part))
            ):
                self._nodes[(node.level, node.idx)] = node.hash
        missing = sorted(b for b in blocks if b not in self._blocks)
        for start in range(0, len(missing), 200):
            chunk = missing[start : start + 200]
            ranges = [CustodyEntry.seq.between(b * BLOCK + 1, min((b + 1) * BLOCK, self.size)) for b in chunk]
            read: dict[int, list[bytes]] = {b: [] for b in chunk}
            # Sorted here, not by ORDER BY: SQLite would then walk the whole primary key in order instead of reading
            # the ranges (0.5 s at a million entries, bench.scale --sqlite).
            rows = self.session.execute(select(CustodyEntry.seq, CustodyEntry.entry_hash).where(or_(*ranges))).all()
            for seq, entry_hash in sorted(rows):
                read[(seq - 1) // BLOCK].append(leaf_hash(leaf_data(entry_hash)))
            for block, hashed in read.items():
                if len(hashed) == min((block + 1) * BLOCK, self.size) - block * BLOCK:
                    self._blocks[block] = hashed

    def _node(self, level: int, idx: int) -> bytes:
        key = (level, idx)
        if key not in self._nodes:
            node = self.session.get(MerkleNode, key)
            if node is None:
                raise LookupError(f"no stored Merkle node at level {level}, index {idx}: run the migration's backfill")
            self._nodes[key] = node.hash
        return self._nodes[key]

    def subroot(self, lo: int, hi: int) -> bytes:
        """The root of leaves [lo, hi) (hi <= size): a stored node, a block's part, or their RFC 6962 combination."""
        width = hi - lo
        level = (width - 1).bit_length()
        if width == 1 << level and lo % width == 0:  # a complete, aligned subtree
            if level >= BLOCK_LEVEL:
                return self._node(level, lo >> level)
            leaves = self._block(lo // BLOCK)
            start = lo % BLOCK
            return _root_of(leaves[start : start + width])
        k = _largest_pow2_below(width)
        return node_hash(self.subroot(lo, lo + k), self.subroot(lo + k, hi))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size must be between 0 and {self.size}")
        if size == 0:
            return EMPTY_ROOT
        self._prefetch(lambda plan: plan(0, size))
        return self.subroot(0, size)

    def stack(self) -> list[bytes]:
        """What a MerkleAccumulator holds after the first `size` leaves: the root of each perfect subtree of the
        size's binary decomposition, largest first (so a walk can start there instead of at the first leaf)."""
        spans, start = [], 0
        for level in reversed(range(self.size.bit_length())):
            if self.size >> level & 1:
                spans.append((start, start + (1 << level)))
                start += 1 << level
        self._prefetch(lambda plan: [plan(lo, hi) for lo, hi in spans])
        return [self.subroot(lo, hi) for lo, hi in spans]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if not 0 <= index < size <= self.size:
            raise ValueError(f"index {index} outside a tree of size {size}")
        self._prefetch(lambda plan: _inclusion_path(index, size, plan))
        return _inclusion_path(index, size, self.subroot)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        if not 0 <= old_size <= new_size <= self.size:
            raise ValueError(f"need 0 <= old_size <= {new_size}")
        if old_size in (0, new_size):
            return []
        self._prefetch(lambda plan: _consistency_path(old_size, new_size, plan))
        return _consistency_path(old_size, new_size, self.subroot)
