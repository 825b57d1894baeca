"""A dossier build as a job, run in this process by the runner as a worker thread would (casefile.jobs.runner.run),
with failures injected between its steps. The real queue and real killed workers are in
tests/jobs/test_killed_mid_work.py.

What must hold: a retried build reuses the `exported` entries and checkpoint of its first attempt (no entry is
written twice); a build that ends without a dossier (failed for good, cancelled while queued or running, reclaimed
after its worker died on its last attempt) leaves the dossier `failed` with the reason and, when its entries were
written, a `build_failed` note naming it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from casefile import components
from casefile.auth.models import User
from casefile.custody.actions import Action
from casefile.custody.models import Checkpoint
from casefile.db import session_scope, utcnow
from casefile.dossier import builder
from casefile.dossier.models import Dossier, DossierStatus
from casefile.jobs import runner
from casefile.jobs.models import Job, JobState

from support import Account, Api, ledger, run_queued_jobs, upload

ITEMS = 3


@pytest.fixture
def team(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> tuple[Api, uuid.UUID]:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "BLD")
    for n in range(ITEMS):
        upload(api, case_id, f"exhibit {n}\n".encode(), f"exhibit-{n}.txt")
    return api, case_id


def ask(api: Api, case_id: uuid.UUID) -> tuple[str, str]:
    """POST a build of every item of the case; (dossier id, job id)."""
    items = api.get(f"/cases/{case_id}/evidence").get_json()["items"]
    response = api.post(f"/cases/{case_id}/dossiers", {"profile": "generic", "evidence_ids": [i["id"] for i in items]})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"], response.get_json()["job_id"]


def state(app: Flask, dossier_id: str, job_id: str) -> tuple[Dossier, Job]:
    with app.app_context(), session_scope() as s:
        return s.get_one(Dossier, uuid.UUID(dossier_id)), s.get_one(Job, uuid.UUID(job_id))


def for_dossier(app: Flask, dossier_id: str, action: Action) -> list[Any]:
    return [e for e in ledger(app) if e.action == action and e.details.get("dossier") == dossier_id]


def failing_stream(times: int) -> Callable[..., Any]:
    """A stand-in for builder._stream_evidence that fails `times` times (after step 1), then streams."""
    real = builder._stream_evidence
    calls = {"n": 0}

    def stream(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OSError("the disk went away")
        return real(*args)

    return stream


def test_a_retried_build_reuses_the_entries_of_its_first_attempt(
    app: Flask, team: tuple[Api, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, case_id = team
    dossier_id, job_id = ask(api, case_id)
    monkeypatch.setattr(builder, "_stream_evidence", failing_stream(1))
    run_queued_jobs(app)
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.QUEUED and job.attempts == 1 and "will be tried again" in (job.error or "")
    assert dossier.status is DossierStatus.BUILDING and dossier.checkpoint_id is not None
    assert len(for_dossier(app, dossier_id, Action.EXPORTED)) == ITEMS

    run_queued_jobs(app)
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.SUCCEEDED and job.attempts == 2
    assert dossier.status is DossierStatus.READY and dossier.sha256 == job.result["sha256"]
    exported = for_dossier(app, dossier_id, Action.EXPORTED)
    assert len(exported) == ITEMS + 1 and len({e.evidence_id for e in exported}) == ITEMS + 1  # + the case-level one
    with app.app_context(), session_scope() as s:
        signed = s.scalars(select(Checkpoint).where(Checkpoint.reason == f"dossier {dossier_id}")).all()
    assert [c.id for c in signed] == [dossier.checkpoint_id]
    assert not for_dossier(app, dossier_id, Action.NOTE)


def test_a_build_failed_for_good_is_failed_and_noted_in_the_ledger(
    app: Flask, team: tuple[Api, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, case_id = team
    dossier_id, job_id = ask(api, case_id)
    monkeypatch.setattr(builder, "_stream_evidence", failing_stream(99))
    for _attempt in range(3):
        run_queued_jobs(app)
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.FAILED and job.attempts == 3 and job.error.startswith("Failed after 3 attempt(s)")
    assert dossier.status is DossierStatus.FAILED and dossier.error == job.error and dossier.sha256 is None
    assert len(for_dossier(app, dossier_id, Action.EXPORTED)) == ITEMS  # once, not once per attempt
    (note,) = for_dossier(app, dossier_id, Action.NOTE)
    assert note.details["build_failed"] == job.error
    page = api.get(f"/dossiers/{dossier_id}").get_json()
    assert page["status"] == "failed" and page["error"] == job.error


def test_a_build_cancelled_while_queued_writes_nothing_to_the_ledger(app: Flask, team: tuple[Api, uuid.UUID]) -> None:
    api, case_id = team
    before = len(ledger(app))
    dossier_id, job_id = ask(api, case_id)
    assert api.post(f"/jobs/{job_id}/cancel").status_code == 200
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.CANCELLED
    assert dossier.status is DossierStatus.FAILED and dossier.error == "The build was cancelled."
    assert run_queued_jobs(app) == [] and len(ledger(app)) == before


def test_a_build_cancelled_while_running_is_failed_and_noted(
    app: Flask, team: tuple[Api, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    api, case_id = team
    dossier_id, job_id = ask(api, case_id)

    def cancelled_meanwhile(*args: Any) -> Any:
        with session_scope() as s:
            s.execute(update(Job).where(Job.id == uuid.UUID(job_id)).values(cancel_requested_at=utcnow()))
        hooks = args[4]
        hooks._touch()  # the heartbeat reads the request back, as it does every few seconds in a worker
        hooks.progress(1, 5, "streaming")  # ... and the next progress report stops the job
        raise AssertionError("a cancelled job must stop at its next check")

    monkeypatch.setattr(builder, "_stream_evidence", cancelled_meanwhile)
    run_queued_jobs(app)
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.CANCELLED
    assert dossier.status is DossierStatus.FAILED and dossier.error == "The build was cancelled."
    (note,) = for_dossier(app, dossier_id, Action.NOTE)
    assert note.details["build_failed"] == "The build was cancelled."


def test_a_build_whose_worker_died_on_its_last_attempt_is_failed_by_the_reclaim(
    app: Flask, team: tuple[Api, uuid.UUID]
) -> None:
    api, case_id = team
    dossier_id, job_id = ask(api, case_id)
    long_ago = utcnow() - timedelta(hours=1)
    with app.app_context(), session_scope() as s:  # as a worker that claimed its last attempt and then died
        s.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(state=JobState.RUNNING, attempts=3, heartbeat_at=long_ago, started_at=long_ago)
        )
    assert runner.reclaim(app, components.job_queue(app))["failed"] == 1
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.FAILED and "no attempt left" in (job.error or "")
    assert dossier.status is DossierStatus.FAILED and dossier.error == job.error
    assert not for_dossier(app, dossier_id, Action.NOTE)  # it died before writing any entry: nothing to correct


def test_access_lost_before_the_build_fails_it_without_writing(app: Flask, team: tuple[Api, uuid.UUID]) -> None:
    api, case_id = team
    before = len(ledger(app))
    dossier_id, job_id = ask(api, case_id)
    with app.app_context(), session_scope() as s:
        job = s.get_one(Job, uuid.UUID(job_id))
        s.get_one(User, job.requested_by_id).active = False
    run_queued_jobs(app)
    dossier, job = state(app, dossier_id, job_id)
    assert job.state is JobState.FAILED and job.attempts == 0
    assert dossier.status is DossierStatus.FAILED and "no longer active" in (dossier.error or "")
    assert len(ledger(app)) == before
