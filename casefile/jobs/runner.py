"""Running a job in a worker, and keeping jobs from getting stuck.

One attempt (`run`):
1. Claim: in a short transaction, a job still `queued` turns `running` with `attempts + 1`, by a conditional
   UPDATE, so of two deliveries of the same message only one runs. Before that, the gate is asked again whether
   the user who asked may still do this on the job's case: access withdrawn since the submission fails the job,
   with the reason.
2. Run the kind's handler with a JobContext. A heartbeat thread refreshes `heartbeat_at` and reads back a cancel
   request; `progress()` commits in its own short transaction so other sessions see it.
3. Finish: succeeded (with the handler's result), cancelled, retried (an unexpected error, attempts left),
   failed (with the reason), or handed back to the queue when the worker is shutting down.

Every write about a running job is fenced by (state = running, attempts = this attempt): once the job is taken
away from a worker (cancelled, reclaimed as silent, re-run elsewhere), that worker can no longer change it, and
a handler's effects committed through `JobContext.succeed` are rolled back with its transaction.

A retried job must not repeat its effects. A handler whose effects are database rows writes them and marks the
job succeeded in ONE transaction (`ctx.succeed(session, result)`): either both commit or neither does, so an
attempt that died before its commit left nothing to repeat, and one that committed is not run again.

A worker killed outright (SIGKILL, power loss) leaves its job `running` with a heartbeat that stops moving. At
worker start and on every periodic tick, `reclaim` re-queues such a job (attempts left) or fails it with the
reason (none left).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import allowed, membership
from casefile.auth.models import User
from casefile.db import acting_user, session_scope, utcnow
from casefile.errors import CasefileError
from casefile.jobs import registry
from casefile.jobs.models import ERROR_LENGTH, MESSAGE_LENGTH, Job, JobState
from casefile.jobs.services import ended_unsuccessfully, enqueue_after_commit, submit, updated

if TYPE_CHECKING:
    from flask import Flask

    from casefile.jobs.queue import JobQueue
    from casefile.jobs.registry import JobKind

log = logging.getLogger("casefile.jobs")

# Progress is committed at most this often (the last step always): a million-file verification must not mean a
# million commits.
PROGRESS_INTERVAL = 0.25
# A result is a reference (ids, counts, a bounded report), never a payload.
MAX_RESULT_BYTES = 64 * 1024
BATCH = 500


class JobStopped(BaseException):
    """Raised inside a handler (by `check`, `progress`, `succeed`) when the job must stop now. A BaseException so
    that a handler's own `except Exception` cannot swallow it; `session_scope` rolls back on it."""


class JobCancelled(JobStopped):
    pass


class JobInterrupted(JobStopped):
    """The worker is shutting down: the job goes back to the queue and runs again elsewhere or later."""


