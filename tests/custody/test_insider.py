"""An insider with the database and the disk (issue: "nothing silently altered"), on SQLite and PostgreSQL.

Each attack from the operators' report is reproduced and must be refused by the database, or detected and named by
`custody verify`, or survived by `fsck`:

- deleting an evidence row, a link, a witness or a statement: refused; with the triggers out of the way, verify
  names the item (`item_missing`), and fsck never collects its file;
- rewinding the ledger head: refused; truncating the tail, re-hashing the chain and re-signing or deleting every
  checkpoint: verify against the tree heads published outside the instance names it;
- reordering two entries: one `reordered` problem, not five hash problems.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from casefile.config import Settings
from casefile.custody import ledger
from casefile.custody.chain import seal_entry
from casefile.custody.merkle import hash_from_hex, proof_from_hex, verify_consistency
from casefile.custody.signing import SignedTreeHead, sign_tree_head, verify_tree_head
from casefile.custody.verify import verify_ledger
from casefile.db import session_scope

from support import Account, Api, run_queued_jobs, upload

# --- an instance with a witness ---------------------------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings, with checkpoints copied outside the instance: to a folder beside local storage, to a
    bucket of the same S3 endpoint beside S3 storage."""
    if settings.storage_url.startswith("s3://"):
        bucket = request.getfixturevalue("make_bucket")()
        return settings.with_overrides(checkpoint_witness=f"s3://{bucket}/casefile/heads")
    return settings.with_overrides(checkpoint_witness=str(tmp_path / "witness"))


class World:
    def __init__(self, app: Flask, api: Api, owner: Account, case_id: uuid.UUID, raw: Engine) -> None:
        self.app, self.api, self.owner, self.case_id, self.raw = app, api, owner, case_id, raw
        self.incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Tarhouna, mass grave 1"}).get_json()
        witness = api.post(f"/cases/{case_id}/witnesses", json={"full_name": "Insider Test Witness"})
        assert witness.status_code == 201
        self.witness = witness.get_json()
        self.items = [upload(api, case_id, f"exhibit {n}\n".encode(), f"exhibit-{n}.txt") for n in range(3)]
        from io import BytesIO

        testimony = api.post(
            f"/cases/{case_id}/evidence",
            data={
                "file": (BytesIO(b"statement of the witness\n"), "statement.txt"),
                "title": "Statement",
                "kind": "testimony",
                "witness_id": self.witness["id"],
                "incident_ids": self.incident["id"],
            },
            content_type="multipart/form-data",
        )
        assert testimony.status_code == 201, testimony.get_data(as_text=True)
        self.testimony = testimony.get_json()

    def cli(self, *args: str) -> Any:
        return self.app.test_cli_runner().invoke(args=list(args))

    def tamper(self, *statements: str | tuple[str, dict[str, Any]]) -> None:
        """SQL with every trigger out of the way, as the owner of the database can."""
        with self.raw.begin() as conn:
            if self.raw.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                    conn.execute(text(f'DROP TRIGGER "{name}"'))
            for statement in statements:
                sql, values = statement if isinstance(statement, tuple) else (statement, {})
                conn.execute(text(sql), values)

    def entries(self) -> list[dict[str, Any]]:
        with self.app.app_context(), session_scope() as s:
            return list(ledger.iter_entry_fields(s))


@pytest.fixture
def world(
    app: Flask, raw_engine: Engine, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., Any]
) -> World:
    api, owner = api_for("investigator")
    return World(app, api, owner, make_case(owner, "INS"), raw_engine)


def problems(result: Any) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("PROBLEM ")]


# --- rows are never deleted ------------------------------------------------------------------------------------------


def test_the_database_refuses_to_delete_evidence_links_witnesses_and_statements(world: World) -> None:
    ern = world.items[0]["ern"]
    statements = [
        f"DELETE FROM evidence_items WHERE ern = '{ern}'",  # noqa: S608 - an ERN the test made
        "DELETE FROM evidence_links",
        "DELETE FROM witnesses",
        "DELETE FROM witness_statements",
    ]
    if world.raw.dialect.name == "postgresql":
        statements += [f"TRUNCATE {t} CASCADE" for t in ("evidence_items", "evidence_links", "witnesses")]
    for statement in statements:
        with pytest.raises(DBAPIError) as refused, world.raw.begin() as conn:
            conn.execute(text(statement))
        assert "never deleted" in str(refused.value), statement
    assert world.api.get(f"/evidence/{world.items[0]['id']}").status_code == 200
    assert world.api.get(f"/evidence/{world.testimony['id']}").get_json()["links"]


