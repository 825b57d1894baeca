"""The scheduled fixity audit: each run re-hashes the next slice of stored files (every file once per cycle of
CASEFILE_FIXITY_CYCLE_DAYS), records each result in the ledger with its success, and reports a file that no longer
matches. Scheduled and run in this process by the runner, as a worker's tick and thread do."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from casefile.config import Settings
from casefile.custody import jobs as custody_jobs
from casefile.custody.actions import Action
from casefile.db import session_scope, utcnow
from casefile.jobs import runner
from casefile.jobs.models import Job, JobState

from support import Account, Api, flip_blob_byte, ledger, run_queued_jobs, upload

ITEMS = 5


def test_the_slice_is_the_cycles_share_of_the_files_within_bounds() -> None:
    hourly_runs = 90 * 24
    assert custody_jobs.audit_slice_size(0, 90) == 1
    assert custody_jobs.audit_slice_size(hourly_runs * 3, 90) == 3
    assert custody_jobs.audit_slice_size(hourly_runs * 3 + 1, 90) == 4  # rounded up: the cycle is never late
    assert custody_jobs.audit_slice_size(10**8, 1) == custody_jobs.AUDIT_MAX_SLICE


def test_the_cycle_setting_sets_the_schedule_and_zero_turns_it_off(settings: Settings) -> None:
    assert settings.with_overrides(fixity_cycle_days=90).fixity_cycle_days == 90
    assert custody_jobs.audit_interval(settings.with_overrides(fixity_cycle_days=90)) == timedelta(hours=1)
    assert custody_jobs.audit_interval(settings.with_overrides(fixity_cycle_days=0)) is None


def audits(app: Flask) -> list[Job]:
    with app.app_context(), session_scope() as s:
        return list(s.query(Job).filter(Job.kind == custody_jobs.FIXITY_AUDIT).order_by(Job.created_at, Job.id).all())


def audit_once(app: Flask, hours: int) -> dict[str, Any]:
    """The worker's tick `hours` from now submits the audit (among other schedules), then its jobs run."""
    with app.app_context():
        runner.run_schedules(app, now=utcnow() + timedelta(hours=hours))
    run_queued_jobs(app)
    job = audits(app)[-1]
    assert job.state is JobState.SUCCEEDED and job.requested_by_id is None, job.error
    assert job.result is not None
    return job.result


def test_each_run_audits_the_next_slice_and_wraps_around_to_a_new_cycle(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "AUD")
    items = {upload(api, case_id, f"exhibit {n}\n".encode(), f"e{n}.txt")["id"]: n for n in range(ITEMS)}
    monkeypatch.setattr(custody_jobs, "audit_slice_size", lambda total, days: 2)
    order = sorted(items, key=uuid.UUID)  # the audit goes through the files in id order

    first = audit_once(app, 0)
    assert first["checked"] == 2 and first["started_cycle"] is True and first["ok"] is True
    with app.app_context():  # not again within the hour
        runner.run_schedules(app, now=utcnow() + timedelta(minutes=30))
    assert len(audits(app)) == 1
    second = audit_once(app, 2)
    third = audit_once(app, 4)
    assert (second["checked"], second["started_cycle"]) == (2, False)
    assert (third["checked"], third["started_cycle"]) == (2, True)  # the last file, then the first again
    assert third["last_id"] == order[0]

    audited = [e for e in ledger(app) if e.action == Action.FIXITY_VERIFIED and "job" in e.details]
    assert [str(e.evidence_id) for e in audited] == [*order, order[0]]
    assert all(e.actor == "system" for e in audited)


def test_a_file_that_no_longer_matches_is_recorded_and_reported(
    app: Flask,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner, "BAD")
    item = upload(api, case_id, b"an exhibit that will be altered\n", "altered.txt")
    found = flip_blob_byte(app, item["sha256"])
    monkeypatch.setattr(custody_jobs, "audit_slice_size", lambda total, days: 10)

    result = audit_once(app, 0)
    assert result["ok"] is False and result["failed"] == [item["ern"]] and result["failed_count"] == 1
    (failed,) = [e for e in ledger(app) if e.action == Action.FIXITY_FAILED]
    assert str(failed.evidence_id) == item["id"] and failed.details["found"] == found
    # The members of the case see it on the item's page.
    page = api.get(f"/evidence/{item['id']}/custody")
    assert page.status_code == 200 and "fixity_failed" in page.get_data(as_text=True)
