"""RFC 6962 Merkle tree: known answers, proof round-trips and forged-proof rejection."""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

import pytest

from casefile.custody import merkle
from casefile.custody.merkle import (
    EMPTY_ROOT,
    MerkleAccumulator,
    MerkleTree,
    consistency_proof,
    hash_from_hex,
    inclusion_proof,
    leaf_hash,
    merkle_root,
    node_hash,
    proof_from_hex,
    proof_to_hex,
    verify_consistency,
    verify_inclusion,
)


def naive_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 MTH, transcribed literally and independently of the module."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:])).digest()


def largest_pow2_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path_shape(index: int, size: int) -> list[str]:
    """Side of each sibling in RFC 6962 PATH (leaf upwards), from the RFC's recursion."""
    if size <= 1:
        return []
    k = largest_pow2_below(size)
    if index < k:
        return [*path_shape(index, k), "R"]
    return [*path_shape(index - k, size - k), "L"]


def subproof_shape(m: int, n: int, b: bool = True) -> list[str]:
    """Role of each element of RFC 6962 SUBPROOF: right sibling, left sibling, or start node."""
    if m == n:
        return [] if b else ["S"]
    k = largest_pow2_below(n)
    if m <= k:
        return [*subproof_shape(m, k, b), "R"]
    return [*subproof_shape(m - k, n - k, False), "L"]


def make_leaves(n: int) -> list[bytes]:
    # Leaf data shaped like the ledger's: 32 raw bytes of an entry hash.
    return [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(n)]


LEAVES = make_leaves(100)
MAX_PROOF_SIZE = 33


def flip(b: bytes, pos: int = 0) -> bytes:
    return b[:pos] + bytes([b[pos] ^ 0x01]) + b[pos + 1 :]


def test_primitives_match_rfc_definitions() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()


def test_rfc6962_reference_vectors() -> None:
    # Roots from the Certificate Transparency reference test data (leaves of varying length).
    ct_leaves = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ]
    expected = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
    for size in range(1, 9):
        assert merkle_root(ct_leaves[:size]).hex() == expected[size - 1]


@pytest.mark.parametrize("size", range(41))
def test_root_known_answers(size: int) -> None:
    leaves = LEAVES[:size]
    expected = naive_mth(leaves)
    assert merkle_root(leaves) == expected
    assert merkle_root(iter(leaves)) == expected  # any iterable, e.g. a DB cursor
    assert MerkleTree(leaves).root() == expected


def test_accumulator_matches_root_for_every_size() -> None:
    acc = MerkleAccumulator()
    assert acc.root() == EMPTY_ROOT
    for size in range(1, 101):
        acc.append(LEAVES[size - 1])
        assert acc.size == size
        assert acc.root() == merkle_root(LEAVES[:size]) == naive_mth(LEAVES[:size])


def test_accumulator_extend_and_leaf_hash_paths_agree() -> None:
    a, b, c = MerkleAccumulator(), MerkleAccumulator(), MerkleAccumulator()
    a.extend(LEAVES[:37])
    for leaf in LEAVES[:37]:
        b.append(leaf)
        c.append_leaf_hash(leaf_hash(leaf))
    assert a.root() == b.root() == c.root() == naive_mth(LEAVES[:37])
    assert a.state() == b.state() == c.state()


def test_accumulator_state_resumes_and_is_small() -> None:
    acc = MerkleAccumulator()
    acc.extend(LEAVES[:77])
    size, stack = acc.state()
    assert size == 77 and len(stack) == bin(77).count("1")  # O(log n) memory
    resumed = MerkleAccumulator.from_state(size, stack)
    resumed.extend(LEAVES[77:])
    assert resumed.root() == naive_mth(LEAVES)
    with pytest.raises(ValueError):
        MerkleAccumulator.from_state(77, stack[:-1])


