"""Verification and consistency checks as people run them (DESIGN §4, §8): `flask custody verify|checkpoint`,
`flask fsck`, `GET /api/v1/custody/verify` and the reviewers' web page. Exit status and output must say intact or
not, and every problem line must name what to look at (the ERN)."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from sqlalchemy import select

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.models import CustodyEntry
from casefile.custody.schemas import VERIFY_REPORT
from casefile.db import session_scope
from casefile.storage import LocalBlobStore

from support import Account, Api, flip_blob_byte, login, upload

# --- helpers --------------------------------------------------------------------------------------------------------


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def lines(result: Any, prefix: str) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith(prefix)]


def assert_intact(result: Any) -> str:
    assert result.exit_code == 0, result.output
    assert result.exception is None, repr(result.exception)
    (summary,) = lines(result, "INTACT: ")
    assert not lines(result, "PROBLEM") and "NOT INTACT" not in result.output, result.output
    return summary


def delete_blob(app: Flask, sha256: str) -> None:
    store = app.extensions["casefile_blobs"]
    if isinstance(store, LocalBlobStore):
        path = store.path_for(sha256)
        os.chmod(path, 0o600)
        os.remove(path)
    else:
        store.client.delete_object(Bucket=store.bucket, Key=store.key_for(sha256))
    assert not store.exists(sha256)


def entries(app: Flask, evidence_id: str | None = None) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        stmt = select(CustodyEntry).order_by(CustodyEntry.seq)
        if evidence_id is not None:
            stmt = stmt.where(CustodyEntry.evidence_id == uuid.UUID(evidence_id))
        return list(s.scalars(stmt))


def ledger_size(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        head = ledger.head(s)
        return head.seq if head else 0


@dataclass
class World:
    """Two cases, A (two items) and B (one item), with an investigator each."""

    api_a: Api
    owner_a: Account
    case_a: uuid.UUID
    items_a: list[dict[str, Any]]
    api_b: Api
    case_b: uuid.UUID
    items_b: list[dict[str, Any]]


@pytest.fixture
def world(
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> World:
    api_a, owner_a = api_for("investigator")
    api_b, owner_b = api_for("investigator")
    case_a = make_case(owner_a, "ALPHA")
    case_b = make_case(owner_b, "BRAVO")
    items_a = [upload(api_a, case_a, f"alpha exhibit {n}\n".encode()) for n in range(2)]
    items_b = [upload(api_b, case_b, b"bravo exhibit\n")]
    return World(api_a, owner_a, case_a, items_a, api_b, case_b, items_b)


# --- custody verify -------------------------------------------------------------------------------------------------


def test_cli_verify_only_reads_unless_asked_to_record(app: Flask, world: World) -> None:
    size = ledger_size(app)
    assert assert_intact(run(app, "custody", "verify")) == "INTACT: 3 entries, 0 checkpoints, 3 files checked."
    assert ledger_size(app) == size


def test_cli_verify_says_intact_and_records_fixity(app: Flask, world: World) -> None:
    size = ledger_size(app)
    assert size == 3
    summary = assert_intact(run(app, "custody", "verify", "--record"))
    assert summary == "INTACT: 3 entries, 0 checkpoints, 3 files checked."
    # One fixity_verified entry per file, by the instance itself.
    new = entries(app)[size:]
    assert sorted(e.evidence_id and str(e.evidence_id) for e in new) == sorted(
        i["id"] for i in world.items_a + world.items_b
    )
    assert {(e.action, e.actor) for e in new} == {("fixity_verified", "system")}
    # The fixity entries are chained like any other: a second run walks them too.
    assert assert_intact(run(app, "custody", "verify")) == "INTACT: 6 entries, 0 checkpoints, 3 files checked."


def test_cli_verify_fails_with_one_line_per_problem_naming_the_ern(app: Flask, world: World) -> None:
    victims = [world.items_a[1], world.items_b[0]]
    found = {v["ern"]: flip_blob_byte(app, v["sha256"]) for v in victims}

    result = run(app, "custody", "verify", "--record")
    assert result.exit_code == 1, result.output
    problems = lines(result, "PROBLEM")
    assert len(problems) == 2, result.output
    for line, victim in zip(problems, sorted(victims, key=lambda v: v["ern"]), strict=True):
        assert line.startswith("PROBLEM fixity: ")
        assert victim["ern"] in line and victim["sha256"] in line and found[victim["ern"]] in line
    assert "NOT INTACT: 2 problem(s); 3 entries, 0 checkpoints, 3 files checked." in result.output
    assert not lines(result, "INTACT: ")
    # The failures are in the ledger too.
    for victim in victims:
        last = entries(app, victim["id"])[-1]
        assert (last.action, last.details) == ("fixity_failed", {"found": found[victim["ern"]]})


def test_cli_verify_no_fixity_skips_the_files(app: Flask, world: World) -> None:
    flip_blob_byte(app, world.items_a[0]["sha256"])
    size = ledger_size(app)
    summary = assert_intact(run(app, "custody", "verify", "--no-fixity"))
    assert summary == "INTACT: 3 entries, 0 checkpoints, 0 files checked."
    assert ledger_size(app) == size  # nothing was re-hashed, so nothing is recorded


def test_cli_verify_case_limits_fixity_to_that_case(app: Flask, world: World) -> None:
    victim = world.items_b[0]
    flip_blob_byte(app, victim["sha256"])

    summary = assert_intact(run(app, "custody", "verify", "--case", "ALPHA"))
    assert summary.endswith("2 files checked.")

    result = run(app, "custody", "verify", "--case", "BRAVO")
    assert result.exit_code == 1, result.output
    (problem,) = lines(result, "PROBLEM")
    assert victim["ern"] in problem and problem.startswith("PROBLEM fixity")
    assert "1 files checked" in result.output


def test_cli_verify_unknown_case_is_a_clear_error(app: Flask, world: World) -> None:
    size = ledger_size(app)
    result = run(app, "custody", "verify", "--case", "NOPE")
    assert result.exit_code == 2  # could not run: not the "not intact" status
    assert isinstance(result.exception, SystemExit)
    assert "No case with reference 'NOPE'" in result.output
    assert "Traceback" not in result.output and "INTACT" not in result.output
    assert ledger_size(app) == size


def test_cli_checkpoint_prints_the_tree_size_and_verify_checks_it(app: Flask, world: World) -> None:
    result = run(app, "custody", "checkpoint")
    assert result.exit_code == 0, result.output
    assert "Checkpoint over 3 entries" in result.output
    summary = assert_intact(run(app, "custody", "verify", "--no-fixity"))
    assert summary == "INTACT: 3 entries, 1 checkpoints, 0 files checked."


def test_a_checkpoint_taken_on_a_fresh_instance_does_not_make_verification_cry_wolf(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    """`custody checkpoint` right after installation signs the empty tree (size 0). That is a true statement about
    the ledger and must verify; it must also not stop later checkpoints from being checked."""
    first = run(app, "custody", "checkpoint")
    assert first.exit_code == 0, first.output
    assert "Checkpoint over 0 entries" in first.output
    assert_intact(run(app, "custody", "verify"))

    api, owner = api_for("investigator")
    case_id = make_case(owner, "FRESH")
    upload(api, case_id, b"first exhibit\n")
    second = run(app, "custody", "checkpoint")
    assert "Checkpoint over 1 entries" in second.output, second.output
    summary = assert_intact(run(app, "custody", "verify"))
    assert summary.startswith("INTACT: 1 entries, 2 checkpoints")


@pytest.mark.parametrize("via", ["cli", "api"])
def test_verification_neither_blocks_nor_breaks_concurrent_appends(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """Re-hashing every file can take minutes on a real instance. Meanwhile investigators keep viewing and uploading
    evidence, which appends to the ledger: those appends must neither wait for the verification to finish nor make
    the verification's own fixity entries collide with them."""
    store = app.extensions["casefile_blobs"]
    original_rehash = store.rehash
    appended = threading.Event()
    waited: list[bool] = []
    errors: list[str] = []
    workers: list[threading.Thread] = []

    def append_elsewhere() -> None:
        try:
            with app.app_context(), session_scope() as s:
                ledger.record_custody(
                    s, actor=ledger.SYSTEM, action=Action.NOTE, case_id=None, details={"during": "verification"}
                )
            appended.set()
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}"[:300])

    def rehash(sha256: str) -> str:
        if not workers:
            worker = threading.Thread(target=append_elsewhere)
            workers.append(worker)
            worker.start()
            waited.append(appended.wait(10))  # an unlocked append takes milliseconds
        return original_rehash(sha256)

    monkeypatch.setattr(store, "rehash", rehash)
    if via == "cli":
        result = run(app, "custody", "verify", "--record")
        outcome = (result.exit_code, repr(result.exception), result.output[-500:])
        succeeded = result.exit_code == 0
    else:
        response = world.api_a.get("/custody/verify")
        outcome = (response.status_code, response.get_data(as_text=True)[:500])
        succeeded = response.status_code == 200 and response.get_json()["ok"] is True
    for worker in workers:
        worker.join(60)
    monkeypatch.undo()

    assert errors == []
    assert waited == [True], "a ledger append had to wait for the whole verification (write lock held meanwhile)"
    assert succeeded, f"the verification failed because of an append made while it ran: {outcome}"
    actions = [e.action for e in entries(app)]
    assert actions.count("note") == 1
    assert actions.count("fixity_verified") == (3 if via == "cli" else 2)
    assert_intact(run(app, "custody", "verify", "--no-fixity"))


