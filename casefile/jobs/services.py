"""Submitting, finding and cancelling jobs. Like every service: flush, never commit.

A job is handed to the queue only once the transaction that created its row has committed (the `after_commit`
listener below), so a worker never receives a job that the request then rolled back, and never looks for a row
it cannot see yet. If handing it over fails after the commit (the queue's server is down), the row stays
`queued` and the periodic tick sends it again (runner.resend_forgotten).

Who sees a job: the members of its case (through the gate); for an instance-wide job, the user who asked;
administrators, who run the workers, see every job's record. A job's result is case content: only those who may
read the case (or, instance-wide, who asked) see it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, Update, and_, event, or_, select, true, update
from sqlalchemy.orm import Session, SessionTransaction

from casefile import components
from casefile.auth.gate import Access, allowed, member_case_ids, membership, parse_id, require_case
from casefile.cases.models import Case
from casefile.db import utcnow
from casefile.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casefile.jobs import registry
from casefile.jobs.models import Job, JobState

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.jobs.queue import JobQueue

log = logging.getLogger("casefile.jobs")

# session.info key: (queue, job id, delay in seconds) to hand over once the session's transaction has committed.
PENDING = "casefile_jobs_to_enqueue"


def submit(
    session: Session,
    kind: str,
    case: Case | None,
    user: User | None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Record a job (flushed, state `queued`) and have it enqueued when the session commits.

    `user` None is the instance itself (schedules, the command line). With a user and a case, the gate decides
    whether the user may ask for this kind of work on the case (404 outside it, 403 if read-only and the kind
    writes); the runner asks again before each attempt.
    """
    spec = registry.get(kind)
    if spec is None:
        raise ValidationFailed(f"Unknown job kind {kind[:64]!r}.", field="kind")
    if user is not None:
        if not user.active:
            raise Forbidden("This account is deactivated.")
        if case is not None:
            require_case(session, user, case.id, spec.access)
    params = dict(params or {})
    json.dumps(params)  # a TypeError here is a programming error, not a 500 later in a worker
    now = utcnow()
    job = Job(
        kind=kind,
        case_id=case.id if case is not None else None,
        requested_by_id=user.id if user is not None else None,
        state=JobState.QUEUED,
        params=params,
        progress_done=0,
        progress_message="",
        attempts=0,
        max_attempts=spec.max_attempts,
        created_at=now,
        heartbeat_at=now,
    )
    session.add(job)
    session.flush()
    enqueue_after_commit(session, job.id)
    return job


def enqueue_after_commit(
    session: Session, job_id: uuid.UUID, delay: float | None = None, queue: JobQueue | None = None
) -> None:
    """Hand the job to the queue once this session's transaction has committed (never if it rolls back)."""
    session.info.setdefault(PENDING, []).append((queue or components.job_queue(), job_id, delay))


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer transaction may still roll back
    for queue, job_id, delay in session.info.pop(PENDING, None) or ():
        try:
            queue.enqueue(job_id, delay=delay)
        except Exception:
            # The row is committed and stays `queued`; the tick sends it again. The request must not fail for it.
            log.exception("job %s is recorded but could not be handed to the queue; the tick will resend it", job_id)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None and not previous.nested:
        session.info.pop(PENDING, None)


