"""Ingest under stress (DESIGN §3): over-limit uploads get a clean 413, a request body that breaks off
mid-stream records nothing and leaves no half-received evidence on disk, and memory stays flat
whatever the size of the file (the upload streams into the blob store while it is hashed)."""

from __future__ import annotations

import gc
import hashlib
import os
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefile import create_app
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.config import Settings
from casefile.custody.fsck import fsck
from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem

from support import PHOTOS, Account, Api, login

MIB = 1024 * 1024
LIMIT = 1 * MIB
BOUNDARY = "casefile-test-boundary-7d93"


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def small_app(settings: Settings) -> Iterator[Flask]:
    """A second app on the same database and blob store, accepting uploads of at most 1 MiB."""
    application = create_app(settings.with_overrides(max_upload_bytes=LIMIT))
    yield application
    application.extensions["casefile_db"].dispose()


def token_client(app: Flask, account: Account) -> Api:
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        token = auth_services.create_api_token(s, user)
    return Api(app.test_client(), token)


def temp_dir(app: Flask) -> Path:
    """Where a store spools uploads before commit: <root>/tmp (local) or <instance>/spool (S3)."""
    store = app.extensions["casefile_blobs"]
    path = getattr(store, "tmp_dir", None) or store.spool_dir
    assert path, "the blob store has no spool directory"
    return Path(path)


def leftovers(app: Flask) -> list[str]:
    return sorted(os.listdir(temp_dir(app)))


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context(), session_scope() as s:
        items = s.scalar(select(func.count()).select_from(EvidenceItem)) or 0
        entries = s.scalar(select(func.count()).select_from(CustodyEntry)) or 0
    return items, entries


def blobs(app: Flask) -> list[str]:
    return list(app.extensions["casefile_blobs"].iter_hashes())


def assert_nothing_stored(app: Flask) -> None:
    assert counts(app) == (0, 0)
    assert blobs(app) == []
    assert leftovers(app) == []


def finished(response: Any) -> Any:
    """Close a response and the request body the test client spooled to a temporary file for it
    (Werkzeug only closes that itself when following redirects)."""
    response.close()
    response.request.input_stream.close()
    return response


def multipart_body(file_part: bytes, filename: str = "upload.bin", fields: dict[str, str] | None = None) -> bytes:
    out = b""
    for name, value in (fields or {}).items():
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return out + file_part


def closing() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


class BreaksOff(BytesIO):
    """A request body whose client goes away: after the bytes it has, reading raises like a reset socket."""

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data:
            raise ConnectionResetError("client went away")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@pytest.fixture
def investigator_case(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> tuple[Account, uuid.UUID]:
    account = make_user("investigator")
    return account, make_case(account, "LIM")


# --- over the limit ------------------------------------------------------------------------------


def test_api_upload_over_the_limit_gets_a_clean_413_and_stores_nothing(
    small_app: Flask, investigator_case: tuple[Account, uuid.UUID]
) -> None:
    account, case_id = investigator_case
    api = token_client(small_app, account)
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"title": "too big", "file": (BytesIO(os.urandom(LIMIT + 4096)), "big.bin")},
        content_type="multipart/form-data",
    )
    finished(response)
    assert response.status_code == 413
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] and "1,048,576" in error["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    assert_nothing_stored(small_app)
    # Just under the limit still goes through on the same app: the limit is the configured one.
    ok = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(b"x" * (LIMIT - 4096)), "fits.txt")},
        content_type="multipart/form-data",
    )
    finished(ok)
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert ok.get_json()["ern"] == "LIM-00001"


def test_web_upload_over_the_limit_gets_a_clean_413_page_and_stores_nothing(
    small_app: Flask, investigator_case: tuple[Account, uuid.UUID]
) -> None:
    account, case_id = investigator_case
    client = small_app.test_client()
    login(client, account)
    response = client.post(
        f"/cases/{case_id}/evidence/upload",
        data={"title": "too big", "classification": "confidential", "file": (BytesIO(b"\0" * (LIMIT + 1)), "a.bin")},
        content_type="multipart/form-data",
    )
    finished(response)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "larger than the limit of 1,048,576 bytes" in html
    assert "Traceback" not in html and "RequestEntityTooLarge" not in html
    assert_nothing_stored(small_app)