@pytest.mark.parametrize("via", ["cli", "api"])
def test_an_append_committed_while_the_chain_is_walked_is_not_reported_as_tampering(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    """Verification must judge one consistent state of the ledger: entries that ordinary requests append while it
    runs (here: just before the walk and just after it passed the end of the chain, before the head row is compared)
    are not missing entries."""
    import casefile.custody.verify as verify_module

    walk = verify_module._entries_with_items
    errors: list[str] = []
    started: list[bool] = []

    def append_now() -> None:
        try:
            with app.app_context(), session_scope() as s:
                ledger.record_custody(s, actor=ledger.SYSTEM, action=Action.NOTE, case_id=None, details={"late": True})
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}"[:300])

    def another_request_appends() -> None:
        worker = threading.Thread(target=append_now)  # its own session and connection
        worker.start()
        worker.join(60)

    def walk_while_others_append(session: Any, **kw: Any) -> Any:
        if not started:  # just before the walk starts (a case's walk reads its entries, then the chain's end)...
            started.append(True)
            another_request_appends()
        yield from walk(session, **kw)
        if kw.get("up_to") is None:  # ...and just after it passed the end of the chain
            another_request_appends()

    monkeypatch.setattr(verify_module, "_entries_with_items", walk_while_others_append)
    if via == "cli":
        result = run(app, "custody", "verify", "--no-fixity")
        problems, ok = lines(result, "PROBLEM"), result.exit_code == 0
    else:
        body = world.api_a.get("/custody/verify").get_json()
        problems, ok = [p["message"] for p in body["problems"]], body["ok"]
    monkeypatch.undo()

    assert errors == []
    assert [e.action for e in entries(app)].count("note") == 2
    assert ok and problems == [], f"a concurrent append was reported as tampering: {problems}"
    assert_intact(run(app, "custody", "verify", "--no-fixity"))


