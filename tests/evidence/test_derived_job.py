"""A PDF's text, and a large image's metadata and preview, are made by a job after the upload has been answered:
the item shows "processing" until the job ends; a damaged PDF ends with no text, an unreadable file with the
status failed (the evidence untouched); the scheduled backfill reads the text of files uploaded without it. Jobs
run in this process by the runner, as a worker thread runs them; the real queue and worker are in
tests/jobs/test_worker.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from weasyprint import HTML

from casefile import components
from casefile.db import session_scope, utcnow
from casefile.evidence import derived
from casefile.evidence.jobs import BACKFILL, BACKFILL_GRACE, DERIVE
from casefile.evidence.models import DerivedStatus, EvidenceItem
from casefile.jobs import runner
from casefile.jobs.models import Job, JobState
from casefile.storage import LocalBlobStore

from support import Account, Api, ledger, login, run_queued_jobs

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"


def pdf(text: str) -> bytes:
    return HTML(string=f"<html><body><p>{text}</p></body></html>").write_pdf()


def post(api: Api, case_id: uuid.UUID, content: bytes, name: str) -> dict[str, Any]:
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(content), name), "title": name},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def status(api: Api, item: dict[str, Any]) -> str:
    return str(api.get(f"/evidence/{item['id']}").get_json()["derived_status"])


def test_the_upload_is_answered_first_and_the_item_shows_processing_until_the_job_ends(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "TXT")
    item = post(api, case_id, pdf("Statement about the Mizdah checkpoint"), "statement.pdf")
    # Answered with hash, ERN and ingest entry; the text is still to be read, by a job of the case.
    assert item["derived_status"] == "pending" and item["ern"] and len(item["sha256"]) == 64
    assert ledger(app)[-1].action == "ingested" and ledger(app)[-1].evidence_id == uuid.UUID(item["id"])
    jobs = api.get(f"/jobs?case_id={case_id}").get_json()["items"]
    assert [(j["kind"], j["state"], j["requested_by_id"]) for j in jobs] == [(DERIVE, "queued", str(owner.id))]
    login(client, owner)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'data-status="pending"' in page and "processing" in page
    assert "processing" in client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)

    before = len(ledger(app))
    run_queued_jobs(app)
    assert len(ledger(app)) == before  # derived data for search: no custody entry, the file untouched
    assert status(api, item) == "done"
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'id="derived-status"' not in page
    assert "processing" not in client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert "Mizdah" in s.get_one(EvidenceItem, uuid.UUID(item["id"])).text_content


def test_a_damaged_pdf_ends_with_no_text_and_small_files_need_no_job(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "DMG")
    damaged = post(api, case_id, b"%PDF-1.7\n" + os.urandom(4000), "damaged.pdf")
    note = post(api, case_id, "ملاحظة ميدانية".encode(), "note.txt")
    photo = post(api, case_id, b"\x89PNG\r\n\x1a\n" + os.urandom(100), "not-really.png")
    assert (damaged["derived_status"], note["derived_status"], photo["derived_status"]) == ("pending", "done", "done")
    (job_id,) = run_queued_jobs(app)
    assert status(api, damaged) == "done"
    job = api.get(f"/jobs/{job_id}").get_json()
    assert job["state"] == "succeeded" and job["result"]["characters"] == 0


def test_an_unreadable_file_fails_its_job_and_the_item_says_so(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "GONE")
    item = post(api, case_id, pdf("A statement"), "statement.pdf")
    store = components.blob_store(app)
    if isinstance(store, LocalBlobStore):  # the file disappears behind the application's back
        os.chmod(os.path.dirname(store.path_for(item["sha256"])), 0o700)
        os.remove(store.path_for(item["sha256"]))
    else:
        store.client.delete_object(Bucket=store.bucket, Key=store.key_for(item["sha256"]))
    for _attempt in range(3):
        run_queued_jobs(app)
    jobs = api.get(f"/jobs?case_id={case_id}").get_json()["items"]
    assert jobs[0]["state"] == "failed" and jobs[0]["attempts"] == 3
    assert status(api, item) == "failed"
    login(client, owner)
    assert 'data-status="failed"' in client.get(f"/evidence/{item['id']}").get_data(as_text=True)


def test_the_backfill_reads_files_left_without_text_once(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "OLD")
    items = [post(api, case_id, pdf(f"Old statement number {n}"), f"old-{n}.pdf") for n in range(2)]
    fresh = post(api, case_id, pdf("A statement uploaded just now"), "fresh.pdf")
    with app.app_context(), session_scope() as s:
        # As if uploaded before text extraction existed: pending, long ago, and no job of their own.
        long_ago = utcnow() - BACKFILL_GRACE - timedelta(hours=1)
        old_ids = [uuid.UUID(i["id"]) for i in items]
        s.execute(update(EvidenceItem).where(EvidenceItem.id.in_(old_ids)).values(created_at=long_ago))
        s.execute(update(Job).values(state=JobState.CANCELLED, finished_at=utcnow()))
    with app.app_context():
        submitted = runner.run_schedules(app)
    assert submitted, "the backfill is due"
    run_queued_jobs(app)
    assert [status(api, i) for i in items] == ["done", "done"]
    assert status(api, fresh) == "pending"  # within the grace period its own job is expected to read it
    with app.app_context(), session_scope() as s:
        backfills = [j for j in s.query(Job).all() if j.kind == BACKFILL]
        assert [j.result for j in backfills] == [{"read": 2, "considered": 2}]
        assert s.get_one(EvidenceItem, old_ids[0]).derived_status is DerivedStatus.DONE
    with app.app_context():  # nothing left to read: not due again
        later = utcnow() + timedelta(hours=1)
        assert not [j for j in runner.run_schedules(app, now=later) if _kind(app, j) == BACKFILL]


def _kind(app: Flask, job_id: uuid.UUID) -> str:
    with app.app_context(), session_scope() as s:
        return s.get_one(Job, job_id).kind


def test_a_large_photos_metadata_and_preview_are_made_after_the_upload(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "BIG")
    photo = (PHOTOS / "DSCN0010.jpg").read_bytes()  # a camera photo with GPS in its EXIF
    monkeypatch.setattr(derived, "DERIVE_INLINE_BYTES", len(photo) - 1)  # "large" from this one on
    item = post(api, case_id, photo, "DSCN0010.jpg")
    assert item["derived_status"] == "pending" and item["metadata_status"] == "pending"
    assert item["metadata"] == {"status": "pending"}
    login(client, owner)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert "The preview is being made." in page and 'data-status="pending"' in page
    assert client.get(f"/evidence/{item['id']}/preview").status_code == 404

    (job_id,) = run_queued_jobs(app)
    done = api.get(f"/evidence/{item['id']}").get_json()
    assert done["derived_status"] == "done" and done["metadata_status"] == "ok"
    assert done["metadata"]["gps"]["latitude"] == pytest.approx(43.467, abs=0.01)
    assert done["sha256"] == item["sha256"]  # the evidence is what it was
    assert api.get(f"/jobs/{job_id}").get_json()["result"]["preview"] is True
    preview = client.get(f"/evidence/{item['id']}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    # What the ingest entry said stays true: it was recorded before the metadata was read.
    (ingested,) = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == item["id"]]
    assert ingested.details["metadata_status"] == "pending"
