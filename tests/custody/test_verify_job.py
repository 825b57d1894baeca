"""The verification job records its fixity entries in short slices (never one long write transaction), the last
with the job's success; an attempt that died between two slices is followed by one that records only the rest.
Run in this process by the runner, as a worker thread runs it; real killed workers are in tests/jobs."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from casefile.custody import jobs as custody_jobs
from casefile.custody.actions import Action
from casefile.db import session_scope
from casefile.jobs.models import Job, JobState

from support import Account, Api, ledger, run_queued_jobs, upload

ITEMS = 5


def fixity_entries(app: Flask, job_id: str) -> list[Any]:
    return [e for e in ledger(app) if e.action == Action.FIXITY_VERIFIED and e.details.get("job") == job_id]


def test_a_verification_records_in_slices_and_a_retry_records_only_the_rest(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "SLC")
    items = {upload(api, case_id, f"exhibit {n}\n".encode(), f"e{n}.txt")["id"] for n in range(ITEMS)}
    started = api.post("/custody/verifications", {"case_id": str(case_id)})
    assert started.status_code == 202
    job_id = started.get_json()["id"]

    monkeypatch.setattr(custody_jobs, "FIXITY_SLICE", 2)  # 3 slices: 2, 2 and 1 entries
    real = custody_jobs.record_fixity
    calls = {"n": 0}

    def dies_in_the_second_slice(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("the worker's machine went away")
        real(*args)

    monkeypatch.setattr(custody_jobs, "record_fixity", dies_in_the_second_slice)
    run_queued_jobs(app)
    with app.app_context(), session_scope() as s:
        job = s.get_one(Job, uuid.UUID(job_id))
        assert job.state is JobState.QUEUED and job.attempts == 1  # to be retried
    assert len(fixity_entries(app, job_id)) == 2  # the first slice was kept

    run_queued_jobs(app)
    with app.app_context(), session_scope() as s:
        job = s.get_one(Job, uuid.UUID(job_id))
        assert job.state is JobState.SUCCEEDED and job.attempts == 2 and job.result["ok"] is True
    entries = fixity_entries(app, job_id)
    assert sorted(str(e.evidence_id) for e in entries) == sorted(items)  # each item once
    assert calls["n"] == 2 + 2  # the retry wrote the two slices left (the 3 items not yet recorded)