# --- fsck -------------------------------------------------------------------------------------------------------------


def run_fsck(app: Flask, *args: str) -> Any:
    """`flask fsck` pushes an app context for app commands; see the test below for the test runner without one."""
    with app.app_context():
        return run(app, "fsck", *args)


def test_fsck_runs_under_the_cli_test_runner_like_every_other_command(app: Flask, world: World) -> None:
    """`app.test_cli_runner()` (and any programmatic `app.cli` call) only gets an app context for commands registered
    through an AppGroup; `custody verify` and `users create` work that way, `fsck` must too."""
    result = run(app, "fsck")
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0, result.output
    assert "0 missing, 0 unreferenced blob(s)." in result.output


def test_fsck_reports_and_collects_an_orphan_from_an_interrupted_ingest(app: Flask, world: World) -> None:
    clean = run_fsck(app)
    assert clean.exit_code == 0, clean.output
    assert "0 missing, 0 unreferenced blob(s)." in clean.output

    store = app.extensions["casefile_blobs"]
    orphan = store.put(BytesIO(b"orphan"))  # the blob was stored, then the ingest died before its row
    assert orphan == hashlib.sha256(b"orphan").hexdigest()

    result = run_fsck(app)
    assert result.exit_code == 0, result.output
    assert lines(result, "ORPHAN") == [f"ORPHAN {orphan} (orphan)"]
    assert "0 missing, 1 unreferenced blob(s)." in result.output
    assert store.exists(orphan)

    # A new orphan may be an upload a restored (older) database does not know yet: kept until the minimum age.
    young = run_fsck(app, "--collect")
    assert young.exit_code == 0, young.output
    assert lines(young, "ORPHAN") == [f"ORPHAN {orphan} (kept: younger than 7 days)"]
    assert store.exists(orphan)

    collected = run_fsck(app, "--collect", "--min-age-days", "0")
    assert collected.exit_code == 0, collected.output
    (line,) = lines(collected, "ORPHAN")
    assert line.startswith(f"ORPHAN {orphan} (quarantined to ") and orphan in line.partition("quarantined to ")[2]
    assert not store.exists(orphan)
    for item in world.items_a + world.items_b:  # referenced blobs are never collected
        assert store.exists(item["sha256"])

    again = run_fsck(app)
    assert again.exit_code == 0 and "0 missing, 0 unreferenced blob(s)." in again.output