def test_removing_a_link_is_a_recorded_state_change(world: World) -> None:
    item = world.testimony
    (link,) = world.api.get(f"/evidence/{item['id']}").get_json()["links"]
    assert world.api.delete(f"/evidence/{item['id']}/links/{link['id']}").status_code == 204
    assert world.api.get(f"/evidence/{item['id']}").get_json()["links"] == []
    assert world.api.delete(f"/evidence/{item['id']}/links/{link['id']}").status_code == 404  # already removed
    with world.raw.connect() as conn:
        removed_at, removed_by = conn.execute(
            text("SELECT removed_at, removed_by_id FROM evidence_links WHERE id = :id"),
            {"id": link["id"] if world.raw.dialect.name == "postgresql" else uuid.UUID(link["id"]).hex},
        ).one()
    assert removed_at is not None and str(uuid.UUID(str(removed_by))) == str(world.owner.id)
    unlinked = [e for e in world.entries() if e["action"] == "unlinked"]
    assert [(e["evidence_id"], e["details"]["target_id"]) for e in unlinked] == [(item["id"], link["target_id"])]
    # Linking again makes a new link; the removed one stays on record.
    again = world.api.post(
        f"/evidence/{item['id']}/links", json={"target_type": "incident", "target_id": world.incident["id"]}
    )
    assert again.status_code == 201 and again.get_json()["id"] != link["id"]


def test_an_evidence_row_deleted_behind_the_apps_back_is_named_and_its_file_kept(world: World) -> None:
    victim = world.items[1]
    world.tamper(
        ("DELETE FROM evidence_items WHERE ern = :ern", {"ern": victim["ern"]}),
    )
    result = world.cli("custody", "verify")
    assert result.exit_code == 1, result.output
    (problem,) = problems(result)
    assert problem.startswith("PROBLEM item_missing: ") and victim["ern"] in problem and victim["sha256"] in problem
    # fsck would once have called the file an orphan and deleted it: the ledger names it, so it is kept.
    with world.app.app_context():
        fsck = world.cli("fsck", "--collect", "--min-age-days", "0")
    assert fsck.exit_code == 0, fsck.output
    assert "0 unreferenced blob(s)" in fsck.output
    assert world.app.extensions["casefile_blobs"].exists(victim["sha256"])


def test_an_evidence_row_renamed_or_unrecorded_is_named(world: World) -> None:
    renamed, unrecorded = world.items[0], world.items[2]
    first_ingest = next(e["seq"] for e in world.entries() if e["evidence_id"] == unrecorded["id"])
    world.tamper(
        ("UPDATE evidence_items SET ern = 'INS-99999' WHERE ern = :ern", {"ern": renamed["ern"]}),
    )
    result = world.cli("custody", "verify", "--no-fixity")
    assert result.exit_code == 1
    (problem,) = problems(result)
    assert problem.startswith("PROBLEM item_ern_changed: ") and renamed["ern"] in problem and "INS-99999" in problem
    # An item smuggled in with no ingest entry (here: its entry removed and the chain re-sealed around the hole).
    world.tamper(("UPDATE evidence_items SET ern = :ern WHERE ern = 'INS-99999'", {"ern": renamed["ern"]}))
    rechain(world, drop={first_ingest})
    result = world.cli("custody", "verify", "--no-fixity")
    kinds = [line.split(":")[0] for line in problems(result)]
    assert "PROBLEM item_unrecorded" in kinds, result.output


# --- the ledger head -------------------------------------------------------------------------------------------------


def test_the_head_only_advances_to_an_existing_entry(world: World) -> None:
    rows = world.entries()
    attempts = [
        ("UPDATE custody_head SET seq = :seq, entry_hash = :hash", {"seq": 2, "hash": rows[1]["entry_hash"]}),
        ("UPDATE custody_head SET seq = seq + 1, entry_hash = :hash", {"hash": "ab" * 32}),
        ("DELETE FROM custody_head", {}),
        ("INSERT INTO custody_head (id, seq, entry_hash) VALUES (2, 0, :hash)", {"hash": "0" * 64}),
    ]
    for sql, values in attempts:
        with pytest.raises(DBAPIError) as refused, world.raw.begin() as conn:
            conn.execute(text(sql), values)
        assert "casefile:" in str(refused.value), sql
    with world.raw.connect() as conn:
        assert conn.execute(text("SELECT seq FROM custody_head")).scalar_one() == len(rows)
    # Appends still move it forward.
    assert world.api.get(f"/evidence/{world.items[0]['id']}").status_code == 200
    with world.raw.connect() as conn:
        assert conn.execute(text("SELECT seq FROM custody_head")).scalar_one() == len(rows) + 1


