"""The runner's rules, run in this process against the real database: each test calls the body of the one huey
task (`runner.run`) or of the periodic tick directly, as a worker thread would, so every rule is checked without
waiting for a worker. tests/jobs/test_worker.py runs the same through real worker processes and queues."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from casefile import components
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.config import Settings
from casefile.custody.actions import Action
from casefile.custody.jobs import checkpoint_interval
from casefile.custody.ledger import SYSTEM, record_custody
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.db import session_scope, utcnow
from casefile.jobs import registry, runner, services
from casefile.jobs.models import Job, JobState

import jobs_support
from support import Account

# --- test-only kinds that act on their own job from inside the handler ----------------------------------------


def _taken_away(ctx: runner.JobContext) -> None:
    """Another worker reclaims the job (as `reclaim` does) while this one still runs it; then this one tries to
    commit its effect with the job's success."""
    with session_scope(ctx.app) as s:
        s.execute(update(Job).where(Job.id == ctx.job_id).values(state=JobState.QUEUED, heartbeat_at=utcnow()))
    with session_scope() as s:
        record_custody(s, actor=SYSTEM, action=Action.NOTE, case_id=ctx.case_id, details={"job": str(ctx.job_id)})
        ctx.succeed(s, {"kept": True})


def _cancelled_meanwhile(ctx: runner.JobContext) -> None:
    with session_scope(ctx.app) as s:
        job = s.get(Job, ctx.job_id)
        user = s.get(User, ctx.user_id)
        assert job is not None and user is not None
        services.cancel(s, user, job)
    ctx.progress(1, 2, "half way")  # the next check stops it
    raise AssertionError("not reached")


def _worker_stopping(ctx: runner.JobContext) -> None:
    ctx.progress(1, 4, "a quarter")
    ctx.queue.stopping.set()  # as the consumer does on SIGINT/SIGTERM
    ctx.progress(2, 4, "half way")
    raise AssertionError("not reached")


TAKEN, CANCELLED, STOPPING = "test.taken_away", "test.cancelled_meanwhile", "test.worker_stopping"
registry.register(TAKEN, _taken_away)
registry.register(CANCELLED, _cancelled_meanwhile)
registry.register(STOPPING, _worker_stopping)


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.fixture
def team(make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]) -> tuple[Account, uuid.UUID]:
    owner = make_user("investigator")
    return owner, make_case(owner)


def submit(app: Flask, kind: str, account: Account | None, case_id: uuid.UUID | None, **params: Any) -> uuid.UUID:
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id) if account else None
        case = s.get(Case, case_id) if case_id else None
        return services.submit(s, kind, case, user, params).id


def job_of(app: Flask, job_id: uuid.UUID) -> Job:
    with app.app_context(), session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def run_now(app: Flask, job_id: uuid.UUID) -> None:
    with app.app_context():
        runner.run(app, components.job_queue(app), job_id)


def notes_of(app: Flask, job_id: uuid.UUID) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        entries = s.scalars(select(CustodyEntry).where(CustodyEntry.action == Action.NOTE.value))
        return [e for e in entries if e.details.get("job") == str(job_id)]


def set_running(app: Flask, job_id: uuid.UUID, *, attempts: int, silent_for: float, cancel: bool = False) -> None:
    """The row a worker killed during attempt `attempts` leaves behind, its heartbeat `silent_for` seconds old."""
    beat = utcnow() - timedelta(seconds=silent_for)
    values: dict[str, Any] = {"state": JobState.RUNNING, "attempts": attempts, "heartbeat_at": beat}
    if cancel:
        values["cancel_requested_at"] = beat
    with app.app_context(), session_scope() as s:
        s.execute(update(Job).where(Job.id == job_id).values(**values))


def pending(app: Flask) -> int:
    return components.job_queue(app).pending()


def flush_queue(app: Flask) -> None:
    components.job_queue(app).huey.flush()


# --- one attempt -----------------------------------------------------------------------------------------------


def test_a_job_runs_once_with_progress_and_result(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=3, delay=0)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.SUCCEEDED and job.attempts == 1 and job.error is None
    assert (job.progress_done, job.progress_total) == (3, 3)
    assert job.started_at is not None and job.finished_at is not None and job.worker
    (note,) = notes_of(app, job_id)
    assert job.result == {"note_seq": note.seq, "attempt": 1}
    run_now(app, job_id)  # the queue delivers the message again: nothing happens
    assert job_of(app, job_id).attempts == 1 and len(notes_of(app, job_id)) == 1


def test_a_job_cancelled_while_queued_never_runs(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=1, delay=0)
    with app.app_context(), session_scope() as s:
        user, job = s.get(User, owner.id), s.get(Job, job_id)
        assert user is not None and job is not None
        services.cancel(s, user, job)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.CANCELLED and job.attempts == 0 and job.finished_at is not None
    assert job.cancelled_by_id == owner.id and not notes_of(app, job_id)