def test_fsck_fails_naming_the_ern_of_a_missing_file(app: Flask, world: World) -> None:
    victim = world.items_a[0]
    delete_blob(app, victim["sha256"])
    result = run_fsck(app)
    assert result.exit_code == 1, result.output
    assert lines(result, "MISSING") == [f"MISSING {victim['ern']} original blob {victim['sha256']}"]
    assert "1 missing, 0 unreferenced blob(s)." in result.output

    # custody verify says the same, by ERN.
    verify = run(app, "custody", "verify")
    assert verify.exit_code == 1
    (problem,) = lines(verify, "PROBLEM")
    assert problem.startswith("PROBLEM blob_missing") and victim["ern"] in problem


# --- the JSON API -----------------------------------------------------------------------------------------------------


def valid_report(body: Any) -> dict[str, Any]:
    validator = Draft202012Validator(VERIFY_REPORT)
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors
    return body


def test_api_verify_reports_intact(app: Flask, world: World) -> None:
    response = world.api_a.get("/custody/verify")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    body = valid_report(response.get_json())
    assert (body["ok"], body["checked"], body["problems"]) == (True, 3, [])
    assert body["items_checked"] == 2  # the caller's cases only

    # Each checked item got one fixity_verified entry, visible in its custody trail over the API.
    for item in world.items_a:
        trail = world.api_a.get(f"/evidence/{item['id']}/custody").get_json()["items"]
        assert [e["action"] for e in trail] == ["ingested", "fixity_verified"], trail
    assert [e.action for e in entries(app, world.items_b[0]["id"])] == ["ingested"]

    one_case = world.api_a.get(f"/custody/verify?case_id={world.case_a}")
    assert one_case.status_code == 200
    assert valid_report(one_case.get_json())["items_checked"] == 2


def test_api_verify_of_another_case_is_not_found(app: Flask, world: World) -> None:
    size = ledger_size(app)
    for case_id in (world.case_b, uuid.uuid4(), "not-a-uuid"):
        response = world.api_a.get(f"/custody/verify?case_id={case_id}")
        assert response.status_code == 404, (case_id, response.status_code)
        assert set(response.get_json()) == {"error"}
    assert ledger_size(app) == size


def test_api_verify_after_tampering_lists_the_problem_with_its_ern(app: Flask, world: World) -> None:
    victim = world.items_a[0]
    found = flip_blob_byte(app, victim["sha256"])
    response = world.api_a.get(f"/custody/verify?case_id={world.case_a}")
    assert response.status_code == 200
    body = valid_report(response.get_json())
    assert body["ok"] is False
    assert body["problems"] == [
        {
            "kind": "fixity",
            "message": f"{victim['ern']}: SHA-256 expected {victim['sha256']} found {found}",
            "seq": None,
            "ern": victim["ern"],
            "expected": victim["sha256"],
            "found": found,
        }
    ]
    # The owner of the other case verifies their own files: intact.
    other = valid_report(world.api_b.get("/custody/verify").get_json())
    assert other["ok"] is True and other["items_checked"] == 1


