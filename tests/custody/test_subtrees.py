"""Stored Merkle subtree roots (casefile.custody.subtrees): kept at append, whatever the batch sizes; roots and RFC
6962 proofs from them equal those of the whole tree built in memory, at every size asked; a ledger with a changed
stored root is named by `custody verify`; the nodes cannot be rewritten in the database."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import DBAPIError

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.merkle import MerkleTree, verify_consistency, verify_inclusion
from casefile.custody.models import Checkpoint
from casefile.custody.services import create_checkpoint
from casefile.custody.subtrees import BLOCK, MerkleNode, StoredTree, leaf_data
from casefile.custody.verify import verify_ledger
from casefile.db import get_database, session_scope
from casefile.errors import CasefileError

from support import Account, as_insider


def _append(app: Flask, case_id: uuid.UUID, batches: list[int]) -> None:
    for size in batches:
        with app.app_context(), session_scope() as s:
            ledger.record_custody_many(
                s, [ledger.Draft(ledger.SYSTEM, Action.NOTE, case_id, details={"n": n}) for n in range(size)]
            )


def _leaves(app: Flask) -> list[bytes]:
    with app.app_context(), session_scope() as s:
        return [leaf_data(f["entry_hash"]) for f in ledger.iter_entry_fields(s)]


def test_stored_roots_and_proofs_equal_the_whole_tree(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    case_id = make_case(make_user("investigator"), "MRK")
    # Batches that cross block boundaries in every way: one at a time, a block exactly, many blocks at once.
    _append(app, case_id, [1, 3, 250, 2, 256, 700, 1, 1, 900])
    leaves = _leaves(app)
    size = len(leaves)
    memory = MerkleTree(leaves)
    with app.app_context(), session_scope() as s:
        stored_nodes = s.scalar(select(func.count()).select_from(MerkleNode))
        # One node per complete aligned subtree of 256 leaves or more.
        expected = sum(size // (BLOCK << level) for level in range(size.bit_length()))
        assert stored_nodes == expected > 0
        tree = StoredTree(s, size)
        rng = random.Random(7)
        sizes = sorted({1, 2, 255, 256, 257, 511, 512, 1024, size - 1, size, *rng.sample(range(1, size), 20)})
        for n in sizes:
            assert tree.root(n) == memory.root(n), n
        root = tree.root()
        for index in [0, 255, 256, 1023, size - 1, *rng.sample(range(size), 30)]:
            proof = tree.inclusion_proof(index)
            assert proof == memory.inclusion_proof(index)
            assert verify_inclusion(leaves[index], index, size, proof, root)
        for old in [1, 255, 256, 300, 1024, size - 1, *rng.sample(range(1, size), 10)]:
            proof = tree.consistency_proof(old)
            assert proof == memory.consistency_proof(old)
            assert verify_consistency(old, size, memory.root(old), root, proof)


def test_verify_names_a_changed_stored_root_and_the_database_refuses_changes(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    case_id = make_case(make_user("investigator"), "MRT")
    _append(app, case_id, [600])
    key = app.extensions["casefile_key"]
    with app.app_context(), session_scope() as s:
        create_checkpoint(s, key, "test")
    with app.app_context(), session_scope() as s:
        assert verify_ledger(s, None, key.public_pem).ok
    with pytest.raises(DBAPIError), app.app_context(), session_scope() as s:
        s.execute(update(MerkleNode).values(hash=b"\x00" * 32))
    # An insider with the database's owner rights goes round the triggers.
    with as_insider(app) as conn:
        conn.execute(update(MerkleNode).where(MerkleNode.level == 8, MerkleNode.idx == 1).values(hash=b"\x00" * 32))
    with app.app_context(), session_scope() as s:
        report = verify_ledger(s, None, key.public_pem)
    kinds = {p.kind for p in report.problems}
    assert kinds == {"stored_subtrees_mismatch"}, report.problems
    assert all(p.expected != p.found and "would not verify" in p.message for p in report.problems)


def test_a_checkpoint_is_signed_from_the_stored_roots_and_refused_over_changed_ones(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    case_id = make_case(make_user("investigator"), "MRC")
    _append(app, case_id, [300])
    key = app.extensions["casefile_key"]
    with app.app_context(), session_scope() as s:
        first = create_checkpoint(s, key, "test")
    _append(app, case_id, [400])
    engine = get_database(app).engine
    reads: list[tuple[str, object]] = []

    def listener(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
        if "FROM custody_entries" in statement:
            reads.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        with app.app_context(), session_scope() as s:
            second = create_checkpoint(s, key, "test")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    leaves = _leaves(app)
    assert (first.tree_size, second.tree_size) == (300, 700)
    assert second.root_hash == MerkleTree(leaves).root().hex()
    # Signing read the entries of the two partial blocks it needed (the first checkpoint's size and the head), not
    # the ledger: every read of custody_entries starts inside block 1 (entries 257-512) or block 2 (513-768).
    bounds = [min(v for v in (p.values() if isinstance(p, dict) else p) if isinstance(v, int)) for _, p in reads]
    assert bounds and min(bounds) >= BLOCK, reads

    # A stored root beneath the newest signed head (of entries 1-512), changed by an insider: nothing more is signed.
    with as_insider(app) as conn:
        conn.execute(update(MerkleNode).where(MerkleNode.level == 9, MerkleNode.idx == 0).values(hash=b"\x00" * 32))
    _append(app, case_id, [5])
    refused = f"disagrees with checkpoint {second.id} \\(tree size 700\\)"
    with pytest.raises(CasefileError, match=refused), app.app_context(), session_scope() as s:
        create_checkpoint(s, key, "test")
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.max(Checkpoint.tree_size))) == 700


def test_a_root_or_proof_reads_its_nodes_in_one_statement_whatever_the_size(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    case_id = make_case(make_user("investigator"), "MRQ")
    _append(app, case_id, [2000])
    leaves = _leaves(app)
    size, memory = len(leaves), MerkleTree(leaves)
    engine = get_database(app).engine
    with app.app_context(), session_scope() as s:
        asks = {
            "root": lambda tree: tree.root() == memory.root(),
            "inclusion": lambda tree: tree.inclusion_proof(700) == memory.inclusion_proof(700),
            "consistency": lambda tree: tree.consistency_proof(1500) == memory.consistency_proof(1500),
        }
        for name, ask in asks.items():
            statements: list[str] = []

            def listener(conn: object, cursor: object, statement: str, *_: object) -> None:
                if statement.startswith("SELECT"):  # not SQLite's BEGIN IMMEDIATE
                    statements.append(statement)  # noqa: B023 - removed before the next loop

            event.listen(engine, "before_cursor_execute", listener)
            try:
                assert ask(StoredTree(s, size)), name
            finally:
                event.remove(engine, "before_cursor_execute", listener)
            # The stored nodes in one statement and the entries of the partial blocks in another: a read per node
            # would grow with log(size).
            assert len(statements) <= 2, (name, statements)
