"""RFC 6962 / RFC 9162 section 2.1 Merkle tree hashing, proofs and proof verification.

Copied verbatim into the standalone verifier that recipients run, so it imports nothing
but the Python standard library and stays importable on Python 3.8+.

Leaves are raw leaf *data* (for the custody ledger: the 32 raw bytes of each entry_hash,
in seq order); this module applies the 0x00 / 0x01 domain-separation prefixes itself.
Proofs are lists of 32-byte hashes, ordered from the leaf end upwards as in RFC 6962.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _popcount(n: int) -> int:
    return bin(n).count("1")  # int.bit_count() needs 3.10


def _largest_pow2_below(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2): RFC 6962's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleAccumulator:
    """Streaming tree builder keeping only the roots of its perfect subtrees.

    After n appends the stack holds one root per set bit of n (largest subtree first), so
    memory is O(log n) and the root at the current size is available at any time.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        self._size = 0
        self._stack: list[bytes] = []

    @classmethod
    def from_state(cls, size: int, stack: Sequence[bytes]) -> MerkleAccumulator:
        """Resume from ``state()`` saved earlier (e.g. alongside a checkpoint)."""
        if type(size) is not int or size < 0:
            raise ValueError("size must be a non-negative int")
        if len(stack) != _popcount(size):
            raise ValueError(f"a tree of size {size} needs {_popcount(size)} subtree roots")
        for item in stack:
            if not isinstance(item, bytes) or len(item) != HASH_SIZE:
                raise ValueError("subtree roots must be 32-byte hashes")
        acc = cls()
        acc._size = size
        acc._stack = list(stack)
        return acc

    @property
    def size(self) -> int:
        return self._size

    def state(self) -> tuple[int, list[bytes]]:
        """(size, subtree roots): enough to resume appending later without the leaves."""
        return self._size, list(self._stack)

    def append(self, leaf_data: bytes) -> None:
        self.append_leaf_hash(_sha256(b"\x00" + leaf_data).digest())

    def append_leaf_hash(self, hashed_leaf: bytes) -> None:
        """Append an already leaf-hashed value (SHA-256(0x00 || data))."""
        if len(hashed_leaf) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        stack = self._stack
        h = bytes(hashed_leaf)
        size = self._size
        # Each trailing 1-bit of the old size is a complete subtree that now gains an equal
        # sibling: merge them, exactly like carrying in binary addition.
        while size & 1:
            h = _sha256(b"\x01" + stack.pop() + h).digest()
            size >>= 1
        stack.append(h)
        self._size += 1

    def append_noting(self, leaf_data: bytes, from_level: int) -> list[tuple[int, int, bytes]]:
        """Append a leaf; return the perfect subtrees it completes at `from_level` (>= 1) or above, as (level,
        index, root): what a store of subtree roots holds, so a walk can check that store without hashing twice."""
        h = _sha256(b"\x00" + leaf_data).digest()
        stack = self._stack
        size = self._size
        new_size = size + 1
        completed = []
        level = 0
        while size & 1:
            h = _sha256(b"\x01" + stack.pop() + h).digest()
            size >>= 1
            level += 1
            if level >= from_level:
                completed.append((level, (new_size >> level) - 1, h))
        stack.append(h)
        self._size = new_size
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append many leaves; the inlined loop is what makes a million leaves cheap."""
        stack = self._stack
        pop, push = stack.pop, stack.append
        size = self._size
        try:
            for data in leaves:
                h = _sha256(b"\x00" + data).digest()
                s = size
                while s & 1:
                    h = _sha256(b"\x01" + pop() + h).digest()
                    s >>= 1
                push(h)
                size += 1
        finally:
            # A bad leaf fails before anything is popped, so the state stays consistent.
            self._size = size

    def root(self) -> bytes:
        """Root of the tree over everything appended so far (EMPTY_ROOT when empty)."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        # Fold right to left: the smaller, later subtrees hang off the right edge.
        h = stack[-1]
        for left in reversed(stack[:-1]):
            h = _sha256(b"\x01" + left + h).digest()
        return h


def merkle_root(leaves: Iterable[bytes]) -> bytes:
    """RFC 6962 MTH over the leaf data, in O(log n) memory."""
    acc = MerkleAccumulator()
    acc.extend(leaves)
    return acc.root()