def test_accumulator_bad_leaf_leaves_state_consistent() -> None:
    acc = MerkleAccumulator()
    with pytest.raises(TypeError):
        acc.extend([LEAVES[0], LEAVES[1], "not bytes", LEAVES[3]])  # type: ignore[list-item]
    assert acc.size == 2
    assert acc.root() == naive_mth(LEAVES[:2])


def test_merkle_tree_roots_at_earlier_sizes() -> None:
    tree = MerkleTree(LEAVES[:40])
    for size in range(41):
        assert tree.root(size) == naive_mth(LEAVES[:size])
    with pytest.raises(ValueError):
        tree.root(41)


@pytest.mark.parametrize("size", range(1, MAX_PROOF_SIZE + 1))
def test_every_inclusion_proof_verifies(size: int) -> None:
    leaves = LEAVES[:size]
    root = naive_mth(leaves)
    tree = MerkleTree(LEAVES[:MAX_PROOF_SIZE])
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        assert proof == tree.inclusion_proof(index, size)
        assert verify_inclusion(leaves[index], index, size, proof, root)
        # Wrong leaf or neighbouring index: rejected.
        assert not verify_inclusion(flip(leaves[index]), index, size, proof, root)
        if size > 1:
            other = (index + 1) % size
            assert not verify_inclusion(leaves[index], other, size, proof, root)
            assert not verify_inclusion(leaves[other], index, size, proof, root)


@pytest.mark.parametrize("size", range(1, MAX_PROOF_SIZE + 1))
def test_inclusion_wrong_tree_size(size: int) -> None:
    # A Merkle root does not commit to its size, so RFC 9162 verification (like every CT
    # verifier) accepts another size exactly when that size gives the same audit-path shape;
    # the size is bound by the *signed* tree head.  Every other size must be rejected.
    leaves = LEAVES[:size]
    root = naive_mth(leaves)
    rejected = 0
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        for other_size in range(index + 1, 2 * MAX_PROOF_SIZE):
            if other_size == size:
                continue
            same_shape = path_shape(index, other_size) == path_shape(index, size)
            assert verify_inclusion(leaves[index], index, other_size, proof, root) == same_shape
            rejected += not same_shape
    assert rejected > 0


@pytest.mark.parametrize("size", range(1, MAX_PROOF_SIZE + 1))
def test_forged_inclusion_proofs_rejected(size: int) -> None:
    leaves = LEAVES[:size]
    root = naive_mth(leaves)
    for index in range(size):
        proof = inclusion_proof(leaves, index)
        for i in range(len(proof)):
            for pos in (0, 17, 31):
                forged = [*proof[:i], flip(proof[i], pos), *proof[i + 1 :]]
                assert not verify_inclusion(leaves[index], index, size, forged, root)
        if proof:
            assert not verify_inclusion(leaves[index], index, size, proof[:-1], root)  # truncated
            assert not verify_inclusion(leaves[index], index, size, proof[1:], root)
            if len(proof) > 1:
                assert not verify_inclusion(leaves[index], index, size, proof[::-1], root)
        assert not verify_inclusion(leaves[index], index, size, [*proof, root], root)  # extended
        assert not verify_inclusion(leaves[index], index, size, [*proof, b"\x00" * 32], root)
        assert not verify_inclusion(leaves[index], index, size, proof, flip(root))


