"""The custody ledger in a real database (DESIGN §4): gapless hash-chained appends, append-only triggers on both
engines, signed checkpoints whose Merkle roots, inclusion and consistency proofs verify, and the fixity badge query.

Runs on SQLite and on PostgreSQL (CASEFILE_TEST_DB), against real commits and real triggers.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.chain import GENESIS_HASH, entry_hash, verify_chain
from casefile.custody.merkle import (
    MerkleTree,
    consistency_proof,
    hash_from_hex,
    inclusion_proof,
    merkle_root,
    verify_consistency,
    verify_inclusion,
)
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.services import create_checkpoint, last_fixity
from casefile.custody.signing import SignedTreeHead, key_id, verify_tree_head
from casefile.db import session_scope


def is_postgres(app: Flask) -> bool:
    return not app.extensions["casefile_db"].is_sqlite


def append(app: Flask, count: int = 1, **overrides: Any) -> list[CustodyEntry]:
    """Append `count` entries, each in its own committed transaction, as production requests do."""
    entries = []
    for _ in range(count):
        with app.app_context(), session_scope() as s:
            fields: dict[str, Any] = {"actor": ledger.SYSTEM, "action": Action.NOTE, "case_id": None}
            fields.update(overrides)
            entries.append(ledger.record_custody(s, **fields))
    return entries


def all_entries(app: Flask) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(CustodyEntry).order_by(CustodyEntry.seq)))


def checkpoint(app: Flask, reason: str = "test") -> Checkpoint:
    with app.app_context(), session_scope() as s:
        return create_checkpoint(s, app.extensions["casefile_key"], reason)


def sth_of(cp: Checkpoint) -> SignedTreeHead:
    return SignedTreeHead(
        tree_size=cp.tree_size, root_hash=cp.root_hash, timestamp=cp.timestamp, signature=cp.signature, key_id=cp.key_id
    )


# --- appends --------------------------------------------------------------------------------------------------------


def test_appends_are_gapless_from_one_and_chained_from_genesis(app: Flask) -> None:
    case_id, evidence_id = uuid.uuid4(), uuid.uuid4()
    append(app, 2)
    append(
        app,
        1,
        actor=ledger.SYSTEM,
        action=Action.TRANSFERRED,
        case_id=case_id,
        evidence_id=evidence_id,
        sha256="ab" * 32,
        details={"from_party": "شاهد", "to_party": "Analyst ✓", "purpose": "review", "n": 3, "nested": {"b": [1, 2]}},
    )
    append(app, 2, case_id=case_id)

    entries = all_entries(app)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH == "0" * 64
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.entry_hash
    for entry in entries:
        # The stored hash is recomputable from the stored fields, after a real database round trip.
        assert entry_hash(ledger.entry_fields(entry)) == entry.entry_hash
        assert len(entry.entry_hash) == 64
    third = entries[2]
    assert (third.action, third.case_id, third.evidence_id, third.sha256) == (
        "transferred",
        case_id,
        evidence_id,
        "ab" * 32,
    )
    assert third.details["from_party"] == "شاهد"
    assert len({e.entry_hash for e in entries}) == 5

    with app.app_context(), session_scope() as s:
        head = ledger.head(s)
        assert head is not None and (head.seq, head.entry_hash) == (5, entries[-1].entry_hash)
        streamed = list(ledger.iter_entry_fields(s, batch=2))  # several keyset pages
        assert [f["seq"] for f in streamed] == [1, 2, 3, 4, 5]
        assert list(verify_chain(streamed)) == []
        assert [f["seq"] for f in ledger.iter_entry_fields(s, up_to=3)] == [1, 2, 3]


def test_an_append_that_rolls_back_leaves_no_hole(app: Flask) -> None:
    append(app, 2)
    with app.app_context(), pytest.raises(RuntimeError), session_scope() as s:
        ledger.record_custody(s, actor=ledger.SYSTEM, action=Action.NOTE, case_id=None)
        raise RuntimeError("the request failed after its ledger write")
    append(app, 1)
    entries = all_entries(app)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[2].prev_hash == entries[1].entry_hash
    with app.app_context(), session_scope() as s:
        assert list(verify_chain(ledger.iter_entry_fields(s))) == []


def test_unknown_actions_are_refused_before_anything_is_written(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError), session_scope() as s:
        ledger.record_custody(s, actor=ledger.SYSTEM, action="rewritten", case_id=None)
    assert all_entries(app) == []


# --- the database refuses changes -----------------------------------------------------------------------------------


REFUSED = (
    "UPDATE custody_entries SET actor = 'user:someone-else' WHERE seq = 2",
    "UPDATE custody_entries SET details = '{}'",
    "DELETE FROM custody_entries WHERE seq = 3",
    "DELETE FROM custody_entries",
    "UPDATE custody_checkpoints SET root_hash = reason",
    "DELETE FROM custody_checkpoints",
)


def test_the_database_refuses_update_and_delete(app: Flask, raw_engine: Engine) -> None:
    append(app, 3, details={"k": "v"})
    checkpoint(app)
    before = [(e.seq, e.actor, e.details, e.entry_hash) for e in all_entries(app)]

    for statement in REFUSED:
        with pytest.raises(DBAPIError) as caught, raw_engine.begin() as conn:
            conn.execute(text(statement))
        assert "append-only" in str(caught.value), statement

    assert [(e.seq, e.actor, e.details, e.entry_hash) for e in all_entries(app)] == before
    with app.app_context(), session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Checkpoint)) == 1


def test_postgresql_also_refuses_truncate(app: Flask, raw_engine: Engine) -> None:
    append(app, 2)
    checkpoint(app)
    if not is_postgres(app):
        # SQLite has no TRUNCATE; its "DELETE FROM t" (the truncate optimisation) is refused above.
        with pytest.raises(DBAPIError) as caught, raw_engine.begin() as conn:
            conn.execute(text("DELETE FROM custody_entries"))
        assert "append-only" in str(caught.value)
        return
    for table in ("custody_entries", "custody_checkpoints"):
        # CASCADE: a plain TRUNCATE of the checkpoints may already be refused for the dossiers that reference them
        # (a foreign key); with CASCADE only the trigger stands in the way.
        with pytest.raises(DBAPIError) as caught, raw_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {table} CASCADE"))
        assert "append-only" in str(caught.value)
    assert len(all_entries(app)) == 2


def test_inserting_is_still_allowed_and_the_head_row_is_mutable(app: Flask, raw_engine: Engine) -> None:
    """Only history is frozen: the head row must stay updatable or no append could ever happen."""
    append(app, 1)
    append(app, 1)
    with raw_engine.connect() as conn:
        assert conn.execute(text("SELECT seq FROM custody_head")).scalar_one() == 2


# --- checkpoints and proofs -----------------------------------------------------------------------------------------


def test_checkpoint_signs_a_head_over_all_entry_hashes(app: Flask) -> None:
    append(app, 5)
    cp = checkpoint(app, "manual")
    entries = all_entries(app)
    key = app.extensions["casefile_key"]

    assert cp.tree_size == 5
    assert cp.reason == "manual"
    assert cp.key_id == key_id(key.public_pem)
    assert cp.root_hash == merkle_root(bytes.fromhex(e.entry_hash) for e in entries).hex()
    assert verify_tree_head(key.public_pem, sth_of(cp))

    # The signature covers the size, the root and the time.
    from dataclasses import replace

    assert not verify_tree_head(key.public_pem, replace(sth_of(cp), tree_size=4))
    assert not verify_tree_head(key.public_pem, replace(sth_of(cp), root_hash="0" * 64))
    assert not verify_tree_head(key.public_pem, replace(sth_of(cp), timestamp="2000-01-01T00:00:00.000000+00:00"))

    # Stored and read back, the checkpoint is what was signed.
    with app.app_context(), session_scope() as s:
        stored = s.scalars(select(Checkpoint)).one()
        assert verify_tree_head(key.public_pem, sth_of(stored))


def test_inclusion_and_consistency_proofs_verify_against_signed_heads(app: Flask) -> None:
    append(app, 7)
    first = checkpoint(app)
    append(app, 6)
    second = checkpoint(app)
    key = app.extensions["casefile_key"]
    assert (first.tree_size, second.tree_size) == (7, 13)
    assert verify_tree_head(key.public_pem, sth_of(first))
    assert verify_tree_head(key.public_pem, sth_of(second))

    leaves = [bytes.fromhex(e.entry_hash) for e in all_entries(app)]
    assert len(leaves) == 13
    first_root, second_root = hash_from_hex(first.root_hash), hash_from_hex(second.root_hash)
    tree = MerkleTree(leaves)
    assert tree.root() == second_root and tree.root(7) == first_root

    for index, leaf in enumerate(leaves):
        proof = inclusion_proof(leaves, index)
        assert proof == tree.inclusion_proof(index)
        assert verify_inclusion(leaf, index, 13, proof, second_root), index
    for index, leaf in enumerate(leaves[:7]):
        proof = inclusion_proof(leaves[:7], index)
        assert verify_inclusion(leaf, index, 7, proof, first_root), index
        assert not verify_inclusion(leaf, index, 7, proof, second_root)

    proof = consistency_proof(leaves, 7, 13)
    assert proof == tree.consistency_proof(7, 13)
    assert verify_consistency(7, 13, first_root, second_root, proof)


def test_a_checkpoint_waits_for_concurrent_appends_and_names_one_exact_state(app: Flask) -> None:
    """The checkpoint holds the head lock: entries committed before it are all covered, later ones are not."""
    append(app, 3)
    cp1 = checkpoint(app)
    append(app, 2)
    cp2 = checkpoint(app)
    cp3 = checkpoint(app)  # nothing appended in between: same size, same root
    assert (cp1.tree_size, cp2.tree_size, cp3.tree_size) == (3, 5, 5)
    assert cp2.root_hash == cp3.root_hash
    leaves = [bytes.fromhex(e.entry_hash) for e in all_entries(app)]
    assert cp1.root_hash == merkle_root(leaves[:3]).hex()


# --- the fixity badge ------------------------------------------------------------------------------------------------


def test_last_fixity_returns_the_latest_fixity_entry_per_item_in_one_query(app: Flask) -> None:
    case_id = uuid.uuid4()
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    sha = "cd" * 32

    def entry(evidence_id: uuid.UUID, action: Action, **kw: Any) -> None:
        append(app, 1, action=action, case_id=case_id, evidence_id=evidence_id, sha256=sha, **kw)

    entry(a, Action.INGESTED)
    entry(a, Action.FIXITY_VERIFIED)
    entry(b, Action.INGESTED)
    entry(a, Action.FIXITY_FAILED, details={"found": "ef" * 32})
    entry(b, Action.FIXITY_FAILED, details={"found": "ef" * 32})
    entry(b, Action.FIXITY_VERIFIED)
    entry(a, Action.VIEWED)  # not a fixity entry: must not become the badge
    entry(b, Action.DOWNLOADED)
    entry(c, Action.INGESTED)  # never verified
    entry(d, Action.FIXITY_VERIFIED)  # not asked for
    by_seq = {e.seq: e for e in all_entries(app)}

    engine = app.extensions["casefile_db"].engine
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(statement)

    with app.app_context(), session_scope() as s:
        s.execute(text("SELECT 1"))  # open the transaction first: BEGIN is not the query under test
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            badges = last_fixity(s, [a, b, c])
        finally:
            event.remove(engine, "before_cursor_execute", count)
        result = {item: (e.seq, e.action) for item, e in badges.items()}

    assert len(statements) == 1, statements
    assert set(result) == {a, b}
    assert result[a] == (4, "fixity_failed")
    assert result[b] == (6, "fixity_verified")
    assert by_seq[4].evidence_id == a and by_seq[6].evidence_id == b

    with app.app_context(), session_scope() as s:
        assert last_fixity(s, []) == {}
        assert last_fixity(s, [c]) == {}


def test_a_value_the_application_never_writes_is_not_hashed_as_stored() -> None:
    """The walk's fast path (ledger.body_reader) declines a row it cannot put in canonical form exactly, and the field
    by field path then names it; it never raises."""
    row = (7, "2026-01-01T00:00:00.000000+00:00", "system", "note", None, None, None, '{"a":1}', "0" * 64, "f" * 64)
    assert ledger._body(row) == (
        b'{"action":"note","actor":"system","at":"2026-01-01T00:00:00.000000+00:00","case_id":null,"details":{"a":1},'
        b'"evidence_id":null,"prev_hash":"' + b"0" * 64 + b'","seq":7,"sha256":null}'
    )
    for changed in ((*row[:2], "\ud800", *row[3:]), (*row[:2], 7, *row[3:]), ("7", *row[1:]), (True, *row[1:])):
        assert ledger._body(changed) is None