def test_web_upload_over_the_limit_in_json_mode_gets_a_json_error(
    small_app: Flask, investigator_case: tuple[Account, uuid.UUID]
) -> None:
    """The upload page's script sends each file with Accept: application/json and shows
    body.error.message; a too-large video must be explained there, not reported as a bare "HTTP 413"."""
    account, case_id = investigator_case
    client = small_app.test_client()
    login(client, account)
    response = client.post(
        f"/cases/{case_id}/evidence/upload",
        data={"classification": "confidential", "file": (BytesIO(b"\0" * (LIMIT + 1)), "video.mp4")},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    finished(response)
    assert response.status_code == 413
    assert response.is_json, response.mimetype
    assert "1,048,576" in response.get_json()["error"]["message"]
    assert_nothing_stored(small_app)


def test_streamed_body_without_length_is_cut_off_at_the_limit(
    small_app: Flask, investigator_case: tuple[Account, uuid.UUID]
) -> None:
    """A server that terminates the input itself (chunked transfer, no Content-Length) still cannot
    push more than the limit through: the upload stops at the limit with a 413, nothing kept."""
    account, case_id = investigator_case
    api = token_client(small_app, account)
    body = multipart_body(b"z" * (3 * LIMIT)) + closing()
    response = api.client.post(
        f"/api/v1/cases/{case_id}/evidence",
        headers={**api.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        input_stream=BytesIO(body),
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413, response.get_data(as_text=True)[:300]
    assert response.is_json
    assert_nothing_stored(small_app)


# --- a body that breaks off mid-stream -----------------------------------------------------------


@pytest.mark.parametrize("how", ["ends-early", "connection-reset"])
def test_upload_that_breaks_off_mid_stream_records_nothing(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID], how: str
) -> None:
    api, account = api_for("investigator")
    case_id = make_case(account, "CUT")
    photo = (PHOTOS / "DSCN0010.jpg").read_bytes()
    # Half of a real photo has arrived, with the descriptive fields; the rest never comes.
    partial = multipart_body(photo[: len(photo) // 2], "DSCN0010.jpg", {"title": "cut off", "kind": "photo"})
    declared_length = len(partial) + len(photo) // 2 + len(closing())
    stream = BytesIO(partial) if how == "ends-early" else BreaksOff(partial)
    response = api.client.post(
        f"/api/v1/cases/{case_id}/evidence",
        headers={**api.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        input_stream=stream,
        environ_overrides={"CONTENT_LENGTH": str(declared_length)},
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.is_json and "error" in response.get_json()
    assert counts(app) == (0, 0)
    assert leftovers(app) == []  # no half-received evidence lingers on disk
    with app.app_context(), session_scope() as s:
        report = fsck(s, app.extensions["casefile_blobs"])
    assert report.missing == []
    assert report.ok
    # The case is not damaged: the next complete upload gets the first ERN.
    again = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(photo), "DSCN0010.jpg")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 201
    assert again.get_json()["ern"] == "CUT-00001"
    assert again.get_json()["sha256"] == hashlib.sha256(photo).hexdigest()


def test_crash_after_the_blob_is_stored_leaves_only_an_orphan_blob(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The blob is stored before the row is committed: a crash in between leaves an unreferenced blob
    (reported by fsck), never a row or a ledger entry without its file."""
    import casefile.evidence.services as evidence_services

    api, account = api_for("investigator")
    case_id = make_case(account, "CRA")
    photo = (PHOTOS / "DSCN0021.jpg").read_bytes()

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(evidence_services, "record_custody", crash)
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(photo), "DSCN0021.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "power cut" not in response.get_data(as_text=True)
    assert counts(app) == (0, 0)
    assert leftovers(app) == []
    with app.app_context(), session_scope() as s:
        report = fsck(s, app.extensions["casefile_blobs"])
    assert report.missing == []
    assert hashlib.sha256(photo).hexdigest() in report.orphans
    assert len(report.orphans) <= 2  # the original and at most its preview


# --- memory stays flat ---------------------------------------------------------------------------


def test_large_upload_streams_in_flat_memory(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    tmp_path: Path,
) -> None:
    size = 64 * MIB
    api, account = api_for("investigator")
    case_id = make_case(account, "BIG")
    # The request body is built on disk, so the only large buffers Python could hold are the app's.
    body_path = tmp_path / "body.bin"
    digest = hashlib.sha256()
    with body_path.open("wb") as body:
        body.write(multipart_body(b"", "large-video.bin", {"title": "large"}))
        for _ in range(size // MIB):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            body.write(chunk)
        body.write(closing())
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        with body_path.open("rb") as stream:
            response = api.client.post(
                f"/api/v1/cases/{case_id}/evidence",
                headers={**api.headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                input_stream=stream,
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    item = response.get_json()
    assert item["size"] == size
    assert item["sha256"] == digest.hexdigest()
    growth = peak - baseline
    assert growth < 16 * MIB, f"peak Python heap grew by {growth / MIB:.1f} MiB for a 64 MiB upload"
    assert app.extensions["casefile_blobs"].size(digest.hexdigest()) == size
    assert leftovers(app) == []