# --- reordering ------------------------------------------------------------------------------------------------------


def test_two_swapped_entries_are_named_as_a_reorder(world: World) -> None:
    n = len(world.entries())
    a, b = n - 2, n - 1  # two entries with an entry after them
    world.tamper(
        ("UPDATE custody_entries SET seq = -1 WHERE seq = :a", {"a": a}),
        ("UPDATE custody_entries SET seq = :a WHERE seq = :b", {"a": a, "b": b}),
        ("UPDATE custody_entries SET seq = :b WHERE seq = -1", {"b": b}),
    )
    result = world.cli("custody", "verify", "--no-fixity")
    assert result.exit_code == 1
    assert problems(result) == [
        f"PROBLEM reordered: entries {a}–{b} were reordered: entry {b} is stored as {a}, entry {a} is stored as {b} "
        "(their content is intact)"
    ], result.output


# --- checkpoints that left the instance ------------------------------------------------------------------------------


def rechain(world: World, *, drop: set[int] = frozenset(), change: dict[int, dict[str, Any]] | None = None) -> None:
    """Rewrite the ledger as an insider with the signing key would: drop and change entries, renumber, re-hash every
    entry, point the head at the new end, and re-sign every checkpoint over the new chain (the key is in the same
    folder as the database). Only copies outside the instance are beyond reach."""
    rows = [r for r in world.entries() if r["seq"] not in drop]
    prev, sealed = "0" * 64, []
    for seq, row in enumerate(rows, start=1):
        body = {**row, **(change or {}).get(row["seq"], {}), "seq": seq, "prev_hash": prev}
        sealed.append(seal_entry(body))
        prev = sealed[-1]["entry_hash"]
    statements: list[str | tuple[str, dict[str, Any]]] = ["DELETE FROM custody_entries"]
    for row in sealed:
        statements.append(
            (
                "INSERT INTO custody_entries (seq, at, actor, action, case_id, evidence_id, sha256, details, "
                "prev_hash, entry_hash) VALUES (:seq, :at, :actor, :action, :case_id, :evidence_id, :sha256, "
                ":details, :prev_hash, :entry_hash)",
                {
                    **row,
                    "at": row["at"],
                    "details": json.dumps(row["details"]),
                    "case_id": _uuid_param(world, row["case_id"]),
                    "evidence_id": _uuid_param(world, row["evidence_id"]),
                },
            )
        )
    statements.append(("UPDATE custody_head SET seq = :seq, entry_hash = :hash", {"seq": len(sealed), "hash": prev}))
    world.tamper(*statements)
    # Re-sign: delete every checkpoint and sign one over the rewritten ledger with the instance key.
    key = world.app.extensions["casefile_key"]
    from casefile.custody.merkle import MerkleTree, hash_to_hex

    root = hash_to_hex(MerkleTree(bytes.fromhex(r["entry_hash"]) for r in sealed).root())
    sth = sign_tree_head(key.private, len(sealed), root, "2026-12-04T00:00:00.000000+00:00")
    world.tamper(
        "DELETE FROM custody_checkpoints",
        (
            "INSERT INTO custody_checkpoints (id, tree_size, root_hash, timestamp, signature, key_id, reason, "
            "created_at) VALUES (1, :size, :root, :ts, :sig, :kid, 'scheduled', CURRENT_TIMESTAMP)",
            {
                "size": sth.tree_size,
                "root": sth.root_hash,
                "ts": sth.timestamp,
                "sig": sth.signature,
                "kid": sth.key_id,
            },
        ),
    )


def _uuid_param(world: World, value: str | None) -> str | None:
    if value is None or world.raw.dialect.name == "postgresql":
        return value
    return uuid.UUID(value).hex  # SQLAlchemy's Uuid on SQLite: 32 hex digits