if not event.contains(Session, "after_commit", _after_commit):
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def updated(session: Session, statement: Update) -> int:
    """Run a conditional UPDATE of jobs (no ORM synchronisation: the rows are re-read when needed); the number of
    rows it changed, 0 when the row no longer matched (another worker or request got there first)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", result).rowcount


def ended_unsuccessfully(session: Session, job_id: uuid.UUID) -> None:
    """Run the kind's end hook (registry.EndHook) for a job just recorded as failed or cancelled, in the same
    transaction."""
    job = session.get(Job, job_id, populate_existing=True)
    spec = registry.get(job.kind) if job is not None else None
    if job is not None and spec is not None and spec.on_end is not None:
        spec.on_end(session, job)


# --- who sees what -------------------------------------------------------------------------------------------


def visible_to(user: User) -> ColumnElement[bool]:
    """The jobs a user may see, as a condition inside the query (never filtered afterwards)."""
    if user.is_admin:
        return true()
    return or_(
        Job.case_id.in_(member_case_ids(user)),
        and_(Job.case_id.is_(None), Job.requested_by_id == user.id),
    )


def may_see(session: Session, user: User, job: Job) -> bool:
    if user.is_admin:
        return True
    if job.case_id is None:
        return job.requested_by_id == user.id
    return allowed(user, membership(session, user, job.case_id), Access.READ)


def readable_case_ids(session: Session, user: User) -> set[uuid.UUID]:
    """The cases whose content the user may read (one query, for a whole list of jobs)."""
    return set(session.scalars(member_case_ids(user)))


def result_visible(user: User, job: Job, readable: Collection[uuid.UUID]) -> bool:
    """A job's result and progress message are case content: members of the case only (an administrator's view
    of another case's jobs stops at state and timing); instance-wide, who asked (or any administrator for the
    instance's own jobs)."""
    if job.case_id is None:
        return job.requested_by_id == user.id or (job.requested_by_id is None and user.is_admin)
    return job.case_id in readable


def may_see_result(session: Session, user: User, job: Job) -> bool:
    readable = {job.case_id} if job.case_id and membership(session, user, job.case_id) is not None else set()
    return result_visible(user, job, readable)


def may_cancel(session: Session, user: User, job: Job) -> bool:
    if user.is_admin or (job.requested_by_id is not None and job.requested_by_id == user.id):
        return True
    return job.case_id is not None and allowed(user, membership(session, user, job.case_id), Access.WRITE)


def require_job(session: Session, user: User, job_id: Any) -> Job:
    job = session.get(Job, parse_id(job_id))
    if job is None or not may_see(session, user, job):
        raise NotFound("Not found.")
    return job


def case_of_jobs(session: Session, user: User, case_id: Any) -> Case:
    """A case whose job list the user may see: its members (through the gate), and administrators, who see every
    job's record (they run the workers) but not the case's content."""
    if not user.is_admin:
        return require_case(session, user, case_id)
    case = session.get(Case, parse_id(case_id))
    if case is None:
        raise NotFound("Not found.")
    return case


def jobs_query(
    session: Session,
    user: User,
    *,
    case_id: Any = None,
    requested_by: User | None = None,
    state: str | None = None,
) -> Select[Job]:
    """The jobs a user may see, newest first; optionally of one case (404 if the user may not read it), asked
    for by one user, or in one state."""
    stmt = select(Job).where(visible_to(user))
    if case_id is not None and case_id != "":
        stmt = stmt.where(Job.case_id == case_of_jobs(session, user, case_id).id)
    if requested_by is not None:
        stmt = stmt.where(Job.requested_by_id == requested_by.id)
    if state:
        try:
            stmt = stmt.where(Job.state == JobState(state))
        except ValueError:
            choices = ", ".join(s.value for s in JobState)
            raise ValidationFailed(f"state must be one of {choices}.", field="state") from None
    return stmt.order_by(Job.created_at.desc(), Job.id.desc())


# --- cancelling ----------------------------------------------------------------------------------------------


def cancel(session: Session, user: User, job: Job) -> Job:
    """Cancel a job: a queued one at once; a running one is asked to stop, and its worker stops it at the next
    check (its state turns `cancelled` then, and nothing it did is kept). 409 once it has finished."""
    if not may_cancel(session, user, job):
        raise Forbidden(
            "Only the user who asked for this job, a member who may change its case, or an administrator may cancel it."
        )
    if job.finished:
        raise Conflict("This job has finished already.")
    now = utcnow()
    # Conditional updates: the worker may be claiming the job at this very moment; whichever commits first wins
    # and the other sees a row that no longer matches.
    stopped = updated(
        session,
        update(Job)
        .where(Job.id == job.id, Job.state == JobState.QUEUED)
        .values(state=JobState.CANCELLED, finished_at=now, cancel_requested_at=now, cancelled_by_id=user.id),
    )
    if stopped:
        ended_unsuccessfully(session, job.id)
    else:
        updated(
            session,
            update(Job)
            .where(Job.id == job.id, Job.state == JobState.RUNNING, Job.cancel_requested_at.is_(None))
            .values(cancel_requested_at=now, cancelled_by_id=user.id),
        )
    session.refresh(job)
    return job