def _range_root(leaves: Sequence[bytes], lo: int, hi: int) -> bytes:
    acc = MerkleAccumulator()
    acc.extend(map(leaves.__getitem__, range(lo, hi)))
    return acc.root()


def _inclusion_path(index: int, size: int, subroot: Callable[[int, int], bytes]) -> list[bytes]:
    """RFC 6962 PATH(index, D[0:size]) with subtree roots supplied by ``subroot(lo, hi)``."""
    proof: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_pow2_below(hi - lo)
        if index < lo + k:
            proof.append(subroot(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subroot(lo, lo + k))
            lo += k
    proof.reverse()  # collected top-down; RFC order is leaf-up
    return proof


def _consistency_path(old_size: int, new_size: int, subroot: Callable[[int, int], bytes]) -> list[bytes]:
    """RFC 6962 SUBPROOF(old_size, D[0:new_size], true) for 0 < old_size <= new_size."""
    proof: list[bytes] = []
    lo, hi = 0, new_size
    whole_old_subtree = True  # RFC's flag b: the old tree's root is itself a node here
    while True:
        m = old_size - lo
        if m == hi - lo:
            if not whole_old_subtree:
                proof.append(subroot(lo, hi))
            break
        k = _largest_pow2_below(hi - lo)
        if m <= k:
            proof.append(subroot(lo + k, hi))
            hi = lo + k
        else:
            proof.append(subroot(lo, lo + k))
            lo += k
            whole_old_subtree = False
    proof.reverse()
    return proof


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for leaf ``index`` in the tree over all of ``leaves``.

    Streams each sibling subtree, so memory is O(log n) and time O(n).  For many proofs
    over one large tree, build a ``MerkleTree`` once instead.
    """
    size = len(leaves)
    _require_int(index, "index")
    if not 0 <= index < size:
        raise ValueError(f"index {index} outside a tree of size {size}")
    return _inclusion_path(index, size, lambda lo, hi: _range_root(leaves, lo, hi))


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Proof that the tree over ``leaves[:old_size]`` is a prefix of that over ``leaves[:new_size]``."""
    _require_int(old_size, "old_size")
    _require_int(new_size, "new_size")
    if not 0 <= old_size <= new_size <= len(leaves):
        raise ValueError(f"need 0 <= old_size <= new_size <= {len(leaves)}")
    if old_size in (0, new_size):
        return []
    return _consistency_path(old_size, new_size, lambda lo, hi: _range_root(leaves, lo, hi))


class MerkleTree:
    """Whole tree held in memory (about 2n hashes) for cheap repeated proofs.

    Level 0 holds leaf hashes; each higher level pairs neighbours and carries an odd last
    node up unchanged, which yields exactly RFC 6962's left-full tree shape.
    """

    __slots__ = ("_levels", "_size")

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        level = [_sha256(b"\x00" + data).digest() for data in leaves]
        self._size = len(level)
        self._levels = [level]
        while len(level) > 1:
            nxt = [_sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
            if len(level) & 1:
                nxt.append(level[-1])
            self._levels.append(nxt)
            level = nxt

    @property
    def size(self) -> int:
        return self._size

    def _node(self, lo: int, hi: int) -> bytes:
        # Callers only ask for ranges from RFC 6962's decomposition, whose start is
        # aligned to the next power of two >= its width, so each stored node is addressable.
        width = hi - lo
        level = (width - 1).bit_length()
        if width == 1 << level or hi == self._size:
            return self._levels[level][lo >> level]
        # A right-edge subtree of an older, smaller tree is not stored: rebuild it from
        # stored perfect subtrees (O(log n) work).
        k = 1 << (level - 1)
        return node_hash(self._node(lo, lo + k), self._node(lo + k, hi))

    def _check_size(self, tree_size: int | None) -> int:
        if tree_size is None:
            return self._size
        _require_int(tree_size, "tree_size")
        if not 0 <= tree_size <= self._size:
            raise ValueError(f"tree_size must be between 0 and {self._size}")
        return tree_size

    def root(self, tree_size: int | None = None) -> bytes:
        """Root of the whole tree, or of its first ``tree_size`` leaves."""
        size = self._check_size(tree_size)
        return EMPTY_ROOT if size == 0 else self._node(0, size)

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        size = self._check_size(tree_size)
        _require_int(index, "index")
        if not 0 <= index < size:
            raise ValueError(f"index {index} outside a tree of size {size}")
        return _inclusion_path(index, size, self._node)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new = self._check_size(new_size)
        _require_int(old_size, "old_size")
        if not 0 <= old_size <= new:
            raise ValueError(f"need 0 <= old_size <= {new}")
        if old_size in (0, new):
            return []
        return _consistency_path(old_size, new, self._node)


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------


def _require_int(value: object, name: str) -> None:
    if type(value) is not int:  # bool is an int subclass but never a valid size/index
        raise TypeError(f"{name} must be an int")


def _require_bytes(value: object, name: str) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes")


def _valid_proof(proof: Sequence[bytes]) -> bool:
    if not isinstance(proof, (list, tuple)):
        raise TypeError("proof must be a list of bytes")
    for item in proof:
        _require_bytes(item, "proof element")
        if len(item) != HASH_SIZE:
            return False
    return True


def _root_from_inclusion(hashed_leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes]) -> bytes | None:
    fn, sn = index, tree_size - 1
    r = hashed_leaf
    for p in proof:
        if sn == 0:
            return None  # proof longer than the path: extended/forged
        if fn & 1 or fn == sn:
            r = _sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None  # sn != 0: proof truncated


def verify_inclusion(leaf_data: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """True iff ``proof`` shows ``leaf_data`` at ``index`` in the tree of ``tree_size`` with ``root``.

    Returns False for every malformed or hostile value; raises TypeError only for
    arguments of the wrong type.
    """
    _require_bytes(leaf_data, "leaf_data")
    _require_int(index, "index")
    _require_int(tree_size, "tree_size")
    _require_bytes(root, "root")
    if not _valid_proof(proof) or len(root) != HASH_SIZE:
        return False
    if index < 0 or tree_size <= 0 or index >= tree_size:
        return False
    computed = _root_from_inclusion(leaf_hash(bytes(leaf_data)), index, tree_size, proof)
    return computed is not None and computed == bytes(root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """True iff ``proof`` shows the ``old_size`` tree (``old_root``) is a prefix of the ``new_size`` one.

    Returns False for every malformed or hostile value; raises TypeError only for
    arguments of the wrong type.
    """
    _require_int(old_size, "old_size")
    _require_int(new_size, "new_size")
    _require_bytes(old_root, "old_root")
    _require_bytes(new_root, "new_root")
    if not _valid_proof(proof):
        return False
    old_root, new_root = bytes(old_root), bytes(new_root)
    if len(old_root) != HASH_SIZE or len(new_root) != HASH_SIZE:
        return False
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root and (old_size > 0 or old_root == EMPTY_ROOT)
    if old_size == 0:
        # The empty tree is a prefix of every tree; there is nothing to prove.
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False

    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)  # the old tree is a complete subtree of the new one
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = _sha256(b"\x01" + c + fr).digest()
            sr = _sha256(b"\x01" + c + sr).digest()
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _sha256(b"\x01" + sr + c).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


# --- hex helpers for JSON ------------------------------------------------------------------------


def hash_to_hex(value: bytes) -> str:
    return bytes(value).hex()


def hash_from_hex(text: str) -> bytes:
    """Decode a 64-digit hex hash strictly (bytes.fromhex alone would accept spaces)."""
    if not isinstance(text, str):
        raise TypeError("hash must be a hex string")
    if len(text) != 2 * HASH_SIZE or not _HEX_DIGITS.issuperset(text):
        raise ValueError(f"not a 64-digit hex hash: {text[:80]!r}")
    return bytes.fromhex(text)


def proof_to_hex(proof: Iterable[bytes]) -> list[str]:
    return [bytes(item).hex() for item in proof]


def proof_from_hex(items: Sequence[str]) -> list[bytes]:
    """Decode a JSON proof (list of hex strings); ValueError/TypeError on anything else."""
    if not isinstance(items, (list, tuple)):
        raise TypeError("proof must be a list of hex strings")
    return [hash_from_hex(item) for item in items]
