"""Which job kinds exist and what runs them: filled by the capabilities, read by the runner.

`jobs` sits below the capabilities: it never imports them. A capability registers its handlers from its own module
(e.g. casefile/custody/jobs.py), and `casefile.load_job_handlers` imports those modules in every process that
submits or runs jobs (web servers and workers alike), as `load_api_routes` does for API routes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from casefile.auth.gate import Access

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from casefile.config import Settings
    from casefile.jobs.models import Job
    from casefile.jobs.runner import JobContext

# A handler does the work and returns the job's result (JSON-serialisable, small) or None.
Handler = Callable[["JobContext"], dict[str, Any] | None]
# Called when a job ends without succeeding (failed for good, or cancelled), in the same transaction that records
# it, with the job's row as it now stands (state, error): what the kind must undo or say about work it left
# unfinished (a dossier that will not be built). Whoever ends the job calls it: the runner, the reclaim of a
# killed worker's job, a cancellation.
EndHook = Callable[["Session", "Job"], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    # What the user who asked must still be allowed on the job's case when it starts (checked by the gate at
    # submission, and again at every attempt: access withdrawn in between fails the job).
    access: Access = Access.READ
    max_attempts: int = 3
    label: object = None  # shown in lists (through str()); a (lazy) translatable string
    # A template showing a finished job's result on its page (given `result`); without one, the result's fields.
    result_template: str | None = None
    on_end: EndHook | None = None

    @property
    def title(self) -> str:
        return str(self.label) if self.label is not None else self.name


@dataclass(frozen=True)
class Schedule:
    """A kind the periodic tick submits by itself, as an instance-wide job with nobody asking."""

    kind: str
    # How often at most; None turns the schedule off (from the settings, e.g. CASEFILE_CHECKPOINT_MINUTES=0).
    every: Callable[[Settings], timedelta | None]
    # Whether there is anything to do now (e.g. the ledger grew since the last checkpoint), so idle instances do
    # not fill the table with jobs that did nothing.
    due: Callable[[Session], bool]


_KINDS: dict[str, JobKind] = {}
_SCHEDULES: dict[str, Schedule] = {}


def register(
    kind: str,
    handler: Handler,
    *,
    access: Access = Access.READ,
    max_attempts: int = 3,
    label: object = None,
    result_template: str | None = None,
    on_end: EndHook | None = None,
) -> JobKind:
    """Declare a job kind. Registering the same handler again is a no-op (modules may be imported twice in
    tests); another handler under a taken name is a programming error."""
    if not kind or len(kind) > 64:
        raise ValueError(f"job kind name must be 1-64 characters: {kind!r}")
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    existing = _KINDS.get(kind)
    if existing is not None:
        if existing.handler is not handler:
            raise ValueError(f"job kind {kind!r} is registered already with another handler")
        return existing
    spec = JobKind(kind, handler, access, max_attempts, label, result_template, on_end)
    _KINDS[kind] = spec
    return spec


def register_schedule(
    kind: str, every: Callable[[Settings], timedelta | None], due: Callable[[Session], bool]
) -> Schedule:
    if kind not in _KINDS:
        raise ValueError(f"register the job kind {kind!r} before its schedule")
    schedule = Schedule(kind, every, due)
    _SCHEDULES[kind] = schedule
    return schedule


def get(kind: str) -> JobKind | None:
    return _KINDS.get(kind)


def kinds() -> dict[str, JobKind]:
    return dict(_KINDS)


def schedules() -> list[Schedule]:
    return list(_SCHEDULES.values())


def title_of(kind: str) -> str:
    spec = _KINDS.get(kind)
    return spec.title if spec is not None else kind
