"""Custody work that runs as background jobs (registered with casefile.jobs, imported by create_app):

- `custody.verify`: the verification with fixity of DESIGN §4, started by a reviewer from the verification page or
  the API (POST /custody/verifications), or by `custody verify --background`. It reports progress per slice of
  the chain (10 000 entries) and per file, can be cancelled at any of those points, and appends its fixity entries
  in the same transaction that marks the job succeeded: a retried verification never records them twice.
- `custody.checkpoint`: a signed Merkle tree head, on the schedule CASEFILE_CHECKPOINT_MINUTES (default 15),
  only when the ledger grew since the last checkpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casefile.auth.gate import Access, member_case_ids
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.components import blob_store, instance_key
from casefile.config import Settings
from casefile.custody.ledger import SYSTEM, head, lock_head
from casefile.custody.models import Checkpoint
from casefile.custody.services import create_checkpoint, run_verification
from casefile.custody.verify import VerifyReport
from casefile.db import get_database, session_scope
from casefile.jobs.models import Job
from casefile.jobs.registry import register, register_schedule
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit

VERIFY = "custody.verify"
CHECKPOINT = "custody.checkpoint"
# A broken chain can yield a problem per entry: the job's result keeps the first ones and the count.
MAX_PROBLEMS = 200


def submit_verification(session: Session, user: User | None, case: Case | None, *, fixity: bool = True) -> Job:
    """Queue a verification: the whole chain and checkpoints, and the fixity of one case's files, or of every
    case the user belongs to when it runs (every case for the instance's own job, user None). The caller has
    found the case through the gate; submit asks the gate again."""
    return submit(session, VERIFY, case, user, {"fixity": fixity})


def _result(report: VerifyReport, fixity: bool) -> dict[str, Any]:
    problems = [p.to_dict() for p in report.problems[:MAX_PROBLEMS]]
    return {
        "ok": report.ok,
        "checked": report.checked,
        "items_checked": report.items_checked,
        "checkpoints_checked": report.checkpoints_checked,
        "fixity": fixity,
        "problem_count": len(report.problems),
        "problems": problems,
    }


def verify(ctx: JobContext) -> None:
    fixity = ctx.params.get("fixity", True) is not False
    # Everything is read through a read session (a snapshot, outside any write lock, so the job's progress commits
    # and other writers go on); the fixity entries and the job's success are written together at the end.
    with get_database().read_sessionmaker() as read_session, session_scope() as session:
        user = read_session.get(User, ctx.user_id) if ctx.user_id is not None else None
        if ctx.case_id is not None:
            case_ids: set[Any] | None = {ctx.case_id}
        elif user is not None:
            case_ids = set(read_session.scalars(member_case_ids(user)))
        else:
            case_ids = None
        ledger_head = head(read_session)
        entries = ledger_head.seq if ledger_head is not None else 0
        ctx.progress(0, entries, "Checking the hash chain and the signed checkpoints")
        report = run_verification(
            session,
            read_session,
            blob_store(),
            instance_key(),
            user if user is not None else SYSTEM,
            case_ids=case_ids,
            fixity=fixity,
            progress=lambda done: ctx.progress(done, entries, "Checking the hash chain and the signed checkpoints"),
            file_progress=lambda done, total: ctx.progress(done, total, "Re-hashing the files"),
        )
        ctx.succeed(session, _result(report, fixity))


def ledger_grew(session: Session) -> bool:
    """Whether the ledger holds entries that no checkpoint covers yet."""
    ledger_head = head(session)
    if ledger_head is None or ledger_head.seq == 0:
        return False
    covered = session.scalar(select(func.max(Checkpoint.tree_size)))
    return covered is None or covered < ledger_head.seq


def checkpoint(ctx: JobContext) -> None:
    with session_scope() as session:
        lock_head(session)  # two checkpoint jobs at once: the second waits here, then finds nothing new to sign
        if not ledger_grew(session):
            covered = session.scalar(select(func.max(Checkpoint.tree_size))) or 0
            ctx.succeed(session, {"created": False, "tree_size": covered})
            return
        cp = create_checkpoint(session, instance_key(), "scheduled")
        ctx.succeed(
            session, {"created": True, "checkpoint_id": cp.id, "tree_size": cp.tree_size, "root_hash": cp.root_hash}
        )


def checkpoint_interval(settings: Settings) -> timedelta | None:
    return timedelta(minutes=settings.checkpoint_minutes) if settings.checkpoint_minutes > 0 else None


register(
    VERIFY,
    verify,
    access=Access.READ,  # verifying reads a case; reviewers, who are read-only, are the ones who verify
    label=_l("Custody verification"),
    result_template="custody/verify_job_result.html",
)
register(CHECKPOINT, checkpoint, label=_l("Signed checkpoint"))
register_schedule(CHECKPOINT, checkpoint_interval, ledger_grew)