def test_a_checkpoint_is_published_to_the_witness_and_verify_checks_it(world: World) -> None:
    result = world.cli("custody", "checkpoint")
    assert result.exit_code == 0, result.output
    (published,) = [line for line in result.output.splitlines() if line.startswith("Published ")]
    assert published.startswith("Published tree-head-") and published.endswith(".json")
    verified = world.cli("custody", "verify", "--no-fixity")
    assert verified.exit_code == 0, verified.output
    assert "1 published tree heads" in verified.output
    # The next checkpoint publishes itself only: nothing is copied twice.
    again = world.cli("custody", "checkpoint")
    assert [line for line in again.output.splitlines() if line.startswith("Published ")] != [published]
    assert len([line for line in again.output.splitlines() if line.startswith("Published ")]) == 1
    assert "2 published tree heads" in world.cli("custody", "verify", "--no-fixity").output


def test_a_rewritten_and_resigned_ledger_is_caught_by_the_published_head(world: World) -> None:
    assert world.cli("custody", "checkpoint").exit_code == 0
    before = world.entries()
    viewed = next(e for e in before if e["action"] == "viewed" or e["action"] == "ingested")
    rechain(world, change={viewed["seq"]: {"details": {**viewed["details"], "original_filename": "forged.txt"}}})
    # The database alone is consistent again: chain, head and (re-signed) checkpoint all agree.
    with world.app.app_context(), session_scope() as s:
        alone = verify_ledger(s, None, world.app.extensions["casefile_key"].public_pem)
    assert alone.ok and alone.checkpoints_checked == 1, [p.message for p in alone.problems]
    result = world.cli("custody", "verify", "--no-fixity")
    assert result.exit_code == 1, result.output
    (problem,) = problems(result)
    assert problem.startswith("PROBLEM published_head_inconsistent: "), result.output
    assert f"({len(before)} entries" in problem


def test_a_truncated_ledger_with_its_checkpoints_deleted_is_caught_by_the_published_head(world: World) -> None:
    assert world.cli("custody", "checkpoint").exit_code == 0
    n = len(world.entries())
    rechain(world, drop={n - 1, n})
    result = world.cli("custody", "verify", "--no-fixity")
    assert result.exit_code == 1
    # The dropped entries were the testimony's ingest and its statement's: the item is named as unrecorded too.
    unrecorded, problem = problems(result)
    assert unrecorded.startswith("PROBLEM item_unrecorded: ") and world.testimony["ern"] in unrecorded
    assert problem.startswith("PROBLEM published_head_beyond_ledger: ")
    assert f"now holds only {n - 2} entries" in problem