def test_inclusion_rejects_out_of_range_and_malformed_values() -> None:
    leaves = LEAVES[:8]
    root = naive_mth(leaves)
    proof = inclusion_proof(leaves, 3)
    assert verify_inclusion(leaves[3], 3, 8, proof, root)
    assert not verify_inclusion(leaves[3], 8, 8, proof, root)  # index == size
    assert not verify_inclusion(leaves[3], 9, 8, proof, root)
    assert not verify_inclusion(leaves[3], -1, 8, proof, root)
    assert not verify_inclusion(leaves[3], 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(leaves[3], 3, -8, proof, root)
    assert not verify_inclusion(leaves[3], 3, 8, [p[:31] for p in proof], root)  # short hashes
    assert not verify_inclusion(leaves[3], 3, 8, [*proof[:-1], proof[-1] + b"\x00"], root)
    assert not verify_inclusion(leaves[3], 3, 8, proof, root[:31])
    assert not verify_inclusion(leaves[3], 3, 2**70, proof, root)  # absurd size, no crash
    with pytest.raises(TypeError):
        verify_inclusion(leaves[3], "3", 8, proof, root)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_inclusion(leaves[3], True, 8, proof, root)
    with pytest.raises(TypeError):
        verify_inclusion(leaves[3], 3, 8, [p.hex() for p in proof], root)  # type: ignore[misc]
    with pytest.raises(TypeError):
        verify_inclusion(leaves[3], 3, 8, "proof", root)  # type: ignore[arg-type]


def test_single_leaf_tree_has_empty_proof() -> None:
    assert inclusion_proof(LEAVES[:1], 0) == []
    assert verify_inclusion(LEAVES[0], 0, 1, [], leaf_hash(LEAVES[0]))
    assert not verify_inclusion(LEAVES[0], 0, 1, [LEAVES[1]], leaf_hash(LEAVES[0]))


def test_proof_generation_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES[:5], 5)
    with pytest.raises(ValueError):
        inclusion_proof([], 0)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES[:5], 4, 3)
    with pytest.raises(ValueError):
        consistency_proof(LEAVES[:5], 2, 6)


def test_rfc6962_worked_example_proofs() -> None:
    # RFC 6962 section 2.1.3: the 7-leaf tree with nodes a..j, g..l and its listed proofs.
    d = LEAVES[:7]
    a, b, c, dd, e, f, j = (leaf_hash(x) for x in d)
    g, h, i = node_hash(a, b), node_hash(c, dd), node_hash(e, f)
    k, ll = node_hash(g, h), node_hash(i, j)
    assert merkle_root(d) == node_hash(k, ll)
    assert inclusion_proof(d, 0) == [b, h, ll]
    assert inclusion_proof(d, 3) == [c, g, ll]
    assert inclusion_proof(d, 4) == [f, j, k]
    assert inclusion_proof(d, 6) == [i, k]
    assert consistency_proof(d, 3, 7) == [c, dd, g, ll]
    assert consistency_proof(d, 4, 7) == [ll]
    assert consistency_proof(d, 6, 7) == [i, j, k]


@pytest.mark.parametrize("new_size", range(1, MAX_PROOF_SIZE + 1))
def test_every_consistency_proof_verifies(new_size: int) -> None:
    leaves = LEAVES[:new_size]
    new_root = naive_mth(leaves)
    tree = MerkleTree(LEAVES[:MAX_PROOF_SIZE])
    for old_size in range(1, new_size + 1):
        old_root = naive_mth(leaves[:old_size])
        proof = consistency_proof(leaves, old_size, new_size)
        assert proof == tree.consistency_proof(old_size, new_size)
        assert verify_consistency(old_size, new_size, old_root, new_root, proof)