def test_access_withdrawn_before_the_run_fails_the_job_with_the_reason(
    app: Flask, team: tuple[Account, uuid.UUID], make_user: Callable[..., Account], add_member: Callable[..., None]
) -> None:
    _owner, case_id = team
    reviewer = make_user("reviewer")
    add_member(case_id, reviewer, "reviewer")
    job_id = submit(app, "custody.verify", reviewer, case_id, fixity=True)
    with app.app_context(), session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        auth_services.remove_member(s, case, reviewer.id)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.FAILED and job.attempts == 0
    assert job.error == "The user who asked for this job no longer has access to its case, so it was not run."
    with app.app_context(), session_scope() as s:
        assert not s.scalars(select(CustodyEntry).where(CustodyEntry.actor == f"user:{reviewer.id}")).all()


def test_a_deactivated_requester_stops_the_job(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=1, delay=0)
    with app.app_context(), session_scope() as s:
        user = s.get(User, owner.id)
        assert user is not None
        auth_services.set_active(s, user, False)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.FAILED and "no longer active" in (job.error or "")
    assert not notes_of(app, job_id)


def test_an_unexpected_error_is_retried_then_fails_without_leaking_internals(
    app: Flask, team: tuple[Account, uuid.UUID]
) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.BROKEN, owner, case_id)
    flush_queue(app)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.QUEUED and job.attempts == 1
    assert job.error == (
        "Attempt 1 of 2 failed: unexpected error (RuntimeError); the worker's log has the details. "
        "It will be tried again."
    )
    queue = components.job_queue(app)
    (message,) = queue.huey.pending()
    assert message.eta is not None and message.eta > datetime.now(UTC).replace(tzinfo=None)  # after a delay
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.FAILED and job.attempts == 2 and job.finished_at is not None
    assert job.error == (
        "Failed after 2 attempt(s): unexpected error (RuntimeError); the worker's log has the details."
    )
    assert "secret internal detail" not in job.error


def test_work_refused_by_a_rule_fails_at_once(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.REFUSED, owner, case_id)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.FAILED and job.attempts == 1
    assert job.error == "This cannot be done for the test."


def test_a_job_taken_away_mid_run_keeps_nothing(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, TAKEN, owner, case_id)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.QUEUED and job.result is None  # the new owner's to run
    assert not notes_of(app, job_id)  # the effect was rolled back with the refused success


def test_cancelled_while_running_stops_at_the_next_check(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, CANCELLED, owner, case_id)
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.CANCELLED and job.finished_at is not None and job.cancel_requested_at is not None


def test_a_stopping_worker_hands_its_job_back(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, STOPPING, owner, case_id)
    flush_queue(app)
    queue = components.job_queue(app)
    try:
        run_now(app, job_id)
    finally:
        queue.stopping.clear()
    job = job_of(app, job_id)
    assert job.state is JobState.QUEUED and job.attempts == 0  # an interrupted attempt does not count
    assert job.progress_message.startswith("Interrupted")
    assert pending(app) == 1  # back in the queue for another worker


# --- crash safety: the tick --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "cancel", "state"),
    [(1, False, JobState.QUEUED), (3, False, JobState.FAILED), (1, True, JobState.CANCELLED)],
)
def test_a_silent_running_job_is_retried_failed_or_cancelled(
    app: Flask, team: tuple[Account, uuid.UUID], attempts: int, cancel: bool, state: JobState
) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=1, delay=0)
    flush_queue(app)
    set_running(
        app, job_id, attempts=attempts, silent_for=components.settings(app).job_stale_seconds + 1, cancel=cancel
    )
    with app.app_context():
        counts = runner.reclaim(app, components.job_queue(app))
    job = job_of(app, job_id)
    assert job.state is state
    outcome = {JobState.QUEUED: "retried", JobState.FAILED: "failed", JobState.CANCELLED: "cancelled"}[state]
    assert counts[outcome] == 1 and sum(counts.values()) == 1
    if state is JobState.QUEUED:
        assert (job.error or "").startswith(f"Retried: its worker stopped answering during attempt {attempts} of 3")
        assert pending(app) == 1
        run_now(app, job_id)  # the retry runs to the end, its effect once
        job = job_of(app, job_id)
        assert job.state is JobState.SUCCEEDED and job.attempts == attempts + 1 and job.error is None
        assert len(notes_of(app, job_id)) == 1
    elif state is JobState.FAILED:
        assert job.error and job.error.startswith("Failed: its worker stopped answering during attempt 3 of 3")
        assert job.error.endswith("; no attempt left.") and job.finished_at is not None
        assert pending(app) == 0


def test_a_running_job_that_beats_is_left_alone(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=1, delay=0)
    set_running(app, job_id, attempts=1, silent_for=0)
    with app.app_context():
        assert runner.reclaim(app, components.job_queue(app)) == {"retried": 0, "failed": 0, "cancelled": 0}
    assert job_of(app, job_id).state is JobState.RUNNING