def test_verify_against_a_tree_head_from_a_file_or_an_address(world: World, tmp_path: Path) -> None:
    assert world.cli("custody", "checkpoint").exit_code == 0
    head = world.cli("custody", "tree-head")
    assert head.exit_code == 0, head.output
    saved = tmp_path / "kept-by-the-lawyer" / "head.json"
    saved.parent.mkdir()
    saved.write_text(head.output)
    # More entries since: the ledger extends the saved head.
    assert world.api.get(f"/evidence/{world.items[0]['id']}").status_code == 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(saved.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/head.json"
        for source in (str(saved), url):
            result = world.cli("custody", "verify", "--no-fixity", "--against", source)
            assert result.exit_code == 0, result.output
            assert "2 published tree heads" in result.output  # the witness's copy and this one
        # A head that is not ours (another key) is named, not trusted.
        forged = json.loads(head.output)
        forged["tree_head"]["root_hash"] = "ab" * 32
        (saved.parent / "forged.json").write_text(json.dumps(forged))
        result = world.cli("custody", "verify", "--no-fixity", "--against", str(saved.parent / "forged.json"))
        assert result.exit_code == 1
        assert problems(result)[0].startswith("PROBLEM published_head_signature: ")
        # Not a tree head at all, or unreachable: verification could not run (exit 2), which is not "not intact".
        (saved.parent / "junk.json").write_text("[1, 2")
        (saved.parent / "huge.json").write_bytes(b" " * (1024 * 1024))  # read no further than a tree head can be
        sources = [saved.parent / "junk.json", saved.parent / "huge.json", tmp_path / "absent.json"]
        for source in [*map(str, sources), url + ".missing"]:
            result = world.cli("custody", "verify", "--no-fixity", "--against", source)
            assert result.exit_code == 2, (source, result.output)
            assert "NOT VERIFIED" in result.output and "Traceback" not in result.output
    finally:
        server.shutdown()
        server.server_close()


def test_consistency_proofs_over_the_api_verify_independently(world: World) -> None:
    assert world.cli("custody", "checkpoint").exit_code == 0
    first = world.api.get("/custody/tree-head").get_json()
    old = SignedTreeHead.from_dict(first["tree_head"])
    for n in range(3):
        assert world.api.get(f"/evidence/{world.items[n]['id']}").status_code == 200
    assert world.cli("custody", "checkpoint").exit_code == 0
    response = world.api.get(f"/custody/consistency?first={old.tree_size}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    new = SignedTreeHead.from_dict(body["tree_head"]["tree_head"])
    public = body["tree_head"]["public_key"].encode()
    assert verify_tree_head(public, old) and verify_tree_head(public, new)
    assert (body["first"], body["second"]) == (old.tree_size, new.tree_size) and new.tree_size == old.tree_size + 3
    assert body["first_root"] == old.root_hash and body["second_root"] == new.root_hash
    assert verify_consistency(
        old.tree_size,
        new.tree_size,
        hash_from_hex(old.root_hash),
        hash_from_hex(new.root_hash),
        proof_from_hex(body["proof"]),
    )
    # The same from the CLI.
    cli = world.cli("custody", "consistency", "--first", str(old.tree_size))
    assert cli.exit_code == 0 and json.loads(cli.output)["proof"] == body["proof"]
    # Bad sizes are a 422 naming the parameter, never a 500.
    for query, field in (
        ("first=abc", "first"),
        (f"first={new.tree_size + 1}", "first"),
        ("first=0&second=2", "second"),
    ):
        bad = world.api.get(f"/custody/consistency?{query}")
        assert bad.status_code == 422, (query, bad.get_data(as_text=True))
        assert field in bad.get_json()["error"]["message"]


# --- verification only reads ---------------------------------------------------------------------------------------


def test_verify_runs_on_a_read_only_copy_and_says_when_it_cannot_run(world: World, tmp_path: Path) -> None:
    before = len(world.entries())
    result = world.cli("custody", "verify")
    assert result.exit_code == 0, result.output
    assert len(world.entries()) == before  # reading only: no fixity entries unless --record
    if world.raw.dialect.name == "sqlite":
        # The database opened read-only, as a copy on write-protected media would be.
        path = world.raw.url.database
        ro = world.app.extensions["casefile_db"]
        from casefile.db import Database

        world.app.extensions["casefile_db"] = Database(f"sqlite:///file:{path}?mode=ro&uri=true")
        try:
            readonly = world.cli("custody", "verify")
            assert readonly.exit_code == 0, readonly.output
            recorded = world.cli("custody", "verify", "--record")
            assert recorded.exit_code == 2 and "NOT VERIFIED" in recorded.output, recorded.output
        finally:
            world.app.extensions["casefile_db"].dispose()
            world.app.extensions["casefile_db"] = ro
    # An unreachable database: could not run, exit 2.
    from casefile.db import Database

    saved = world.app.extensions["casefile_db"]
    unreachable = (
        "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
        if world.raw.dialect.name == "postgresql"
        else f"sqlite:///{tmp_path / 'no-such-dir' / 'casefile.db'}"
    )
    world.app.extensions["casefile_db"] = Database(unreachable)
    try:
        down = world.cli("custody", "verify")
    finally:
        world.app.extensions["casefile_db"].dispose()
        world.app.extensions["casefile_db"] = saved
    assert down.exit_code == 2 and "NOT VERIFIED" in down.output and "Traceback" not in down.output, down.output


def test_the_api_and_the_verification_job_check_the_published_heads_too(world: World) -> None:
    assert world.cli("custody", "checkpoint").exit_code == 0
    intact = world.api.get("/custody/verify").get_json()
    assert intact["ok"] and intact["published_checked"] == 1
    # An entry the published head covers is removed, the chain re-sealed and the checkpoints re-signed.
    removed = next(e["seq"] for e in world.entries() if e["action"] == "viewed" or e["seq"] == 2)
    rechain(world, drop={removed})
    report = world.api.get("/custody/verify").get_json()
    assert not report["ok"]
    assert "published_head_inconsistent" in [p["kind"] for p in report["problems"]]
    started = world.api.post("/custody/verifications", json={"case_id": str(world.case_id), "fixity": False})
    assert started.status_code == 202
    run_queued_jobs(world.app)
    job = world.api.get(f"/jobs/{started.get_json()['id']}").get_json()
    assert job["state"] == "succeeded", job
    assert job["result"]["published_checked"] == 1 and not job["result"]["ok"]
    assert "published_head_inconsistent" in [p["kind"] for p in job["result"]["problems"]]
