"""Tamper with a real instance the way an insider with database or storage access could, then verify: verification
must FAIL and NAME the problem precisely (DESIGN §4: entry seq, ERN, expected vs found).

Ledger rows are changed with the append-only triggers bypassed (SQLite: the trigger dropped; PostgreSQL:
`session_replication_role = replica`), since the triggers only stop accidents; the hash chain, the ledger head and
the signed checkpoints are what make tampering evident.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import JSON, Engine, Text, bindparam, cast, create_engine, pool, select, text

from casefile.custody import ledger
from casefile.custody.chain import canonical_bytes, canonical_text, seal_entry
from casefile.custody.merkle import (
    MerkleTree,
    consistency_proof,
    hash_from_hex,
    inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.services import create_checkpoint, run_verification
from casefile.custody.verify import Problem, VerifyReport
from casefile.db import UTCDateTime, get_database, session_scope
from casefile.storage import LocalBlobStore

from support import Account, Api, upload

# --- an instance to tamper with ---------------------------------------------------------------------------------


@dataclass
class Instance:
    app: Flask
    api: Api
    case_id: uuid.UUID
    items: list[dict[str, Any]]  # API representations (id, ern, sha256, ...)
    raw: Engine

    # -- reading and verifying --

    def verify(self, **kw: Any) -> VerifyReport:
        """A full verification run (which also records each item's fixity result in the ledger)."""
        with self.app.app_context(), session_scope() as s, get_database().read_sessionmaker() as read_session:
            return run_verification(
                s,
                read_session,
                self.app.extensions["casefile_blobs"],
                self.app.extensions["casefile_key"],
                ledger.SYSTEM,
                **kw,
            )

    def fields(self) -> list[dict[str, Any]]:
        with self.app.app_context(), session_scope() as s:
            return list(ledger.iter_entry_fields(s))

    def checkpoint(self) -> Checkpoint:
        with self.app.app_context(), session_scope() as s:
            return create_checkpoint(s, self.app.extensions["casefile_key"], "test")

    def checkpoints(self) -> list[Checkpoint]:
        with self.app.app_context(), session_scope() as s:
            return list(s.scalars(select(Checkpoint).order_by(Checkpoint.id)))

    @property
    def store(self) -> Any:
        return self.app.extensions["casefile_blobs"]

    # -- tampering --

    def tamper(self, *statements: Any, **params: Any) -> None:
        """Run SQL with the append-only triggers out of the way, in one transaction. A statement is SQL text (run
        with `params`) or a (SQL text, its own params) pair."""
        with self.raw.begin() as conn:
            if self.raw.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:  # an insider with the file drops every trigger
                for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
            for statement in statements:
                sql, values = statement if isinstance(statement, tuple) else (statement, params)
                conn.execute(text(sql) if isinstance(sql, str) else sql, values)

    def flip_blob_byte(self, sha256: str, offset: int = 0) -> str:
        """Flip one bit of a stored blob in place; return the SHA-256 of what is now stored."""
        store = self.store
        if isinstance(store, LocalBlobStore):
            path = store.path_for(sha256)
            os.chmod(path, 0o600)  # blobs are stored read-only
            with open(path, "rb") as f:
                data = bytearray(f.read())
            data[offset] ^= 0x01
            with open(path, "wb") as f:
                f.write(data)
        else:
            key = store.key_for(sha256)
            data = bytearray(store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read())
            data[offset] ^= 0x01
            store.client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
        with store.open(sha256) as f:
            assert f.read() == bytes(data)
        return hashlib.sha256(data).hexdigest()


@pytest.fixture
def instance(
    app: Flask,
    database_url: str,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> Iterator[Instance]:
    """Three items, each ingested and then viewed: ledger entries 1-3 are ingests, 4-6 views."""
    api, owner = api_for("investigator")
    case_id = make_case(owner, "TAMP")
    items = [upload(api, case_id, f"exhibit {n}: statement of witness W{n}\n".encode()) for n in range(3)]
    for item in items:
        assert api.get(f"/evidence/{item['id']}").status_code == 200
    raw = create_engine(database_url, poolclass=pool.NullPool)
    yield Instance(app, api, case_id, items, raw)
    raw.dispose()


def kinds(report: VerifyReport) -> list[str]:
    return [p.kind for p in report.problems]


def only(report: VerifyReport, kind: str) -> Problem:
    assert not report.ok
    assert kinds(report) == [kind], [p.message for p in report.problems]
    return report.problems[0]


def test_the_untouched_instance_verifies(instance: Instance) -> None:
    report = instance.verify()
    assert report.ok, [p.message for p in report.problems]
    assert (report.checked, report.items_checked) == (6, 3)
    instance.checkpoint()
    report = instance.verify()
    assert report.ok, [p.message for p in report.problems]
    assert (report.checked, report.checkpoints_checked, report.items_checked) == (9, 1, 3)


# --- the stored files -----------------------------------------------------------------------------------------------


def test_a_flipped_byte_in_a_stored_file_is_a_fixity_problem_naming_the_ern(instance: Instance) -> None:
    victim = instance.items[1]
    found = instance.flip_blob_byte(victim["sha256"], offset=5)

    report = instance.verify()
    problem = only(report, "fixity")
    assert problem.ern == victim["ern"]
    assert (problem.expected, problem.found) == (victim["sha256"], found)
    assert victim["ern"] in problem.message
    assert victim["sha256"] in problem.message and found in problem.message
    assert [(r.ern, r.ok) for r in report.fixity] == [(i["ern"], i is not victim) for i in instance.items]

    # The result is itself recorded: fixity_failed (with what was found) for the victim, verified for the others.
    tail = instance.fields()[-3:]
    by_item = {f["evidence_id"]: f for f in tail}
    assert by_item[victim["id"]]["action"] == "fixity_failed"
    assert by_item[victim["id"]]["details"] == {"found": found}
    assert by_item[victim["id"]]["sha256"] == victim["sha256"]
    assert sorted(f["action"] for f in tail) == ["fixity_failed", "fixity_verified", "fixity_verified"]

    # Without fixity the chain alone is intact; limited to nothing of this case, the file is not re-hashed.
    assert instance.verify(fixity=False).ok
    assert instance.verify(case_ids={uuid.uuid4()}).ok


# --- ledger rows ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["actor", "details", "canonical details", "sha256"])
def test_a_changed_ledger_row_is_a_hash_mismatch_at_exactly_its_seq(instance: Instance, field: str) -> None:
    seq = 4
    before = instance.fields()[seq - 1]
    if field == "actor":
        instance.tamper("UPDATE custody_entries SET actor = 'user:someone-else' WHERE seq = :seq", seq=seq)
    elif field == "canonical details":  # in the very form the application writes, which the walk hashes as stored
        field = "details"
        instance.tamper(
            "UPDATE custody_entries SET details = :details WHERE seq = :seq",
            details=canonical_text({**before["details"], "via": "nowhere"}),
            seq=seq,
        )
    elif field == "details":
        instance.tamper(
            text("UPDATE custody_entries SET details = :details WHERE seq = :seq").bindparams(
                bindparam("details", type_=JSON)
            ),
            details={**before["details"], "via": "nowhere"},
            seq=seq,
        )
    else:
        instance.tamper("UPDATE custody_entries SET sha256 = :sha WHERE seq = :seq", sha="00" * 32, seq=seq)
    assert instance.fields()[seq - 1][field] != before[field]

    report = instance.verify(fixity=False)
    problems = [p for p in report.problems if p.kind != "item_hash_changed"]
    assert [(p.kind, p.seq) for p in problems] == [("hash_mismatch", seq)], [p.message for p in report.problems]
    assert problems[0].found == before["entry_hash"]
    assert f"entry {seq}" in problems[0].message
    if field == "sha256":
        # The row now also contradicts the evidence record.
        (changed,) = [p for p in report.problems if p.kind == "item_hash_changed"]
        assert changed.seq == seq and changed.ern == instance.items[0]["ern"]


def test_a_row_shifted_by_one_microsecond_is_a_hash_mismatch(instance: Instance) -> None:
    # The walk reads `at` as the database renders it (casefile.custody.ledger._hashed_columns): the rendering must
    # keep every digit that was hashed.
    seq = 3
    before = instance.fields()[seq - 1]
    moved = datetime.fromisoformat(before["at"]) + timedelta(microseconds=1)
    instance.tamper(
        text("UPDATE custody_entries SET at = :at WHERE seq = :seq").bindparams(bindparam("at", type_=UTCDateTime())),
        at=moved,
        seq=seq,
    )
    assert instance.fields()[seq - 1]["at"] == moved.isoformat(timespec="microseconds")
    report = instance.verify(fixity=False)
    assert [(p.kind, p.seq) for p in report.problems] == [("hash_mismatch", seq)]


def test_a_row_the_application_could_not_have_written_is_named_not_a_crash(instance: Instance) -> None:
    # An insider with the database file can store anything its column allows: text that is not JSON and an id that is
    # not a UUID on SQLite; on PostgreSQL, JSON that is not an object. Verification names the entry and goes on.
    seq = 4
    if instance.raw.dialect.name == "sqlite":
        instance.tamper(
            "UPDATE custody_entries SET details = '{not json', case_id = 'not-a-uuid' WHERE seq = :seq", seq=seq
        )
        assert instance.fields()[seq - 1]["details"] == "{not json"
    else:
        instance.tamper("UPDATE custody_entries SET details = '[1, 2]' WHERE seq = :seq", seq=seq)
        assert instance.fields()[seq - 1]["details"] == [1, 2]
    report = instance.verify(fixity=False)
    assert [(p.kind, p.seq) for p in report.problems] == [("hash_mismatch", seq)], [m.message for m in report.problems]


def test_a_changed_row_whose_hash_is_recomputed_breaks_the_next_link(instance: Instance) -> None:
    seq = 3
    row = instance.fields()[seq - 1]
    forged = seal_entry({**row, "actor": "user:someone-else"})
    instance.tamper(
        "UPDATE custody_entries SET actor = :actor, entry_hash = :hash WHERE seq = :seq",
        actor=forged["actor"],
        hash=forged["entry_hash"],
        seq=seq,
    )

    problem = only(instance.verify(fixity=False), "broken_link")
    assert problem.seq == seq + 1
    assert (problem.expected, problem.found) == (forged["entry_hash"], row["entry_hash"])


def test_a_rewritten_chain_tail_with_a_matching_head_is_caught_by_the_signed_checkpoint(instance: Instance) -> None:
    """The attacker rewrites entry 2 and re-seals every later entry and the head: the chain is self-consistent, but
    a signed checkpoint over the original entries no longer matches."""
    cp = instance.checkpoint()
    rows = instance.fields()
    prev = rows[0]["entry_hash"]
    rewrite = "UPDATE custody_entries SET actor = :actor, prev_hash = :prev, entry_hash = :hash WHERE seq = :seq"
    statements: list[tuple[str, dict[str, Any]]] = []
    for row in rows[1:]:
        changes = {"prev_hash": prev, **({"actor": "user:someone-else"} if row["seq"] == 2 else {})}
        forged = seal_entry({**row, **changes})
        statements.append(
            (rewrite, {"actor": forged["actor"], "prev": prev, "hash": forged["entry_hash"], "seq": row["seq"]})
        )
        prev = forged["entry_hash"]
    statements.append(("UPDATE custody_head SET entry_hash = :hash", {"hash": prev}))
    instance.tamper(*statements)

    report = instance.verify(fixity=False)
    problem = only(report, "checkpoint_root")
    assert problem.seq == cp.tree_size == len(rows)
    assert problem.expected == cp.root_hash and problem.found != cp.root_hash


def test_a_row_deleted_in_the_middle_is_a_gap_naming_it(instance: Instance) -> None:
    instance.tamper("DELETE FROM custody_entries WHERE seq = 3")
    report = instance.verify(fixity=False)
    assert kinds(report) == ["gap", "item_unrecorded"], [p.message for p in report.problems]
    problem = report.problems[0]
    assert problem.seq == 4
    assert "entry 3 missing" in problem.message
    assert problem.expected == "3"
    # Entry 3 was the third item's ingest: the item now has no record of how it came in.
    unrecorded = report.problems[1]
    assert unrecorded.ern == instance.items[2]["ern"] and unrecorded.found == instance.items[2]["sha256"]


@pytest.mark.parametrize("checkpointed", [False, True])
def test_deleting_the_last_rows_is_a_head_mismatch_and_beyond_the_checkpoint(
    instance: Instance, checkpointed: bool
) -> None:
    if checkpointed:
        cp = instance.checkpoint()
        assert cp.tree_size == 6
    instance.tamper("DELETE FROM custody_entries WHERE seq >= 5")
    report = instance.verify(fixity=False)
    expected = ["head_mismatch", "checkpoint_beyond_ledger"] if checkpointed else ["head_mismatch"]
    assert kinds(report) == expected, [p.message for p in report.problems]
    head_problem = report.problems[0]
    assert head_problem.seq == 4
    assert "entry 6" in head_problem.message and "entry 4" in head_problem.message
    if checkpointed:
        beyond = report.problems[1]
        assert (beyond.expected, beyond.found) == ("6", "4")


def test_truncation_hidden_by_rewinding_the_head_is_still_caught_by_the_checkpoint(instance: Instance) -> None:
    instance.checkpoint()
    rows = instance.fields()
    instance.tamper(
        "DELETE FROM custody_entries WHERE seq >= 5",
        ("UPDATE custody_head SET seq = 4, entry_hash = :hash", {"hash": rows[3]["entry_hash"]}),
    )
    assert kinds(instance.verify(fixity=False)) == ["checkpoint_beyond_ledger"]


def test_a_forged_entry_appended_behind_the_heads_back_is_a_head_mismatch(instance: Instance) -> None:
    """INSERT is allowed (the ledger grows): a correctly chained extra row still contradicts the head row."""
    last = instance.fields()[-1]
    forged = seal_entry({**last, "seq": 7, "prev_hash": last["entry_hash"], "action": "note", "details": {}})
    instance.tamper(
        text(
            "INSERT INTO custody_entries (seq, at, actor, action, case_id, evidence_id, sha256, details, prev_hash, "
            "entry_hash) SELECT 7, at, actor, 'note', case_id, evidence_id, sha256, :details, :prev, :hash "
            "FROM custody_entries WHERE seq = 6"
        ).bindparams(bindparam("details", type_=JSON)),
        details={},
        prev=last["entry_hash"],
        hash=forged["entry_hash"],
    )
    assert [f["seq"] for f in instance.fields()] == [1, 2, 3, 4, 5, 6, 7]
    assert kinds(instance.verify(fixity=False)) == ["head_mismatch"]


# --- evidence records ----------------------------------------------------------------------------------------------


def test_a_changed_evidence_hash_is_named_by_ern_and_its_blob_is_missing(instance: Instance) -> None:
    victim = instance.items[2]
    new_hash = hashlib.sha256(b"a different file altogether").hexdigest()
    instance.tamper("UPDATE evidence_items SET sha256 = :sha WHERE ern = :ern", sha=new_hash, ern=victim["ern"])

    report = instance.verify()
    changed = [p for p in report.problems if p.kind == "item_hash_changed"]
    assert changed, [p.message for p in report.problems]
    by_seq = {f["seq"]: f for f in instance.fields()}
    for problem in changed:
        assert problem.ern == victim["ern"] and victim["ern"] in problem.message
        assert (problem.expected, problem.found) == (victim["sha256"], new_hash)
        assert by_seq[problem.seq]["evidence_id"] == victim["id"]
    # Both entries about the item (its ingest and its view) contradict the record.
    assert sorted(p.seq for p in changed) == [3, 6]
    missing = [p for p in report.problems if p.kind == "blob_missing"]
    assert [(p.ern, p.expected) for p in missing] == [(victim["ern"], new_hash)]
    assert set(kinds(report)) == {"item_hash_changed", "blob_missing"}


# --- checkpoints ----------------------------------------------------------------------------------------------------


def test_a_forged_checkpoint_signature_is_named(instance: Instance) -> None:
    import base64

    cp = instance.checkpoint()
    signature = bytearray(base64.b64decode(cp.signature))
    signature[10] ^= 0x80
    forged = base64.b64encode(bytes(signature)).decode()
    instance.tamper("UPDATE custody_checkpoints SET signature = :sig WHERE id = :id", sig=forged, id=cp.id)

    problem = only(instance.verify(fixity=False), "checkpoint_signature")
    assert problem.seq == cp.tree_size
    assert f"checkpoint {cp.id}" in problem.message


def test_a_forged_checkpoint_root_is_named(instance: Instance) -> None:
    cp = instance.checkpoint()
    forged_root = hashlib.sha256(b"another history").hexdigest()
    instance.tamper("UPDATE custody_checkpoints SET root_hash = :root WHERE id = :id", root=forged_root, id=cp.id)

    report = instance.verify(fixity=False)
    assert sorted(kinds(report)) == ["checkpoint_root", "checkpoint_signature"], [p.message for p in report.problems]
    (root_problem,) = [p for p in report.problems if p.kind == "checkpoint_root"]
    assert root_problem.expected == forged_root and root_problem.found == cp.root_hash
    assert forged_root in root_problem.message and cp.root_hash in root_problem.message


def test_a_checkpoint_signed_by_another_key_is_refused(instance: Instance) -> None:
    from casefile.custody.signing import generate_private_key_pem, load_private_key, sign_tree_head

    cp = instance.checkpoint()
    other = sign_tree_head(load_private_key(generate_private_key_pem()), cp.tree_size, cp.root_hash, cp.timestamp)
    instance.tamper(
        "UPDATE custody_checkpoints SET signature = :sig, key_id = :kid WHERE id = :id",
        sig=other.signature,
        kid=other.key_id,
        id=cp.id,
    )
    assert kinds(instance.verify(fixity=False)) == ["checkpoint_signature"]


# --- forged proofs --------------------------------------------------------------------------------------------------


def flipped(value: bytes, index: int = 0) -> bytes:
    out = bytearray(value)
    out[index] ^= 0x01
    return bytes(out)


def test_forged_inclusion_and_consistency_proofs_are_rejected(instance: Instance) -> None:
    first = instance.checkpoint()
    instance.verify()  # three fixity entries
    for item in instance.items:
        assert instance.api.get(f"/evidence/{item['id']}").status_code == 200
    second = instance.checkpoint()
    leaves = [bytes.fromhex(f["entry_hash"]) for f in instance.fields()]
    assert (first.tree_size, second.tree_size, len(leaves)) == (6, 12, 12)
    old_root, new_root = hash_from_hex(first.root_hash), hash_from_hex(second.root_hash)
    size = second.tree_size
    assert MerkleTree(leaves).root() == new_root

    index = 4
    leaf, proof = leaves[index], inclusion_proof(leaves, index)
    assert verify_inclusion(leaf, index, size, proof, new_root)
    for position in range(len(proof)):
        forged = list(proof)
        forged[position] = flipped(forged[position], position)
        assert not verify_inclusion(leaf, index, size, forged, new_root), position
    assert not verify_inclusion(flipped(leaf, 31), index, size, proof, new_root)
    assert not verify_inclusion(leaves[index + 1], index, size, proof, new_root)  # another entry's hash
    for wrong_index in (index - 1, index + 1, index + 8, size, -1):
        assert not verify_inclusion(leaf, wrong_index, size, proof, new_root), wrong_index
    # A size enters the check through the shape of the path (the signed head binds size and root together), so the
    # wrong sizes here are ones whose tree puts leaf 4 at another depth.
    for wrong_size in (index + 1, 8, 17, 2 * size, index, 0):
        assert not verify_inclusion(leaf, index, wrong_size, proof, new_root), wrong_size
    assert not verify_inclusion(leaf, index, size, proof[:-1], new_root)  # truncated
    assert not verify_inclusion(leaf, index, size, [*proof, proof[0]], new_root)  # extended
    assert not verify_inclusion(leaf, index, size, proof, old_root)  # the wrong signed head
    assert not verify_inclusion(leaf, index, size, proof, flipped(new_root))

    proof = consistency_proof(leaves, first.tree_size, size)
    assert verify_consistency(first.tree_size, size, old_root, new_root, proof)
    for position in range(len(proof)):
        forged = list(proof)
        forged[position] = flipped(forged[position], 7)
        assert not verify_consistency(first.tree_size, size, old_root, new_root, forged), position
    for old_size, new_size in ((4, size), (5, size), (7, size), (first.tree_size, 8), (first.tree_size, 17)):
        assert not verify_consistency(old_size, new_size, old_root, new_root, proof), (old_size, new_size)
    assert not verify_consistency(first.tree_size, size, new_root, old_root, proof)  # roots swapped
    assert not verify_consistency(first.tree_size, size, flipped(old_root), new_root, proof)
    assert not verify_consistency(first.tree_size, size, old_root, flipped(new_root), proof)
    assert not verify_consistency(first.tree_size, size, old_root, new_root, proof[:-1])
    assert not verify_consistency(first.tree_size, size, old_root, new_root, [])

    # A rewritten history cannot be proven consistent with the old signed head.
    rewritten = [*leaves[:2], hashlib.sha256(b"forged entry").digest(), *leaves[3:]]
    forged_proof = consistency_proof(rewritten, first.tree_size, size)
    assert not verify_consistency(first.tree_size, size, old_root, new_root, forged_proof)
    assert not verify_consistency(first.tree_size, size, old_root, MerkleTree(rewritten).root(), forged_proof)


def test_details_are_stored_as_the_text_their_hash_covers(instance: Instance) -> None:
    """The application writes JSON in canonical form, so the walk hashes each entry as stored (ledger.body_reader):
    for every entry that text is exactly the canonical encoding of its hashed fields."""
    response = instance.api.post(
        f"/evidence/{instance.items[0]['id']}/custody",
        json={"from_party": "Field team «A»", "to_party": "مختبر الأدلة", "purpose": "analysis ✓", "note": "🙂"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    with instance.app.app_context(), session_scope() as s:
        body_of, fields_of = ledger.body_reader(s), ledger.fields_reader(s)
        rows = [row for batch in ledger.entry_rows(s, batch=4) for row in batch]
        stored = s.execute(select(cast(CustodyEntry.details, Text)).order_by(CustodyEntry.seq)).scalars().all()
    assert len(rows) == len(stored) >= 7
    for row, details in zip(rows, stored, strict=True):
        fields = fields_of(row)
        assert details == canonical_text(fields["details"])
        body = canonical_bytes({k: v for k, v in fields.items() if k != "entry_hash"})
        assert body_of(row) == body and hashlib.sha256(body).hexdigest() == fields["entry_hash"]


def test_entries_whose_details_were_stored_otherwise_still_verify(instance: Instance) -> None:
    """Entries written before details were stored canonically (json.dumps' default spacing, key order and escapes)
    are not hashed as stored: each is parsed and re-encoded, and the ledger is intact as before. The same for one
    rewritten so by whoever has the database: the text changed, what was signed did not."""
    fields = instance.fields()
    for entry in fields:
        reordered = dict(reversed(list(entry["details"].items())))
        instance.tamper(
            "UPDATE custody_entries SET details = :details WHERE seq = :seq",
            details=json.dumps(reordered) + " ",
            seq=entry["seq"],
        )
    with instance.app.app_context(), session_scope() as s:
        body_of = ledger.body_reader(s)
        rows = [row for batch in ledger.entry_rows(s) for row in batch]
    assert all(hashlib.sha256(body_of(row) or b"").hexdigest() != row[9] for row in rows)  # not as stored
    assert instance.fields() == fields
    report = instance.verify(fixity=False)
    assert report.ok and report.checked >= len(fields), [p.message for p in report.problems]


def test_details_stored_by_the_database_are_exactly_what_was_hashed(instance: Instance) -> None:
    """The canonical form survives the JSON column on both engines (no re-ordering or re-spelling breaks hashes)."""
    item = instance.items[0]
    response = instance.api.post(
        f"/evidence/{item['id']}/custody",
        json={"from_party": "Field team «A»", "to_party": "مختبر الأدلة", "purpose": "analysis ✓", "note": "🙂"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    with instance.app.app_context(), session_scope() as s:
        entry = s.scalars(select(CustodyEntry).order_by(CustodyEntry.seq.desc()).limit(1)).one()
        assert entry.details["to_party"] == "مختبر الأدلة"
    raw_details = instance.fields()[-1]["details"]
    assert json.loads(json.dumps(raw_details)) == raw_details
    assert instance.verify(fixity=False).ok
