"""Page views do not queue behind a writer (SQLite: only transactions that write take its single write lock), and
a view that does write (a `viewed` custody entry) still gets its entry in, once, without forking the ledger."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, pool, text

from casefile.custody import ledger
from casefile.custody.services import run_verification
from casefile.db import get_database, session_scope

from support import Account, Api, login, upload

# A pure read answers well inside this while another connection holds the write lock (it used to wait the 5 s of
# the lock, and up to the 30 s busy timeout).
READ_BOUND_SECONDS = 2.0


@contextmanager
def outside_writer(database_url: str) -> Iterator[None]:
    """Another process in the middle of a write transaction: on SQLite it holds the write lock; on PostgreSQL the
    ledger head's row lock and an uncommitted append."""
    engine = create_engine(database_url, poolclass=pool.NullPool)
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(text("BEGIN"))
            conn.execute(text("SELECT seq FROM custody_head FOR UPDATE"))
        yield
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def test_reads_go_on_while_a_writer_holds_the_lock_and_a_view_waits_its_turn(
    app: Flask,
    database_url: str,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "READ")
    item = upload(api, case_id, b"exhibit read while someone writes\n")
    web = app.test_client()
    login(web, owner)
    reads = [
        lambda: web.get("/"),
        lambda: web.get(f"/cases/{case_id}"),
        lambda: web.get(f"/cases/{case_id}/evidence"),
        lambda: web.get(f"/cases/{case_id}/witnesses"),
        lambda: api.get(f"/cases/{case_id}/evidence"),
        lambda: api.get(f"/cases/{case_id}/incidents"),
        lambda: api.get(f"/evidence/{item['id']}/custody"),
    ]
    before = len(entries(app))
    with outside_writer(database_url):
        for read in reads:
            started = time.monotonic()
            response = read()
            took = time.monotonic() - started
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            assert took < READ_BOUND_SECONDS, f"{response.request.path} waited {took:.1f} s behind the writer"
        # A view writes its custody entry, so it waits for the writer, and completes once the writer is done.
        result: dict[str, Any] = {}
        viewer = threading.Thread(target=lambda: result.update(response=api.get(f"/evidence/{item['id']}")))
        viewer.start()
        time.sleep(0.5)
        assert viewer.is_alive(), "the view did not wait for the write lock"
    viewer.join(30)
    assert result["response"].status_code == 200
    assert [e["action"] for e in entries(app)[before:]] == ["viewed"]


def test_a_view_whose_read_snapshot_went_stale_is_run_again_and_records_one_entry(
    app: Flask, database_url: str, api_for: Callable[..., tuple[Api, Account]], make_case: Any, monkeypatch: Any
) -> None:
    """The view reads (its snapshot), another request appends to the ledger, then the view appends: SQLite refuses
    to upgrade the stale read; the view is dispatched again with the write lock and records exactly one entry, and
    the chain stays whole."""
    api, owner = api_for("investigator")
    case_id = make_case(owner, "STALE")
    item = upload(api, case_id, b"exhibit\n")
    from casefile.evidence import services

    original = services.record_read
    calls: list[int] = []

    def append_elsewhere_first(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:  # between this request's reads and its write, someone else appends
            done = threading.Event()

            def other() -> None:
                with app.app_context(), session_scope() as s:
                    ledger.record_custody(s, actor=ledger.SYSTEM, action="note", case_id=None, details={})
                done.set()

            threading.Thread(target=other).start()
            assert done.wait(10)
        return original(*args, **kw)

    monkeypatch.setattr(services, "record_read", append_elsewhere_first)
    response = api.get(f"/evidence/{item['id']}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    actions = [e["action"] for e in entries(app)]
    assert actions[-2:] == ["note", "viewed"] and actions.count("viewed") == 1
    assert len(calls) == (2 if app.extensions["casefile_db"].is_sqlite else 1)  # SQLite: run again, once
    with app.app_context(), session_scope() as s, get_database().read_sessionmaker() as read:
        report = run_verification(
            s, read, app.extensions["casefile_blobs"], app.extensions["casefile_key"], ledger.SYSTEM, fixity=False
        )
    assert report.ok, [p.message for p in report.problems]


def entries(app: Flask) -> list[dict[str, Any]]:
    with app.app_context(), session_scope() as s:
        return list(ledger.iter_entry_fields(s))
