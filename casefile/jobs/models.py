"""The `jobs` table: what users see of background work (state, progress, who asked, for which case, history).

The queue (huey, queue.py) only carries "run job <id>" messages; this row is the truth. A message that arrives for
a job that is not `queued` any more (cancelled, already run, a duplicate) does nothing, so the queue may deliver a
message twice, or lose one that the periodic tick then sends again, without a job ever running twice at once.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.cases.models import Case

MESSAGE_LENGTH = 500
ERROR_LENGTH = 2000


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


class Job(UUIDPrimaryKey, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The lists: a case's jobs, a user's jobs, newest first; the schedules' "latest job of this kind".
        Index("ix_jobs_case_created", "case_id", "created_at"),
        Index("ix_jobs_requested_by_created", "requested_by_id", "created_at"),
        Index("ix_jobs_kind_created", "kind", "created_at"),
        # The reclaim on every tick: running (or queued) jobs whose last sign of life is old.
        Index("ix_jobs_state_heartbeat", "state", "heartbeat_at"),
    )

    # A name registered by a capability (casefile.jobs.registry), e.g. "custody.verify".
    kind: Mapped[str] = mapped_column(String(64))
    # None for instance-wide work (a verification of every case, the scheduled checkpoint). RESTRICT: a job is
    # history of the case and must not vanish with it.
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    # None for the instance's own work (schedules, the command line). RESTRICT: None must never come to mean
    # "the instance" for a job a person asked for (the runner checks that person's access before every attempt).
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    state: Mapped[JobState] = mapped_column(enum_type(JobState, "job_state"), default=JobState.QUEUED)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    progress_done: Mapped[int] = mapped_column(default=0)
    progress_total: Mapped[int | None]
    progress_message: Mapped[str] = mapped_column(String(MESSAGE_LENGTH), default="")
    # Attempts started. It is also the fencing token of a run: every write of a running job is conditional on
    # (state = running, attempts = the run's attempt), so a worker that lost its job can no longer touch it.
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    # A reference to what the job made (ids, counts, a report): JSON, bounded by the handler.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # host:pid:thread of the worker running (or that last ran) the job, for the operator.
    worker: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The last sign of life: while running, the worker's heartbeat; while queued, when it was last handed to the
    # queue. A running job silent for longer than a bound is retried or failed (runner.reclaim).
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])

    @property
    def finished(self) -> bool:
        return JobState(self.state).finished