@pytest.mark.parametrize("new_size", range(2, MAX_PROOF_SIZE + 1))
def test_forged_consistency_proofs_rejected(new_size: int) -> None:
    leaves = LEAVES[:new_size]
    new_root = naive_mth(leaves)
    for old_size in range(1, new_size):
        old_root = naive_mth(leaves[:old_size])
        proof = consistency_proof(leaves, old_size, new_size)
        assert proof  # strict prefix always needs a proof
        for i in range(len(proof)):
            for pos in (0, 31):
                forged = [*proof[:i], flip(proof[i], pos), *proof[i + 1 :]]
                assert not verify_consistency(old_size, new_size, old_root, new_root, forged)
        assert not verify_consistency(old_size, new_size, old_root, new_root, proof[:-1])
        assert not verify_consistency(old_size, new_size, old_root, new_root, proof[1:])
        assert not verify_consistency(old_size, new_size, old_root, new_root, [*proof, new_root])
        assert not verify_consistency(old_size, new_size, old_root, new_root, [])
        assert not verify_consistency(old_size, new_size, new_root, old_root, proof)  # swapped roots
        assert not verify_consistency(new_size, old_size, new_root, old_root, proof)  # swapped sizes
        assert not verify_consistency(old_size, new_size, flip(old_root), new_root, proof)
        assert not verify_consistency(old_size, new_size, old_root, flip(new_root), proof)
        # Other sizes: accepted only where RFC 6962 yields an identically shaped proof
        # (roots do not commit to sizes; the signed tree head does).
        want = subproof_shape(old_size, new_size)
        rejected = 0
        for other_old in range(1, new_size + 3):
            for other_new in range(max(other_old, new_size - 2), new_size + 3):
                if (other_old, other_new) == (old_size, new_size):
                    continue
                same = other_old < other_new and subproof_shape(other_old, other_new) == want
                assert verify_consistency(other_old, other_new, old_root, new_root, proof) == same
                rejected += not same
        assert rejected > 0
        # A rewritten history: same sizes, one old leaf changed.
        rewritten = [flip(leaves[0]), *leaves[1:]]
        assert not verify_consistency(
            old_size,
            new_size,
            old_root,
            naive_mth(rewritten),
            consistency_proof(rewritten, old_size, new_size),
        )


def test_consistency_edge_cases() -> None:
    root5 = naive_mth(LEAVES[:5])
    assert consistency_proof(LEAVES[:5], 5, 5) == []
    assert verify_consistency(5, 5, root5, root5, [])
    assert not verify_consistency(5, 5, root5, root5, [root5])
    assert not verify_consistency(5, 5, root5, flip(root5), [])
    assert consistency_proof(LEAVES[:5], 0, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root5, [])
    assert not verify_consistency(0, 5, root5, root5, [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, root5, [root5])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(6, 5, root5, root5, [])
    assert not verify_consistency(-1, 5, EMPTY_ROOT, root5, [])
    assert not verify_consistency(2, 5, root5[:31], root5, [root5])
    with pytest.raises(TypeError):
        verify_consistency(2.0, 5, root5, root5, [root5])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_consistency(2, 5, root5.hex(), root5, [root5])  # type: ignore[arg-type]


def test_hex_helpers_round_trip_and_are_strict() -> None:
    proof = inclusion_proof(LEAVES[:9], 4)
    as_json = proof_to_hex(proof)
    assert all(isinstance(x, str) and len(x) == 64 for x in as_json)
    assert proof_from_hex(as_json) == proof
    assert hash_from_hex(proof[0].hex().upper()) == proof[0]
    for bad in ("00" * 31, "00" * 33, "zz" * 32, " " + "0" * 63, "0" * 62 + " 0"):
        with pytest.raises(ValueError):
            hash_from_hex(bad)
    with pytest.raises(TypeError):
        proof_from_hex("00" * 32)  # type: ignore[arg-type]


def test_large_tree_streams() -> None:
    # A 2**17 + 3 leaf tree: accumulator, MerkleTree and a streamed proof all agree.
    n = 2**17 + 3
    leaves = [i.to_bytes(32, "big") for i in range(n)]
    root = merkle_root(iter(leaves))
    tree = MerkleTree(leaves)
    assert tree.root() == root
    for index in (0, 1, 2**16, n - 2, n - 1):
        proof = inclusion_proof(leaves, index)
        assert proof == tree.inclusion_proof(index)
        assert verify_inclusion(leaves[index], index, n, proof, root)
    old = 100_000
    proof = tree.consistency_proof(old)
    assert proof == consistency_proof(leaves, old, n)
    assert verify_consistency(old, n, tree.root(old), root, proof)


def test_module_is_standalone_stdlib_only() -> None:
    tree = ast.parse(Path(merkle.__file__).read_text(encoding="utf-8"), feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the file is copied into the verifier"
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
