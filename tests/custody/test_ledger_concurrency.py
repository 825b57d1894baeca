"""Concurrent writers never fork the custody chain (DESIGN §4; FACTS: 8 writers x 50 appends).

Each writer is a thread with its own session (and so, on PostgreSQL, its own connection); each append is its own
transaction, exactly as a request's. The writers start together behind a barrier so their appends really overlap.
Runs on SQLite (BEGIN IMMEDIATE) and on PostgreSQL (SELECT ... FOR UPDATE on the head row under READ COMMITTED).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from casefile.custody import ledger
from casefile.custody.actions import Action
from casefile.custody.chain import GENESIS_HASH, verify_chain
from casefile.custody.models import CustodyEntry
from casefile.custody.verify import verify_ledger
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem

from support import Account, Api

WRITERS = 8
APPENDS = 50
UPLOADS = 3


def run_together(count: int, work: Callable[[int, threading.Barrier], None], timeout: float = 120) -> list[str]:
    """Run `work(index, barrier)` in `count` threads; return the errors (exceptions never escape a thread)."""
    barrier = threading.Barrier(count)
    errors: list[str] = []

    def target(index: int) -> None:
        try:
            work(index, barrier)
        except BaseException as error:  # reported by the test, not by pytest's thread-exception hook
            errors.append(f"writer {index}: {type(error).__name__}: {error}"[:500])
            barrier.abort()

    threads = [threading.Thread(target=target, args=(i,), name=f"writer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def assert_one_intact_chain(app: Flask, expected: int) -> list[dict[str, Any]]:
    with app.app_context(), session_scope() as s:
        fields = list(ledger.iter_entry_fields(s))
        head = ledger.head(s)
        report = verify_ledger(s, app.extensions["casefile_blobs"], app.extensions["casefile_key"].public_pem)
    assert len(fields) == expected
    assert [f["seq"] for f in fields] == list(range(1, expected + 1))
    assert fields[0]["prev_hash"] == GENESIS_HASH
    assert list(verify_chain(fields)) == []
    # One chain: every entry is the successor of exactly one other (no two entries share a predecessor).
    assert len({f["prev_hash"] for f in fields}) == expected
    assert head is not None and (head.seq, head.entry_hash) == (expected, fields[-1]["entry_hash"])
    assert report.ok, [p.message for p in report.problems]
    assert report.checked == expected
    return fields


def hammer(app: Flask, *, first_appends_race: bool) -> None:
    """8 writers x 50 appends at once."""
    sessionmaker = app.extensions["casefile_db"].sessionmaker
    case_ids = [uuid.uuid4() for _ in range(WRITERS)]

    def work(index: int, barrier: threading.Barrier) -> None:
        barrier.wait(30)
        for n in range(APPENDS):
            with sessionmaker() as s:
                ledger.record_custody(
                    s,
                    actor=ledger.SYSTEM,
                    action=Action.NOTE,
                    case_id=case_ids[index],
                    details={"writer": index, "n": n},
                )
                s.commit()

    errors = run_together(WRITERS, work)
    assert errors == [], f"{len(errors)} writer(s) failed (first appends racing: {first_appends_race}): {errors[:3]}"


def test_eight_concurrent_writers_on_a_fresh_ledger_never_fork_it(app: Flask) -> None:
    """The very first appends of an instance race too (no head row exists yet)."""
    hammer(app, first_appends_race=True)
    fields = assert_one_intact_chain(app, WRITERS * APPENDS)
    # Every writer's appends are all there, in its own order.
    for index in range(WRITERS):
        mine = [f["details"]["n"] for f in fields if f["details"]["writer"] == index]
        assert mine == list(range(APPENDS))


def test_eight_concurrent_writers_on_a_started_ledger_never_fork_it(app: Flask) -> None:
    with app.app_context(), session_scope() as s:
        ledger.record_custody(s, actor=ledger.SYSTEM, action=Action.NOTE, case_id=None, details={"writer": "seed"})
    hammer(app, first_appends_race=False)
    fields = assert_one_intact_chain(app, WRITERS * APPENDS + 1)
    assert fields[0]["details"] == {"writer": "seed"}


def test_concurrent_http_ingests_get_unique_erns_and_one_chain(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
) -> None:
    owner_api, owner = api_for("investigator")
    case_id = make_case(owner, "CONC")
    apis = [owner_api]
    for _ in range(WRITERS - 1):
        api, account = api_for("investigator")
        add_member(case_id, account, "investigator")
        apis.append(api)
    results: list[list[tuple[int, dict[str, Any]]]] = [[] for _ in range(WRITERS)]

    def work(index: int, barrier: threading.Barrier) -> None:
        # Each thread its own test client (and so its own requests and database sessions).
        api = Api(app.test_client(), apis[index].headers["Authorization"].removeprefix("Bearer "))
        barrier.wait(30)
        for n in range(UPLOADS):
            response = api.post(
                f"/cases/{case_id}/evidence",
                data={"file": (BytesIO(f"writer {index} file {n}\n".encode()), f"w{index}-{n}.txt"), "title": "t"},
                content_type="multipart/form-data",
            )
            results[index].append((response.status_code, response.get_json(silent=True) or {}))

    errors = run_together(WRITERS, work)
    assert errors == []
    statuses = [status for mine in results for status, _ in mine]
    failed = [body for mine in results for status, body in mine if status != 201]
    assert statuses == [201] * (WRITERS * UPLOADS), f"{len(failed)} of {len(statuses)} uploads failed: {failed[:2]}"
    erns = sorted(body["ern"] for mine in results for _, body in mine)
    assert erns == [f"CONC-{n:05d}" for n in range(1, WRITERS * UPLOADS + 1)]

    fields = assert_one_intact_chain(app, WRITERS * UPLOADS)
    assert {f["action"] for f in fields} == {"ingested"}
    assert sorted(f["details"]["ern"] for f in fields) == erns
    with app.app_context(), session_scope() as s:
        items = {item.ern: item for item in s.scalars(select(EvidenceItem).where(EvidenceItem.case_id == case_id))}
        assert sorted(items) == erns
        assert sorted(item.number for item in items.values()) == list(range(1, WRITERS * UPLOADS + 1))
        # Each ingest entry names its own item and that item's hash.
        for f in fields:
            item = items[f["details"]["ern"]]
            assert (f["evidence_id"], f["sha256"]) == (str(item.id), item.sha256)
        assert s.scalar(select(func.count()).select_from(CustodyEntry)) == WRITERS * UPLOADS
    with app.app_context(), session_scope() as s:
        report = verify_ledger(s, app.extensions["casefile_blobs"], app.extensions["casefile_key"].public_pem)
    assert report.ok and report.items_checked == WRITERS * UPLOADS