def test_a_forgotten_queued_job_is_sent_again_only_when_the_queue_is_empty(
    app: Flask, team: tuple[Account, uuid.UUID]
) -> None:
    owner, case_id = team
    job_id = submit(app, jobs_support.SLOW, owner, case_id, steps=1, delay=0)
    later = utcnow() + timedelta(seconds=components.settings(app).job_stale_seconds + 1)
    with app.app_context():
        queue = components.job_queue(app)
        assert runner.resend_forgotten(app, queue, now=later) == 0  # its message is still waiting
        queue.huey.flush()  # the queue lost it (a Redis restarted without persistence)
        assert runner.resend_forgotten(app, queue, now=later) == 1
        assert queue.pending() == 1
        assert runner.resend_forgotten(app, queue, now=later) == 0  # sent; its clock starts again
    run_now(app, job_id)
    assert job_of(app, job_id).state is JobState.SUCCEEDED


# --- the schedules -------------------------------------------------------------------------------------------


def test_a_checkpoint_is_scheduled_only_when_the_ledger_grew(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    _owner, case_id = team
    with app.app_context(), session_scope() as s:
        record_custody(s, actor=SYSTEM, action=Action.NOTE, case_id=case_id, details={"why": "the ledger grows"})
    with app.app_context():
        (job_id,) = runner.run_schedules(app)
        assert runner.run_schedules(app) == []  # one is queued already
    run_now(app, job_id)
    job = job_of(app, job_id)
    assert job.state is JobState.SUCCEEDED and job.kind == "custody.checkpoint" and job.requested_by_id is None
    assert job.result and job.result["created"] is True
    with app.app_context(), session_scope() as s:
        checkpoint = s.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()))
        assert checkpoint is not None and checkpoint.reason == "scheduled"
        assert job.result["tree_size"] == checkpoint.tree_size
    interval = timedelta(minutes=components.settings(app).checkpoint_minutes)
    with app.app_context():
        assert runner.run_schedules(app, now=utcnow() + interval / 2) == []  # not yet time
        assert runner.run_schedules(app, now=utcnow() + interval * 2) == []  # time, but nothing new to sign
        with session_scope() as s:
            record_custody(s, actor=SYSTEM, action=Action.NOTE, case_id=case_id, details={"why": "grows again"})
        assert len(runner.run_schedules(app, now=utcnow() + interval * 2)) == 1


def test_workers_ticking_at_once_schedule_each_task_once(
    app: Flask, team: tuple[Account, uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers tick at the same moment: each holds the other at the point where a second job would be
    submitted (a barrier in the schedule's `due`) for as long as the other lets it; without the per-kind lock both
    would pass and submit. Exactly one checkpoint job results."""
    _owner, case_id = team
    with app.app_context(), session_scope() as s:
        record_custody(s, actor=SYSTEM, action=Action.NOTE, case_id=case_id, details={"why": "the ledger grows"})
    [schedule] = [sc for sc in registry.schedules() if sc.kind == "custody.checkpoint"]
    barrier = threading.Barrier(2, timeout=3)

    def due_together(session: Any) -> bool:
        # A broken barrier: the other worker is waiting for this one's decision, as it should.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return schedule.due(session)

    together = dataclasses.replace(schedule, due=due_together)
    others = [sc for sc in registry.schedules() if sc.kind != "custody.checkpoint"]
    monkeypatch.setattr(registry, "schedules", lambda: [together, *others])
    submitted: list[list[uuid.UUID]] = []

    def worker() -> None:
        with app.app_context():
            submitted.append([j for j in runner.run_schedules(app) if job_of(app, j).kind == "custody.checkpoint"])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(len(jobs) for jobs in submitted) == [0, 1]
    with app.app_context(), session_scope() as s:
        kinds = s.scalars(select(Job.kind).where(Job.kind == "custody.checkpoint")).all()
        assert len(kinds) == 1


def test_checkpoint_minutes_set_the_schedule_and_zero_turns_it_off(settings: Settings) -> None:
    assert checkpoint_interval(settings) == timedelta(minutes=15)
    assert checkpoint_interval(settings.with_overrides(checkpoint_minutes=2.5)) == timedelta(minutes=2.5)
    assert checkpoint_interval(settings.with_overrides(checkpoint_minutes=0)) is None


def test_two_checkpoint_jobs_at_once_sign_once(app: Flask, team: tuple[Account, uuid.UUID]) -> None:
    _owner, case_id = team
    with app.app_context(), session_scope() as s:
        record_custody(s, actor=SYSTEM, action=Action.NOTE, case_id=case_id, details={})
    first = submit(app, "custody.checkpoint", None, None)
    second = submit(app, "custody.checkpoint", None, None)
    run_now(app, first)
    run_now(app, second)
    assert job_of(app, first).result["created"] is True  # type: ignore[index]
    assert job_of(app, second).result["created"] is False  # type: ignore[index]
    with app.app_context(), session_scope() as s:
        assert len(s.scalars(select(Checkpoint)).all()) == 1