class JobLost(JobStopped):
    """The job is no longer this worker's (reclaimed as silent, cancelled while queued, run elsewhere)."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:200]


@dataclass(frozen=True)
class Claim:
    job_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    case_id: uuid.UUID | None
    user_id: uuid.UUID | None
    attempt: int
    max_attempts: int


class JobContext:
    """What a handler gets: the job's parameters, progress reporting, the cancellation check, and `succeed`.

    Handlers open their own units of work (`casefile.db.session_scope()`, a read session); they must not call
    `progress` while holding a write transaction on SQLite (progress commits on its own connection and would wait
    for that lock).
    """

    def __init__(self, app: Flask, queue: JobQueue, claim: Claim) -> None:
        self.app = app
        self.queue = queue
        self.job_id = claim.job_id
        self.kind = claim.kind
        self.params = claim.params
        self.case_id = claim.case_id
        self.user_id = claim.user_id
        self.attempt = claim.attempt
        self.max_attempts = claim.max_attempts
        self.succeeded = False
        self._cancel = threading.Event()
        self._lost = threading.Event()
        self._done = threading.Event()
        self._last_progress = 0.0
        self._beat: threading.Thread | None = None

    # --- for handlers ---------------------------------------------------------------------------------------

    def user(self, session: Session) -> User | None:
        """The user who asked (None for the instance's own jobs), loaded in the handler's session."""
        return session.get(User, self.user_id) if self.user_id is not None else None

    def check(self) -> None:
        """Raise JobStopped if the job must stop: cancelled, taken away, or the worker is shutting down."""
        if self._lost.is_set():
            raise JobLost(f"job {self.job_id} is no longer this worker's")
        if self._cancel.is_set():
            raise JobCancelled(f"job {self.job_id} was cancelled")
        if self.queue.stopping.is_set():
            raise JobInterrupted(f"the worker is stopping; job {self.job_id} goes back to the queue")

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report progress (committed in its own short transaction, so the job page sees it) and check whether
        the job must stop."""
        self.check()
        now = time.monotonic()
        last = total is not None and done >= total
        if last or now - self._last_progress >= PROGRESS_INTERVAL:
            self._last_progress = now
            self._touch(progress_done=max(done, 0), progress_total=total, progress_message=message[:MESSAGE_LENGTH])
            self.check()

    def still_own(self, session: Session) -> None:
        """Inside the handler's transaction, make its commit conditional on this run still owning the job: the job
        row is updated under the fence (and so locked until that transaction ends), or JobLost is raised. For
        effects that must be written once before `succeed` (a dossier's `exported` entries)."""
        self.check()
        if not updated(session, update(Job).where(*self.fence()).values(heartbeat_at=utcnow())):
            raise JobLost(f"job {self.job_id} is no longer this worker's")

    def succeed(self, session: Session, result: dict[str, Any] | None = None) -> None:
        """Mark the job succeeded inside the handler's own transaction, the one that commits its effects: both
        are kept or neither is, so a retry never repeats what an earlier attempt committed."""
        self.check()
        now = utcnow()
        done = updated(
            session,
            update(Job)
            .where(*self.fence())
            .values(
                state=JobState.SUCCEEDED,
                # All of it is done, whatever the last progress report said.
                progress_done=func.coalesce(Job.progress_total, Job.progress_done),
                result=_bounded(result),
                error=None,
                finished_at=now,
                heartbeat_at=now,
            ),
        )
        if not done:
            raise JobLost(f"job {self.job_id} is no longer this worker's")
        self.succeeded = True

    # --- for the runner -------------------------------------------------------------------------------------

    def fence(self) -> tuple[ColumnElement[bool], ...]:
        """The condition of every write about this run: still running, still this attempt."""
        return (Job.id == self.job_id, Job.state == JobState.RUNNING, Job.attempts == self.attempt)

    def _touch(self, **values: Any) -> None:
        """Heartbeat (and any progress values) in a short transaction of its own, reading back a cancel request."""
        with session_scope(self.app) as s:
            changed = updated(s, update(Job).where(*self.fence()).values(heartbeat_at=utcnow(), **values))
            if not changed:
                self._lost.set()
                return
            if s.scalar(select(Job.cancel_requested_at).where(Job.id == self.job_id)) is not None:
                self._cancel.set()

    def _heartbeat(self, every: float) -> None:
        while not self._done.wait(every):
            try:
                self._touch()
            except Exception:
                # A busy database delays a beat; the stale bound is several beats long.
                log.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
            if self._lost.is_set():
                return

    def start(self) -> None:
        every = components.settings(self.app).job_heartbeat_seconds
        self._beat = threading.Thread(target=self._heartbeat, args=(every,), name=f"heartbeat-{self.job_id}")
        self._beat.daemon = True
        self._beat.start()

    def stop(self) -> None:
        self._done.set()
        if self._beat is not None:
            self._beat.join()


def _bounded(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    if len(json.dumps(result, default=str)) > MAX_RESULT_BYTES:
        raise ValueError(f"a job's result must stay under {MAX_RESULT_BYTES} bytes of JSON; store a reference")
    return result


def access_problem(session: Session, job: Job, spec: JobKind) -> str | None:
    """Why the user who asked may no longer have this job run (through the gate), or None."""
    if job.requested_by_id is None:
        return None
    user = session.get(User, job.requested_by_id)
    if user is None or not user.active:
        return "The account that asked for this job is no longer active, so it was not run."
    if job.case_id is not None and not allowed(user, membership(session, user, job.case_id), spec.access):
        return "The user who asked for this job no longer has access to its case, so it was not run."
    return None


def _claim(app: Flask, job_id: uuid.UUID) -> tuple[Claim, JobKind] | None:
    with session_scope(app) as s:
        job = s.get(Job, job_id)
        if job is None:
            # Only a rolled-back transaction's job could be missing, and those are never enqueued; say so anyway.
            log.warning("job %s does not exist; message ignored", job_id)
            return None
        if job.state is not JobState.QUEUED:
            log.info("job %s is %s; duplicate or late message ignored", job_id, job.state)
            return None
        spec = registry.get(job.kind)
        problem = (
            f"No handler for job kind {job.kind!r} is registered in this worker."
            if spec is None
            else access_problem(s, job, spec)
        )
        if problem is not None or spec is None:
            now = utcnow()
            updated(
                s,
                update(Job)
                .where(Job.id == job.id, Job.state == JobState.QUEUED, Job.attempts == job.attempts)
                .values(state=JobState.FAILED, error=problem, finished_at=now, heartbeat_at=now),
            )
            if spec is not None:
                ended_unsuccessfully(s, job.id)
            log.info("job %s failed before it ran: %s", job_id, problem)
            return None
        now = utcnow()
        claimed = updated(
            s,
            update(Job)
            .where(Job.id == job.id, Job.state == JobState.QUEUED, Job.attempts == job.attempts)
            .values(
                state=JobState.RUNNING,
                attempts=job.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                worker=worker_name(),
            ),
        )
        if not claimed:
            return None  # another worker claimed it (or it was cancelled) in the meantime
        claim = Claim(
            job_id=job.id,
            kind=job.kind,
            params=dict(job.params or {}),
            case_id=job.case_id,
            user_id=job.requested_by_id,
            attempt=job.attempts + 1,
            max_attempts=job.max_attempts,
        )
    return claim, spec


def retry_delay(attempt: int) -> float:
    return float(min(60, 5 * 2 ** (attempt - 1)))


def run(app: Flask, queue: JobQueue, job_id: uuid.UUID) -> None:
    """One delivery of `run_job(job_id)`: claim, run, record the outcome. Never raises for the job's own failure
    (the table records it); huey never retries by itself, retries are decided here."""
    claimed = _claim(app, job_id)
    if claimed is None:
        return
    claim, spec = claimed
    ctx = JobContext(app, queue, claim)
    ctx.start()
    result: dict[str, Any] | None = None
    stopped: JobStopped | None = None
    failure: tuple[str, bool] | None = None
    acting = acting_user.set(claim.user_id)
    try:
        result = spec.handler(ctx)
    except JobStopped as stop:
        stopped = stop
    except CasefileError as error:
        failure = (error.message, False)  # the work itself is refused: trying again would be refused again
    except Exception as error:
        log.exception("job %s (%s) attempt %d failed", claim.job_id, claim.kind, claim.attempt)
        # Internals (SQL, paths) stay in the worker's log; the job says what kind of failure it was.
        failure = (f"unexpected error ({type(error).__name__}); the worker's log has the details", True)
    finally:
        acting_user.reset(acting)
        ctx.stop()
    if isinstance(stopped, JobLost):
        log.warning("job %s was taken from this worker; its outcome here is dropped", claim.job_id)
    elif isinstance(stopped, JobCancelled):
        _finish(app, ctx, state=JobState.CANCELLED)
    elif isinstance(stopped, JobInterrupted):
        _hand_back(app, ctx)
    elif failure is not None:
        _fail_or_retry(app, ctx, *failure)
    elif not ctx.succeeded:
        _finish(app, ctx, state=JobState.SUCCEEDED, result=_bounded(result), error=None)


def _finish(app: Flask, ctx: JobContext, **values: Any) -> None:
    now = utcnow()
    with session_scope(app) as s:
        changed = updated(s, update(Job).where(*ctx.fence()).values(finished_at=now, heartbeat_at=now, **values))
        if changed and values["state"] is not JobState.SUCCEEDED:
            ended_unsuccessfully(s, ctx.job_id)


def _hand_back(app: Flask, ctx: JobContext) -> None:
    """The worker is stopping: the job goes back to the queue, and this attempt does not count."""
    with session_scope(app) as s:
        back = updated(
            s,
            update(Job)
            .where(*ctx.fence())
            .values(
                state=JobState.QUEUED,
                attempts=ctx.attempt - 1,
                heartbeat_at=utcnow(),
                progress_message="Interrupted: its worker stopped; it will start again.",
            ),
        )
        if back:
            enqueue_after_commit(s, ctx.job_id, queue=ctx.queue)


def _fail_or_retry(app: Flask, ctx: JobContext, reason: str, retry: bool) -> None:
    now = utcnow()
    with session_scope(app) as s:
        if retry and ctx.attempt < ctx.max_attempts:
            again = updated(
                s,
                update(Job)
                .where(*ctx.fence())
                .values(
                    state=JobState.QUEUED,
                    heartbeat_at=now,
                    error=f"Attempt {ctx.attempt} of {ctx.max_attempts} failed: {reason}. It will be tried again."[
                        :ERROR_LENGTH
                    ],
                ),
            )
            if again:
                enqueue_after_commit(s, ctx.job_id, delay=retry_delay(ctx.attempt), queue=ctx.queue)
            return
        error = f"Failed after {ctx.attempt} attempt(s): {reason}." if retry else reason
        failed = updated(
            s,
            update(Job)
            .where(*ctx.fence())
            .values(state=JobState.FAILED, error=error[:ERROR_LENGTH], finished_at=now, heartbeat_at=now),
        )
        if failed:
            ended_unsuccessfully(s, ctx.job_id)


# --- keeping jobs from getting stuck ---------------------------------------------------------------------------


def reclaim(app: Flask, queue: JobQueue, now: datetime | None = None) -> dict[str, int]:
    """Running jobs silent for longer than CASEFILE_JOB_STALE_SECONDS lost their worker (killed, machine gone):
    retry them (re-queued, the attempt counted) or, with no attempt left, fail them with the reason. A job whose
    cancellation was asked for is cancelled instead."""
    now = now or utcnow()
    bound = now - timedelta(seconds=components.settings(app).job_stale_seconds)
    counts = {"retried": 0, "failed": 0, "cancelled": 0}
    with session_scope(app) as s:
        silent = s.execute(
            select(Job.id, Job.attempts, Job.max_attempts, Job.cancel_requested_at, Job.heartbeat_at)
            .where(Job.state == JobState.RUNNING, Job.heartbeat_at < bound)
            .order_by(Job.heartbeat_at)
            .limit(BATCH)
        ).all()
        for row in silent:
            why = (
                f"its worker stopped answering during attempt {row.attempts} of {row.max_attempts} "
                f"(last heartbeat {row.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)"
            )
            outcome: str
            values: dict[str, Any]
            if row.cancel_requested_at is not None:
                outcome, values = "cancelled", {"state": JobState.CANCELLED, "finished_at": now}
            elif row.attempts < row.max_attempts:
                outcome, values = "retried", {"state": JobState.QUEUED, "error": f"Retried: {why}."}
            else:
                outcome = "failed"
                values = {"state": JobState.FAILED, "finished_at": now, "error": f"Failed: {why}; no attempt left."}
            changed = updated(
                s,
                update(Job)
                .where(
                    Job.id == row.id,
                    Job.state == JobState.RUNNING,
                    Job.attempts == row.attempts,
                    Job.heartbeat_at < bound,  # not if it beat meanwhile
                )
                .values(heartbeat_at=now, **values),
            )
            if changed:
                counts[outcome] += 1
                log.warning("job %s %s: %s", row.id, outcome, why)
                if outcome == "retried":
                    enqueue_after_commit(s, row.id, queue=queue)
                else:
                    ended_unsuccessfully(s, row.id)
    return counts


def resend_forgotten(app: Flask, queue: JobQueue, now: datetime | None = None) -> int:
    """Queued jobs whose message the queue no longer holds (handing over failed after the commit, a Redis
    restarted without persistence): sent again. Only when the queue is empty, so jobs merely waiting in a long
    queue are not sent twice; a duplicate would be harmless anyway (the claim runs a job once)."""
    now = now or utcnow()
    bound = now - timedelta(seconds=components.settings(app).job_stale_seconds)
    if queue.pending() > 0:
        return 0
    sent = 0
    with session_scope(app) as s:
        rows = s.execute(
            select(Job.id, Job.heartbeat_at)
            .where(Job.state == JobState.QUEUED, Job.heartbeat_at < bound)
            .order_by(Job.heartbeat_at)
            .limit(BATCH)
        ).all()
        for row in rows:
            changed = updated(
                s,
                update(Job)
                .where(Job.id == row.id, Job.state == JobState.QUEUED, Job.heartbeat_at == row.heartbeat_at)
                .values(heartbeat_at=now),
            )
            if changed:
                sent += 1
                enqueue_after_commit(s, row.id, queue=queue)
    return sent


# The namespace of the schedules' PostgreSQL advisory locks (the other key is the kind's CRC-32).
SCHEDULE_LOCKS = 0x43465343  # "CFSC"


def _lock_schedule(session: Session, kind: str) -> None:
    """Every worker ticks; the first to take this kind's lock decides, the others wait for its commit and then see its
    job. On PostgreSQL a transaction-scoped advisory lock (READ COMMITTED: the next statement sees the committed job);
    SQLite's write transactions already begin IMMEDIATE, one at a time, so the check and the submission are one step
    there too. Each scheduled task thus runs once per period however many workers tick."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SCHEDULE_LOCKS, zlib.crc32(kind.encode()) & 0x7FFFFFFF)))


def run_schedules(app: Flask, now: datetime | None = None) -> list[uuid.UUID]:
    """Submit each scheduled kind whose interval has passed since its last job, if it has something to do."""
    now = now or utcnow()
    settings = components.settings(app)
    submitted: list[uuid.UUID] = []
    for schedule in registry.schedules():
        every = schedule.every(settings)
        if every is None:
            continue
        with session_scope(app) as s:
            _lock_schedule(s, schedule.kind)
            last = s.scalar(select(func.max(Job.created_at)).where(Job.kind == schedule.kind))
            if last is not None and now - last < every:
                continue
            busy = s.scalar(
                select(Job.id)
                .where(Job.kind == schedule.kind, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
                .limit(1)
            )
            if busy is not None or not schedule.due(s):
                continue
            submitted.append(submit(s, schedule.kind, None, None, {"scheduled": True}).id)
    return submitted


def tick(app: Flask, queue: JobQueue) -> None:
    """The periodic task (every minute, on every worker): reclaim silent jobs, resend forgotten ones, run the
    schedules. Each part runs even if another fails."""
    for part in (reclaim, resend_forgotten):
        try:
            part(app, queue)
        except Exception:
            log.exception("job tick: %s failed", part.__name__)
    try:
        run_schedules(app)
    except Exception:
        log.exception("job tick: the schedules failed")
