"""Resumable uploads (tus 1.0), driven by an independent client (tuspy, the tus project's Python client) against a
real HTTP server: a 200 MiB upload whose connection is cut twice completes with the exact SHA-256, and the
protocol's refusals (version, offset, media type, checksum, termination, another user) are what tus says."""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from tusclient import client as tus_client

from casefile import components

from support import Account, Api, ledger, run_queued_jobs

MIB = 1024 * 1024


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


@pytest.fixture
def team(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> tuple[Api, uuid.UUID]:
    api, owner = api_for("investigator")
    return api, make_case(owner, "TUS")


def parts(app: Flask) -> tuple[list[str], list[str]]:
    """The upload parts in the blob store, and those the database names."""
    from sqlalchemy import select

    from casefile.db import session_scope
    from casefile.intake.models import ResumableUploadPart

    with app.app_context(), session_scope() as s:
        named = sorted(s.scalars(select(ResumableUploadPart.name)))
    return sorted(name for name, _at in components.blob_store(app).iter_parts()), named


def big_file(path: Path, size: int) -> str:
    """A file of `size` bytes that repeats nowhere (a counter hashed block by block); its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        block = 0
        while out.tell() < size:
            data = b"".join(hashlib.sha512(f"{block}.{i}".encode()).digest() for i in range(16384))[: size - out.tell()]
            out.write(data)
            digest.update(data)
            block += 1
    return digest.hexdigest()


def cut_off_patch(url: str, token: str, offset: int, declared: int, send: bytes) -> None:
    """A PATCH whose connection drops after `send` of the `declared` bytes: what a train going into a tunnel does."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("PATCH", parts.path)
    for name, value in {
        "Authorization": token,
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream",
        "Content-Length": str(declared),
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    conn.send(send)
    conn.sock.close()  # mid-body: the server sees the stream end early
    conn.close()


def head_offset(url: str, token: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("HEAD", parts.path, headers={"Authorization": token, "Tus-Resumable": "1.0.0"})
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 200
    return int(response.getheader("Upload-Offset"))


def wait_for_offset(url: str, token: str, at_least: int) -> int:
    import time

    deadline = time.monotonic() + 30
    while True:
        offset = head_offset(url, token)
        if offset >= at_least or time.monotonic() > deadline:
            return offset
        time.sleep(0.05)  # the server thread is still writing what it received before the cut


def test_a_200_mib_upload_cut_off_twice_completes_with_the_exact_sha256(
    app: Flask, live_server: str, team: tuple[Api, uuid.UUID], tmp_path: Path
) -> None:
    api, case_id = team
    size = 200 * MIB
    path = tmp_path / "interview.mp4"
    expected = big_file(path, size)
    token = api.headers["Authorization"]
    tus = tus_client.TusClient(f"{live_server}/api/v1/cases/{case_id}/uploads", headers={"Authorization": token})
    with path.open("rb") as stream:
        uploader = tus.uploader(
            file_stream=stream,
            chunk_size=32 * MIB,
            metadata={"filename": "interview.mp4", "title": "Interview, Tarhuna", "kind": "video"},
        )
        uploader.upload_chunk()  # created (tus creation), then 32 MiB arrive
        url = uploader.url
        assert url is not None and uploader.get_offset() == 32 * MIB
        # First cut: 48 MiB declared, 20 MiB sent before the connection dies.
        stream.seek(32 * MIB)
        cut_off_patch(url, token, 32 * MIB, 48 * MIB, stream.read(20 * MIB))
        first = wait_for_offset(url, token, 52 * MIB)
        assert 32 * MIB < first <= 52 * MIB
        # The client resumes from what the server confirms (a new uploader for the same URL, as after a restart).
        resumed = tus.uploader(file_stream=stream, url=url, chunk_size=32 * MIB)
        assert resumed.offset == first
        resumed.upload_chunk()
        second_start = resumed.offset
        stream.seek(second_start)
        cut_off_patch(url, token, second_start, 64 * MIB, stream.read(7 * MIB))
        second = wait_for_offset(url, token, second_start + 7 * MIB)
        assert second > second_start
        tus.uploader(file_stream=stream, url=url, chunk_size=32 * MIB).upload()
    assert head_offset(url, token) == size
    upload_id = url.rsplit("/", 1)[-1]
    assert api.get(f"/uploads/{upload_id}").get_json()["state"] == "received"
    run_queued_jobs(app)
    done = api.get(f"/uploads/{upload_id}").get_json()
    assert done["state"] == "done", done
    assert done["sha256"] == expected
    item = api.get(f"/evidence/{done['evidence_id']}").get_json()
    assert item["sha256"] == expected and item["size"] == size and item["title"] == "Interview, Tarhuna"
    ingested = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == item["id"]]
    assert ingested[0].details["resumable_upload"] == upload_id
    assert parts(app) == ([], [])  # the parts went with the upload's recording


def create(api: Api, case_id: Any, length: int = 10, **headers: str) -> Any:
    return api.client.post(
        f"/api/v1/cases/{case_id}/uploads",
        headers={**api.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(length), **headers},
    )


def patch(api: Api, location: str, body: bytes, offset: int, **headers: str) -> Any:
    return api.client.patch(
        urlsplit(location).path,
        data=body,
        headers={
            **api.headers,
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )


def test_the_protocol_refuses_what_tus_says_it_must(
    app: Flask, team: tuple[Api, uuid.UUID], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, case_id = team
    options = api.client.options(f"/api/v1/cases/{case_id}/uploads", headers=api.headers)
    assert options.status_code == 204 and options.headers["Tus-Version"] == "1.0.0"
    assert set(options.headers["Tus-Extension"].split(",")) == {"creation", "checksum", "termination", "expiration"}
    no_version = api.client.post(f"/api/v1/cases/{case_id}/uploads", headers={**api.headers, "Upload-Length": "5"})
    assert no_version.status_code == 412
    assert create(api, case_id, Upload_Metadata="").status_code == 201
    assert create(api, case_id, **{"Upload-Metadata": metadata(kind="shipment")}).status_code == 422
    assert create(api, case_id, **{"Upload-Metadata": metadata(colour="red")}).status_code == 422
    assert create(api, case_id, **{"Upload-Metadata": "title not-base64!"}).status_code == 422
    assert create(api, case_id, length=0).status_code == 422
    assert create(api, case_id, length=app.config["MAX_CONTENT_LENGTH"] + 1).status_code == 413

    body = b"0123456789"
    created = create(api, case_id, **{"Upload-Metadata": metadata(filename="<script>.txt", title="Notes")})
    assert created.status_code == 201 and created.headers["Upload-Offset"] == "0"
    location = created.headers["Location"]
    assert patch(api, location, body[:4], 4).status_code == 409  # not where the upload is
    assert patch(api, location, body[:4], 0, **{"Content-Type": "text/plain"}).status_code == 415
    bad_sum = base64.b64encode(hashlib.sha1(b"other", usedforsecurity=False).digest()).decode()
    assert patch(api, location, body[:4], 0, **{"Upload-Checksum": f"sha1 {bad_sum}"}).status_code == 460
    assert patch(api, location, body[:4], 0, **{"Upload-Checksum": "crc32 AAAA"}).status_code == 422
    good_sum = base64.b64encode(hashlib.sha1(body[:4], usedforsecurity=False).digest()).decode()
    first = patch(api, location, body[:4], 0, **{"Upload-Checksum": f"sha1 {good_sum}"})
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "4"
    outsider, _ = api_for("investigator")
    assert patch(outsider, location, body[4:], 4).status_code == 404
    assert outsider.client.head(urlsplit(location).path, headers=outsider.headers).status_code == 404
    assert patch(api, location, body[4:] + b"extra", 4).status_code == 413
    last = patch(api, location, body[4:], 4)
    assert last.status_code == 204 and last.headers["Upload-Offset"] == "10"
    assert patch(api, location, b"more", 10).status_code == 409  # complete
    run_queued_jobs(app)
    done = api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()
    assert done["state"] == "done" and done["sha256"] == hashlib.sha256(body).hexdigest()
    assert api.get(f"/evidence/{done['evidence_id']}").get_json()["original_filename"] == "<script>.txt"

    # The same file again, its hash declared: refused before a byte is sent.
    again = create(api, case_id, **{"Upload-Metadata": metadata(sha256=done["sha256"])})
    assert again.status_code == 409
    # Termination: the bytes go, the upload answers 410.
    gone = create(api, case_id)
    path = urlsplit(gone.headers["Location"]).path
    assert patch(api, gone.headers["Location"], b"abc", 0).status_code == 204
    assert api.client.delete(path, headers={**api.headers, "Tus-Resumable": "1.0.0"}).status_code == 204
    assert api.client.head(path, headers={**api.headers, "Tus-Resumable": "1.0.0"}).status_code == 410
    assert patch(api, gone.headers["Location"], b"d", 3).status_code == 410
    assert parts(app) == ([], [])


def test_abandoned_uploads_expire_and_are_swept(app: Flask, team: tuple[Api, uuid.UUID]) -> None:
    from datetime import timedelta

    from casefile.db import session_scope, utcnow
    from casefile.intake.jobs import SWEEP
    from casefile.intake.models import ResumableUpload
    from casefile.jobs.services import submit

    api, case_id = team
    created = create(api, case_id)
    location = created.headers["Location"]
    assert patch(api, location, b"abc", 0).status_code == 204
    assert [len(found) for found in parts(app)] == [1, 1]
    with app.app_context(), session_scope() as s:
        upload = s.get(ResumableUpload, uuid.UUID(location.rsplit("/", 1)[-1]))
        assert upload is not None
        upload.expires_at = utcnow() - timedelta(minutes=1)
    assert patch(api, location, b"d", 3).status_code == 410
    with app.app_context(), session_scope() as s:
        submit(s, SWEEP, None, None)
    run_queued_jobs(app)
    assert parts(app) == ([], [])
    assert api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()["state"] == "expired"


def test_the_requests_of_one_upload_may_reach_two_servers_that_share_no_folder(
    app: Flask, another_machine: Callable[..., Flask], team: tuple[Api, uuid.UUID]
) -> None:
    """Another web server: the same database and blob store, an instance folder of its own."""
    other = another_machine()
    api, case_id = team
    second = Api(other.test_client(), api.headers["Authorization"].removeprefix("Bearer "))
    body = os.urandom(3 * MIB + 5)
    location = create(api, case_id, length=len(body), **{"Upload-Metadata": metadata(title="Video")}).headers[
        "Location"
    ]
    for n, start in enumerate(range(0, len(body), MIB)):
        sent = patch((api, second)[n % 2], location, body[start : start + MIB], start)
        assert sent.status_code == 204, sent.get_json()
        assert (second, api)[n % 2].client.head(
            urlsplit(location).path, headers={**api.headers, "Tus-Resumable": "1.0.0"}
        ).headers["Upload-Offset"] == str(min(start + MIB, len(body)))
    run_queued_jobs(other)  # and a worker of a third machine would do the same
    done = api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()
    assert done["state"] == "done" and done["sha256"] == hashlib.sha256(body).hexdigest(), done
    assert api.get(f"/evidence/{done['evidence_id']}").get_json()["size"] == len(body)
    assert parts(app) == ([], [])


def test_two_requests_at_one_offset_one_wins_the_other_gets_409(
    app: Flask, live_server: str, team: tuple[Api, uuid.UUID]
) -> None:
    api, case_id = team
    location = create(api, case_id, length=8).headers["Location"]
    url = live_server + urlsplit(location).path
    token = api.headers["Authorization"]
    slow = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port, timeout=30)
    slow.putrequest("PATCH", urlsplit(url).path)
    headers = {"Authorization": token, "Tus-Resumable": "1.0.0", "Upload-Offset": "0"}
    for name, value in {**headers, "Content-Type": "application/offset+octet-stream", "Content-Length": "4"}.items():
        slow.putheader(name, value)
    slow.endheaders()
    slow.send(b"ab")  # the slow request is under way at offset 0 …
    fast = patch(api, location, b"wxyz", 0)  # … when another one at offset 0 completes
    assert fast.status_code == 204 and fast.headers["Upload-Offset"] == "4"
    slow.send(b"cd")
    response = slow.getresponse()
    response.read()
    slow.close()
    assert response.status == 409
    stored, named = parts(app)
    assert stored == named and len(named) == 1  # the loser's part is gone
    assert patch(api, location, b"1234", 4).status_code == 204
    run_queued_jobs(app)
    done = api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()
    assert done["sha256"] == hashlib.sha256(b"wxyz1234").hexdigest()


def test_a_part_missing_from_the_store_fails_the_upload_rather_than_record_a_wrong_file(
    app: Flask, team: tuple[Api, uuid.UUID]
) -> None:
    api, case_id = team
    location = create(api, case_id, length=6).headers["Location"]
    assert patch(api, location, b"abc", 0).status_code == 204
    assert patch(api, location, b"def", 3).status_code == 204
    stored, _named = parts(app)
    components.blob_store(app).delete_part(stored[0])
    run_queued_jobs(app)
    failed = api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()
    assert failed["state"] == "failed" and failed["evidence_id"] is None
    assert "missing" in failed["error"], failed
    assert parts(app) == ([], [])


def test_a_part_no_upload_names_is_swept_once_old(
    app: Flask, another_machine: Callable[..., Flask], team: tuple[Api, uuid.UUID], tmp_path: Path
) -> None:
    """A server that died between storing a part and confirming it leaves a part nothing names."""
    from casefile.db import session_scope
    from casefile.intake.jobs import SWEEP
    from casefile.jobs.services import submit

    api, case_id = team
    location = create(api, case_id, length=6).headers["Location"]
    assert patch(api, location, b"abc", 0).status_code == 204
    upload_id = location.rsplit("/", 1)[-1]
    orphan = tmp_path / "orphan"
    orphan.write_bytes(b"def")
    stray = f"tus/{upload_id}/{3:020d}-{uuid.uuid4().hex}"
    components.blob_store(app).put_part(stray, str(orphan))
    with app.app_context(), session_scope() as s:
        submit(s, SWEEP, None, None)
    run_queued_jobs(app)  # young: it may still be confirmed
    assert stray in parts(app)[0]
    later = another_machine(temp_max_age_seconds=0.0)
    with later.app_context(), session_scope() as s:
        submit(s, SWEEP, None, None)
    run_queued_jobs(later)
    stored, named = parts(app)
    assert stray not in stored and stored == named and len(named) == 1  # the confirmed part stays
    assert patch(api, location, b"def", 3).status_code == 204


def test_a_recording_that_fails_for_good_fails_the_upload_and_its_parts_go_with_the_sweep(
    app: Flask, another_machine: Callable[..., Flask], team: tuple[Api, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's last attempt fails (the store unreachable): the upload fails, and nothing is left of its parts."""
    from sqlalchemy import update

    from casefile.db import session_scope
    from casefile.intake.jobs import FINISH, SWEEP
    from casefile.jobs.models import Job
    from casefile.jobs.services import submit
    from casefile.storage import StorageError

    api, case_id = team
    location = create(api, case_id, length=3).headers["Location"]
    assert patch(api, location, b"abc", 0).status_code == 204
    with app.app_context(), session_scope() as s:
        s.execute(update(Job).where(Job.kind == FINISH).values(max_attempts=1))

    def unreachable(name: str) -> Any:
        raise StorageError("the store does not answer")

    monkeypatch.setattr(components.blob_store(app), "open_part", unreachable)
    run_queued_jobs(app)
    failed = api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()
    assert failed["state"] == "failed" and failed["evidence_id"] is None, failed
    stored, named = parts(app)
    assert len(stored) == 1 and named == []  # the row went with the failure; the object waits for the sweep
    later = another_machine(temp_max_age_seconds=0.0)
    with later.app_context(), session_scope() as s:
        submit(s, SWEEP, None, None)
    run_queued_jobs(later)
    assert parts(app) == ([], [])


def test_the_sweep_is_due_while_uploads_are_in_progress_and_until_their_strays_are_old(
    app: Flask, team: tuple[Api, uuid.UUID]
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from casefile.db import session_scope, utcnow
    from casefile.intake.jobs import sweep_due
    from casefile.intake.models import ResumableUpload

    def due() -> bool:
        with app.app_context(), session_scope() as s:
            return sweep_due(s)

    api, case_id = team
    assert not due()  # nothing was ever uploaded: no job every ten minutes for nothing
    location = create(api, case_id, length=3).headers["Location"]
    assert due()  # in progress (a stray part may appear at any time)
    assert patch(api, location, b"abc", 0).status_code == 204
    run_queued_jobs(app)
    assert api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()["state"] == "done"
    assert due()  # ended just now: a part left by a server that died may still be too young to sweep
    max_age = components.settings(app).temp_max_age_seconds
    with app.app_context(), session_scope() as s:
        s.execute(update(ResumableUpload).values(updated_at=utcnow() - timedelta(seconds=max_age, hours=1)))
    assert not due()


def test_the_recording_job_run_again_records_nothing_twice(app: Flask, team: tuple[Api, uuid.UUID]) -> None:
    """A worker killed after the job's commit, its job reclaimed and run again (or run by two workers at once)."""
    from sqlalchemy import func, select

    from casefile.auth.models import User
    from casefile.db import session_scope
    from casefile.evidence.models import EvidenceItem
    from casefile.intake.jobs import FINISH
    from casefile.intake.models import ResumableUpload
    from casefile.jobs.services import submit

    api, case_id = team
    location = create(api, case_id, length=3).headers["Location"]
    assert patch(api, location, b"xyz", 0).status_code == 204
    run_queued_jobs(app)
    with app.app_context(), session_scope() as s:
        upload = s.get(ResumableUpload, uuid.UUID(location.rsplit("/", 1)[-1]))
        assert upload is not None and upload.evidence_id is not None
        submit(s, FINISH, upload.case, s.get(User, upload.created_by_id), {"upload_id": str(upload.id)})
    run_queued_jobs(app)
    with app.app_context(), session_scope() as s:
        same = select(func.count()).where(EvidenceItem.sha256 == hashlib.sha256(b"xyz").hexdigest())
        assert s.scalar(same.select_from(EvidenceItem)) == 1
    assert api.get(urlsplit(location).path.removeprefix("/api/v1")).get_json()["state"] == "done"
