"""A PDF's text is read by a job after its upload has been answered: the item shows "processing" until the job
ends; a damaged PDF ends with no text, an unreadable file with the status failed (the evidence untouched); the
scheduled backfill reads the text of files uploaded without it. Jobs run in this process by the runner, as a
worker thread runs them; the real queue and worker are in tests/jobs/test_worker.py."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from weasyprint import HTML

from casefile import components
from casefile.db import session_scope, utcnow
from casefile.evidence.jobs import BACKFILL_GRACE, READ_TEXT, TEXT_BACKFILL
from casefile.evidence.models import EvidenceItem, TextStatus
from casefile.jobs import runner
from casefile.jobs.models import Job, JobState
from casefile.storage import LocalBlobStore

from support import Account, Api, ledger, login, run_queued_jobs


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
    return str(api.get(f"/evidence/{item['id']}").get_json()["text_status"])


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
    assert item["text_status"] == "pending" and item["ern"] and len(item["sha256"]) == 64
    assert ledger(app)[-1].action == "ingested" and ledger(app)[-1].evidence_id == uuid.UUID(item["id"])
    jobs = api.get(f"/jobs?case_id={case_id}").get_json()["items"]
    assert [(j["kind"], j["state"], j["requested_by_id"]) for j in jobs] == [(READ_TEXT, "queued", str(owner.id))]
    login(client, owner)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'data-status="pending"' in page and "processing" in page
    assert "processing" in client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)

    before = len(ledger(app))
    run_queued_jobs(app)
    assert len(ledger(app)) == before  # derived data for search: no custody entry, the file untouched
    assert status(api, item) == "done"
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'id="text-status"' not in page
    assert "processing" not in client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        assert "Mizdah" in s.get_one(EvidenceItem, uuid.UUID(item["id"])).text_content


def test_a_damaged_pdf_ends_with_no_text_and_a_text_file_needs_no_job(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "DMG")
    damaged = post(api, case_id, b"%PDF-1.7\n" + os.urandom(4000), "damaged.pdf")
    note = post(api, case_id, "ملاحظة ميدانية".encode(), "note.txt")
    photo = post(api, case_id, b"\x89PNG\r\n\x1a\n" + os.urandom(100), "not-really.png")
    assert (damaged["text_status"], note["text_status"], photo["text_status"]) == ("pending", "done", "none")
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
        backfills = [j for j in s.query(Job).all() if j.kind == TEXT_BACKFILL]
        assert [j.result for j in backfills] == [{"read": 2, "considered": 2}]
        assert s.get_one(EvidenceItem, old_ids[0]).text_status is TextStatus.DONE
    with app.app_context():  # nothing left to read: not due again
        later = utcnow() + timedelta(hours=1)
        assert not [j for j in runner.run_schedules(app, now=later) if _kind(app, j) == TEXT_BACKFILL]


def _kind(app: Flask, job_id: uuid.UUID) -> str:
    with app.app_context(), session_scope() as s:
        return s.get_one(Job, job_id).kind
