"""Jobs through the real queue and real worker processes (`flask --app app jobs worker`), on both back-ends:
SqliteHuey in the test's instance folder, and RedisHuey on a real Redis server. The test process submits and
watches through the API; the worker is a separate process with the same settings, as in production."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from weasyprint import HTML

from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.custody.actions import Action
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.db import session_scope
from casefile.jobs import services
from casefile.jobs.models import Job

import jobs_support
from support import Account, Api
from worker_support import STALE_SECONDS, Worker, wait_for

pytestmark = pytest.mark.usefixtures("queue_backend")
FINISHED = ("succeeded", "failed", "cancelled")


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None], make_user: Callable[..., Account]
) -> dict[str, Any]:
    owner_api, owner = api_for("investigator")
    case = owner_api.post("/cases", {"reference": "JOB", "title": "Jobs"}).get_json()["id"]
    for n in range(3):
        response = owner_api.post(
            f"/cases/{case}/evidence",
            data={"file": (BytesIO(f"exhibit {n}\n".encode() * 50), f"exhibit-{n}.txt"), "title": f"Exhibit {n}"},
            content_type="multipart/form-data",
        )
        response.request.input_stream.close()
        assert response.status_code == 201, response.get_json()
    reviewer = make_user("reviewer")
    add_member(case, reviewer, "reviewer")
    reviewer_api, _ = api_for(account=reviewer)
    return {"case": uuid.UUID(case), "owner": owner, "owner_api": owner_api, "reviewer": reviewer, "api": reviewer_api}


def submit(app: Flask, kind: str, account: Account, case_id: uuid.UUID, **params: Any) -> str:
    with app.app_context(), session_scope() as s:
        user, case = s.get(User, account.id), s.get(Case, case_id)
        return str(services.submit(s, kind, case, user, params).id)


def follow(api: Api, job_id: str, until: Callable[[dict[str, Any]], bool], timeout: float = 60) -> list[dict[str, Any]]:
    """Poll GET /jobs/{id} until `until(job)`; every answer seen, in order."""
    seen: list[dict[str, Any]] = []

    def poll() -> bool:
        response = api.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.get_json()
        seen.append(response.get_json())
        return until(seen[-1])

    wait_for(poll, timeout, f"job {job_id}: {seen[-1] if seen else 'no answer'}", interval=0.1)
    return seen


def finished(job: dict[str, Any]) -> bool:
    return job["state"] in FINISHED


def notes(app: Flask, job_id: str) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        entries = s.scalars(select(CustodyEntry).where(CustodyEntry.action == Action.NOTE.value))
        return [e for e in entries if e.details.get("job") == job_id]


def custody_intact(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["custody", "verify"])
    assert result.exit_code == 0 and "INTACT" in result.output, result.output


def test_a_job_runs_to_success_with_its_progress_visible_through_the_api(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    job_id = submit(app, jobs_support.SLOW, team["owner"], team["case"], steps=6, delay=0.4)
    start_worker()
    seen = follow(team["api"], job_id, finished)
    states = [job["state"] for job in seen]
    assert states[-1] == "succeeded", seen[-1]
    midway = [job["progress"] for job in seen if job["state"] == "running" and 0 < job["progress"]["done"] < 6]
    assert midway, f"no progress seen while it ran: {[(j['state'], j['progress']) for j in seen]}"
    assert all(p["total"] == 6 and p["message"].startswith("step ") for p in midway)
    dones = [job["progress"]["done"] for job in seen if job["state"] == "running"]
    assert dones == sorted(dones)  # progress only moves forward
    last = seen[-1]
    assert last["progress"]["done"] == 6 and last["attempts"] == 1 and last["error"] is None
    (note,) = notes(app, job_id)
    assert last["result"] == {"note_seq": note.seq, "attempt": 1}


def test_a_reviewer_verifies_a_case_in_the_background(
    app: Flask,
    team: dict[str, Any],
    start_worker: Callable[..., Worker],
    api_for: Callable[..., tuple[Api, Account]],
) -> None:
    start_worker()
    started = team["api"].post("/custody/verifications", {"case_id": str(team["case"])})
    assert started.status_code == 202, started.get_json()
    job = follow(team["api"], started.get_json()["id"], finished)[-1]
    assert job["state"] == "succeeded", job
    assert job["result"]["ok"] is True and job["result"]["items_checked"] == 3 and job["result"]["problems"] == []
    assert job["progress"] == {"done": 3, "total": 3, "message": "Re-hashing the files"}
    with app.app_context(), session_scope() as s:
        fixity = s.scalars(
            select(CustodyEntry).where(
                CustodyEntry.action == Action.FIXITY_VERIFIED.value, CustodyEntry.actor == f"user:{team['reviewer'].id}"
            )
        ).all()
    assert len(fixity) == 3  # one per file, once
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--background", "--no-fixity"])
    assert result.exit_code == 0, result.output
    admin, _ = api_for("admin")  # an instance-wide job of the instance itself: administrators follow it
    job = follow(admin, result.output.strip(), finished)[-1]
    assert job["state"] == "succeeded" and job["requested_by_id"] is None and job["case_id"] is None
    assert job["result"]["ok"] is True and job["result"]["fixity"] is False and job["result"]["items_checked"] == 0
    custody_intact(app)


def test_cancel_stops_a_running_job_and_keeps_nothing(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    job_id = submit(app, jobs_support.SLOW, team["owner"], team["case"], steps=100, delay=0.1)
    start_worker()
    follow(team["owner_api"], job_id, lambda job: job["state"] == "running" and job["progress"]["done"] >= 2)
    asked = team["owner_api"].post(f"/jobs/{job_id}/cancel")
    assert asked.status_code == 200 and asked.get_json()["cancel_requested"] is True
    job = follow(team["owner_api"], job_id, finished)[-1]
    assert job["state"] == "cancelled" and job["finished_at"] and job["progress"]["done"] < 100
    assert not notes(app, job_id)


def test_access_withdrawn_before_the_run_fails_the_job_with_the_reason(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    started = team["api"].post("/custody/verifications", {"case_id": str(team["case"])})
    assert started.status_code == 202
    job_id = started.get_json()["id"]
    with app.app_context(), session_scope() as s:
        case = s.get(Case, team["case"])
        assert case is not None
        auth_services.remove_member(s, case, team["reviewer"].id)
    start_worker()
    job = follow(team["owner_api"], job_id, finished)[-1]  # the reviewer may no longer see it
    assert job["state"] == "failed" and job["attempts"] == 0
    assert job["error"] == "The user who asked for this job no longer has access to its case, so it was not run."
    with app.app_context(), session_scope() as s:
        by_reviewer = s.scalars(select(CustodyEntry).where(CustodyEntry.actor == f"user:{team['reviewer'].id}"))
        assert not by_reviewer.all()


def _killed_mid_job(app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker], kind: str) -> str:
    """Start `kind`, SIGKILL its worker mid-run, and leave the job `running` with a silent heartbeat."""
    job_id = submit(app, kind, team["owner"], team["case"], steps=12, delay=0.25)
    worker = start_worker()
    follow(team["owner_api"], job_id, lambda job: job["state"] == "running" and job["progress"]["done"] >= 2)
    worker.kill()
    stuck = team["owner_api"].get(f"/jobs/{job_id}").get_json()
    assert stuck["state"] == "running" and stuck["attempts"] == 1  # nothing ran to mark it otherwise
    time.sleep(STALE_SECONDS + 0.5)  # its heartbeat is now older than the stale bound
    return job_id


def test_a_job_whose_worker_was_killed_is_retried_by_the_next_worker(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    job_id = _killed_mid_job(app, team, start_worker, jobs_support.SLOW)
    restarted = start_worker()
    job = follow(team["owner_api"], job_id, finished)[-1]
    assert job["state"] == "succeeded" and job["attempts"] == 2, (job, restarted.output())
    assert "1 retried" in restarted.output()
    assert len(notes(app, job_id)) == 1  # the killed attempt left no effect, the retry one
    custody_intact(app)


def test_a_job_killed_on_its_last_attempt_is_failed_with_the_reason(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    job_id = _killed_mid_job(app, team, start_worker, jobs_support.SLOW_ONCE)
    start_worker()
    job = follow(team["owner_api"], job_id, finished, timeout=30)[-1]
    assert job["state"] == "failed" and job["attempts"] == 1
    assert job["error"].startswith("Failed: its worker stopped answering during attempt 1 of 1")
    assert not notes(app, job_id)
    custody_intact(app)


def test_a_stopping_worker_hands_its_job_back(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker], queue_backend: str
) -> None:
    # Ctrl-C (make run) and SIGTERM (service managers) both stop gracefully; one signal per back-end, to save time.
    sig = signal.SIGINT if queue_backend == "sqlite" else signal.SIGTERM
    job_id = submit(app, jobs_support.SLOW, team["owner"], team["case"], steps=40, delay=0.1)
    worker = start_worker()
    follow(team["owner_api"], job_id, lambda job: job["state"] == "running" and job["progress"]["done"] >= 2)
    assert worker.stop(sig, timeout=30) == 0, worker.output()
    job = team["owner_api"].get(f"/jobs/{job_id}").get_json()
    assert job["state"] == "queued" and job["attempts"] == 0, job
    start_worker()
    job = follow(team["owner_api"], job_id, finished)[-1]
    assert job["state"] == "succeeded" and job["attempts"] == 1 and len(notes(app, job_id)) == 1


def test_a_worker_signs_a_checkpoint_when_the_ledger_grew(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    start_worker()  # the periodic tick runs at once, then every minute

    def checkpoint_job() -> Job | None:
        with app.app_context(), session_scope() as s:
            job = s.scalar(select(Job).where(Job.kind == "custody.checkpoint"))
            return job if job is not None and job.finished else None

    job = wait_for(checkpoint_job, 60, "the scheduled checkpoint")
    assert job.state.value == "succeeded" and job.requested_by_id is None and job.result["created"] is True
    with app.app_context(), session_scope() as s:
        checkpoint = s.scalar(select(Checkpoint).where(Checkpoint.reason == "scheduled"))
        assert checkpoint is not None and checkpoint.tree_size == job.result["tree_size"]
    custody_intact(app)


def test_a_pdfs_text_is_read_by_a_worker_after_the_upload_and_becomes_searchable(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    content = HTML(string="<html><body><p>The Kaniyat held detainees at the Qasr Bin Ghashir depot</p></body></html>")
    response = team["owner_api"].post(
        f"/cases/{team['case']}/evidence",
        data={"file": (BytesIO(content.write_pdf()), "statement.pdf"), "title": "Statement"},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert response.status_code == 201 and response.get_json()["derived_status"] == "pending"
    item = response.get_json()
    (job,) = team["owner_api"].get(f"/jobs?case_id={team['case']}").get_json()["items"]
    assert job["kind"] == "evidence.derive"

    def searchable() -> bool:
        hits = team["owner_api"].get("/search", query_string={"q": "Ghashir"}).get_json()["items"]
        return any(hit["object_id"] == item["id"] for hit in hits)

    assert not searchable()
    start_worker()
    assert follow(team["owner_api"], job["id"], finished)[-1]["state"] == "succeeded"
    assert team["owner_api"].get(f"/evidence/{item['id']}").get_json()["derived_status"] == "done"
    assert searchable()


def test_commands_queue_a_job_and_follow_it_to_its_end(
    app: Flask, team: dict[str, Any], start_worker: Callable[..., Worker]
) -> None:
    start_worker()
    cli = app.test_cli_runner()
    verified = cli.invoke(args=["custody", "verify", "--background", "--wait", "--case", "JOB"])
    assert verified.exit_code == 0, verified.output
    job_id, *_lines, last = verified.output.strip().splitlines()
    assert uuid.UUID(job_id) and last.startswith("INTACT: ") and "3 files checked" in last
    rebuilt = cli.invoke(args=["search", "reindex", "--background", "--wait"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert (
        rebuilt.output.strip().splitlines()[-1].startswith("Search index rebuilt: actor: 0, evidence: 3, incident: 0")
    )
