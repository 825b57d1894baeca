"""When what the app depends on fails, the answer is honest and needs nothing that failed: 503 with Retry-After when
the database or the blob store cannot be reached, 507 when the disk is full, in the API's error format and as a page
that names no user; never a 500, never a bare server page, and nothing half-recorded."""

from __future__ import annotations

import errno
import io
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.db import Database
from casefile.storage import StorageError
from casefile.storage.base import TempFileBlobWriter
from casefile.web import _disk_full

from support import Account, Api, ledger, login, upload


@contextmanager
def database_down(app: Flask, tmp_path: Path) -> Iterator[None]:
    """The app's database replaced by one that cannot be reached (a PostgreSQL port nothing listens on, or a SQLite
    file in a folder that does not exist), as when the server is stopped."""
    saved = app.extensions["casefile_db"]
    url = (
        "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"
        if saved.engine.dialect.name == "postgresql"
        else f"sqlite:///{tmp_path / 'gone' / 'casefile.db'}"
    )
    app.extensions["casefile_db"] = Database(url)
    try:
        yield
    finally:
        app.extensions["casefile_db"].dispose()
        app.extensions["casefile_db"] = saved


@pytest.fixture
def team(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID, FlaskClient]:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "DOWN")
    web = app.test_client()
    login(web, owner)
    return api, owner, case_id, web


def assert_unavailable(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"].isdigit()
    if response.is_json:
        assert response.get_json()["error"]["code"] == code
    else:
        html = response.get_data(as_text=True)
        assert "Traceback" not in html and "overloaded" not in html.lower()
        assert f"<h1>{status}</h1>" in html and "Nothing you sent with this request was saved" in html


def test_the_database_down_is_a_503_for_pages_and_the_api(
    app: Flask, team: tuple[Api, Account, uuid.UUID, FlaskClient], tmp_path: Path
) -> None:
    api, _owner, case_id, web = team
    with database_down(app, tmp_path):
        for response in (web.get("/"), web.get(f"/cases/{case_id}/evidence"), web.post(f"/cases/{case_id}/edit")):
            assert_unavailable(response, 503, "database_unavailable")
            assert "The database cannot be reached" in response.get_data(as_text=True)
        for response in (api.get("/cases"), api.post("/cases", json={"reference": "X", "title": "x"})):
            assert_unavailable(response, 503, "database_unavailable")
        assert app.test_client().get("/healthz").status_code == 200  # alive: the process answers
        assert app.test_client().get("/readyz").status_code == 503
    assert web.get("/").status_code == 200 and api.get("/cases").status_code == 200  # back when it is back


def test_the_database_failing_under_a_request_is_a_503_page_with_the_user_menu(
    app: Flask, team: tuple[Api, Account, uuid.UUID, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _owner, case_id, web = team
    from sqlalchemy.exc import OperationalError

    from casefile.evidence import services

    def lost(*args: Any, **kw: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(services, "evidence_query", lost)
    assert_unavailable(web.get(f"/cases/{case_id}/evidence"), 503, "database_unavailable")
    assert_unavailable(api.get(f"/cases/{case_id}/evidence"), 503, "database_unavailable")


def test_a_full_disk_is_a_507_and_nothing_is_recorded(
    app: Flask, team: tuple[Api, Account, uuid.UUID, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, _owner, case_id, web = team
    upload(api, case_id, b"stored before the disk filled\n")
    before = (len(ledger(app)), api.get(f"/cases/{case_id}/evidence").get_json()["total"])

    def full(self: Any, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TempFileBlobWriter, "write", full)
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (io.BytesIO(b"x" * 300_000), "big.bin"), "title": "big"},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert_unavailable(response, 507, "insufficient_storage")
    page = web.post(
        f"/cases/{case_id}/evidence/upload",
        data={"file": (io.BytesIO(b"y" * 1000), "small.txt"), "title": "small", "kind": "document"},
        content_type="multipart/form-data",
    )
    page.request.input_stream.close()
    assert_unavailable(page, 507, "insufficient_storage")
    monkeypatch.undo()
    assert (len(ledger(app)), api.get(f"/cases/{case_id}/evidence").get_json()["total"]) == before


def test_every_kind_of_full_disk_is_recognised() -> None:
    class SQLiteFull(sqlite3.OperationalError):
        sqlite_errorcode = 13

    class PostgresFull(Exception):
        sqlstate = "53100"

    try:
        raise StorageError("could not store blob") from OSError(errno.ENOSPC, "No space left on device")
    except StorageError as wrapped:
        assert _disk_full(wrapped)
    assert _disk_full(SQLiteFull("database or disk is full"))
    assert _disk_full(PostgresFull("could not extend file"))
    assert not _disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not _disk_full(ValueError("no"))


def test_the_blob_store_unreachable_is_a_503(app: Flask, team: tuple[Api, Account, uuid.UUID, FlaskClient]) -> None:
    api, _owner, case_id, _web = team
    item = upload(api, case_id, b"stored while the store was up\n")
    from botocore.config import Config

    from casefile.storage.s3 import S3BlobStore

    saved = app.extensions["casefile_blobs"]
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    app.extensions["casefile_blobs"] = S3BlobStore("casefile-unreachable", client=client)
    try:
        assert_unavailable(api.get(f"/evidence/{item['id']}/content"), 503, "storage_unavailable")
    finally:
        app.extensions["casefile_blobs"] = saved
        client.close()