# --- the reviewers' page ----------------------------------------------------------------------------------------------


@pytest.fixture
def reviewer(
    client: FlaskClient,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    world: World,
) -> Account:
    account = make_user("reviewer")
    add_member(world.case_a, account, "reviewer")
    login(client, account)
    return account


def test_reviewer_verifies_on_the_web_page_and_sees_it_in_the_trail(
    app: Flask, client: FlaskClient, world: World, reviewer: Account
) -> None:
    page = client.get("/custody")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ALPHA" in html and "BRAVO" not in html  # only the reviewer's cases are offered

    result = client.post("/custody/verify", data={"case_id": str(world.case_a)})
    assert result.status_code == 200, result.get_data(as_text=True)[:300]
    html = result.get_data(as_text=True)
    assert "INTACT" in html and "PROBLEMS FOUND" not in html

    for item in world.items_a:
        trail = entries(app, item["id"])
        verified = [e for e in trail if e.action == "fixity_verified"]
        assert len(verified) == 1 and verified[0].actor == f"user:{reviewer.id}"
        item_page = client.get(f"/evidence/{item['id']}")
        assert item_page.status_code == 200
        item_html = item_page.get_data(as_text=True)
        assert "fixity_verified" in item_html
        assert "Integrity verified" in item_html

    # Without a case: all of the reviewer's cases (one), never another case's files.
    result = client.post("/custody/verify", data={})
    assert result.status_code == 200 and "INTACT" in result.get_data(as_text=True)
    assert [e.action for e in entries(app, world.items_b[0]["id"])] == ["ingested"]
    for item in world.items_a:
        assert [e.action for e in entries(app, item["id"])].count("fixity_verified") == 2


def test_reviewer_page_lists_the_problems_after_tampering(
    app: Flask, client: FlaskClient, world: World, reviewer: Account
) -> None:
    victim = world.items_a[1]
    found = flip_blob_byte(app, victim["sha256"])
    result = client.post("/custody/verify", data={"case_id": str(world.case_a)})
    assert result.status_code == 200
    html = result.get_data(as_text=True)
    assert "PROBLEMS FOUND" in html
    assert "fixity" in html and victim["ern"] in html and found in html

    item_html = client.get(f"/evidence/{victim['id']}").get_data(as_text=True)
    assert "fixity_failed" in item_html and "Fixity FAILED" in item_html


def test_reviewer_cannot_verify_a_case_they_are_not_in(
    app: Flask, client: FlaskClient, world: World, reviewer: Account
) -> None:
    size = ledger_size(app)
    assert client.post("/custody/verify", data={"case_id": str(world.case_b)}).status_code == 404
    assert ledger_size(app) == size


def test_fsck_reports_and_removes_what_an_upload_killed_mid_write_left(app: Flask, world: World) -> None:
    """kill -9 while a file streams into the store leaves its temporary file (once 9 files, 357 MiB after 20 kills,
    that fsck never mentioned). fsck names and removes it once it is older than CASEFILE_TEMP_MAX_AGE_SECONDS."""
    store = app.extensions["casefile_blobs"]
    pid = os.fork()
    if pid == 0:  # the "web server": half an upload, then killed
        writer = store.writer()
        writer.write(os.urandom(1024 * 1024))
        writer.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    _pid, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    left = [name for name in os.listdir(store.temp_dir) if name.startswith("upload-") and name.endswith(".part")]
    assert len(left) == 1

    young = run_fsck(app)  # younger than the bound: it may be a live slow upload, so it stays
    assert young.exit_code == 0 and not lines(young, "SWEPT") and os.listdir(store.temp_dir) == left
    old = time.time() - app.extensions["casefile_settings"].temp_max_age_seconds - 60
    os.utime(os.path.join(store.temp_dir, left[0]), (old, old))
    swept = run_fsck(app)
    assert swept.exit_code == 0, swept.output
    assert lines(swept, "SWEPT") == [f"SWEPT {left[0]} (left by a process that died while writing)"]
    assert os.listdir(store.temp_dir) == []
