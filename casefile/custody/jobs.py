"""Custody work that runs as background jobs (registered with casefile.jobs, imported by create_app):

- `custody.verify`: the verification with fixity of DESIGN §4, started by a reviewer from the verification page or
  the API (POST /custody/verifications), or by `custody verify --background`. It reports progress per slice of
  the chain (10 000 entries) and per file, can be cancelled at any of those points, and appends its fixity entries
  in short slices, the last one with the job's success; each entry names the job, so a retried verification
  never records one twice.
- `custody.checkpoint`: a signed Merkle tree head, on the schedule CASEFILE_CHECKPOINT_MINUTES (default 15),
  only when the ledger grew since the last checkpoint.
- `custody.fixity_audit`: every hour, the next slice of the stored files is re-hashed, so that every file is
  checked once within CASEFILE_FIXITY_CYCLE_DAYS (default 90), each result a fixity entry in the ledger.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access, member_case_ids
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.components import blob_store, instance_key
from casefile.config import Settings
from casefile.custody.actions import Action
from casefile.custody.ledger import SYSTEM, Actor, head, lock_head
from casefile.custody.models import Checkpoint, CustodyEntry
from casefile.custody.services import create_checkpoint, record_fixity
from casefile.custody.timestamps import newest_checkpoint_unstamped, stamp_checkpoints, verification_roots
from casefile.custody.verify import FIXITY_COLUMNS, FixityItem, VerifyReport, check_fixity, verify_ledger
from casefile.custody.witness import check_published_heads, publish_to_witness, witness_heads
from casefile.db import get_database, session_scope
from casefile.errors import CasefileError
from casefile.evidence.models import EvidenceItem
from casefile.jobs.models import Job, JobState
from casefile.jobs.registry import register, register_schedule
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit

VERIFY = "custody.verify"
CHECKPOINT = "custody.checkpoint"
FIXITY_AUDIT = "custody.fixity_audit"
# A broken chain can yield a problem per entry: the job's result keeps the first ones and the count.
MAX_PROBLEMS = 200
# Fixity entries appended per transaction: each holds the ledger's head lock (and SQLite's write lock, which every
# SQLite request takes) for about a tenth of a second. Between two slices the job pauses for as long, so that
# requests waiting for the lock get it: SQLite's busy handler retries every 100 ms at most, and without a pause
# the job's next slice would win the lock again and again (measured: list pages waiting up to 1.9 s).
FIXITY_SLICE = 100
SLICE_PAUSE_SECONDS = 0.1


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
        "published_checked": report.published_checked,
        "timestamps_checked": report.timestamps_checked,
        "fixity": fixity,
        "problem_count": len(report.problems),
        "problems": problems,
    }


def verify(ctx: JobContext) -> None:
    fixity = ctx.params.get("fixity", True) is not False
    # Everything is read through a read session (a snapshot, outside any write lock, so the job's progress commits
    # and other writers go on). The fixity entries are then appended in short transactions of FIXITY_SLICE entries,
    # the last one with the job's success: a verification of a million files never holds the write lock for long.
    with get_database().read_sessionmaker() as read_session:
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
        report = verify_ledger(
            read_session,
            blob_store() if fixity else None,
            instance_key().public_pem,
            case_ids=case_ids,
            progress=lambda done: ctx.progress(done, entries, "Checking the hash chain and the signed checkpoints"),
            file_progress=lambda done, total: ctx.progress(done, total, "Re-hashing the files"),
            tsa_roots=verification_roots(components.settings()),
        )
        # The heads published outside the instance: an unreachable witness fails the job (retried), never passes it.
        check_published_heads(read_session, instance_key().public_pem, witness_heads(components.settings()), report)
    # Each entry names its job, so an attempt that follows one killed between two slices records only the rest.
    results = report.fixity
    if ctx.attempt > 1 and results:
        with session_scope() as session:
            recorded = recorded_by(session, ctx.job_id)
        results = [r for r in results if r.item_id not in recorded]
    actor: Actor = user if user is not None else SYSTEM
    slices = [results[start : start + FIXITY_SLICE] for start in range(0, len(results), FIXITY_SLICE)] or [[]]
    for n, part in enumerate(slices, start=1):
        if n > 1:
            time.sleep(SLICE_PAUSE_SECONDS)
        if len(slices) > 1:
            ctx.progress(n - 1, len(slices), "Recording the results in the custody ledger")
        with session_scope() as session:
            ctx.still_own(session)
            record_fixity(session, actor, part, {"job": str(ctx.job_id)})
            if n == len(slices):
                ctx.succeed(session, _result(report, fixity))


def recorded_by(session: Session, job_id: uuid.UUID) -> set[uuid.UUID]:
    """The items whose fixity entry an earlier attempt of this job recorded (read on a retry only)."""
    rows = session.execute(
        select(CustodyEntry.evidence_id, CustodyEntry.details).where(
            CustodyEntry.action.in_([Action.FIXITY_VERIFIED.value, Action.FIXITY_FAILED.value])
        )
    )
    return {item for item, details in rows if item is not None and (details or {}).get("job") == str(job_id)}


def ledger_grew(session: Session) -> bool:
    """Whether the ledger holds entries that no checkpoint covers yet."""
    ledger_head = head(session)
    if ledger_head is None or ledger_head.seq == 0:
        return False
    covered = session.scalar(select(func.max(Checkpoint.tree_size)))
    return covered is None or covered < ledger_head.seq


def checkpoint_due(session: Session) -> bool:
    return ledger_grew(session) or newest_checkpoint_unstamped(session, components.settings().tsa_urls)


def checkpoint(ctx: JobContext) -> None:
    """Sign a checkpoint if the ledger grew, then copy every checkpoint the witness lacks (this one, those of dossier
    exports, any whose publication failed before) outside the instance. Publication follows the commit, so only heads
    of committed entries leave; if the witness is unreachable the job fails and its retry publishes."""
    with session_scope() as session:
        lock_head(session)  # two checkpoint jobs at once: the second waits here, then finds nothing new to sign
        result: dict[str, Any] = {"created": False}
        if ledger_grew(session):
            cp = create_checkpoint(session, instance_key(), "scheduled")
            result = {"created": True, "checkpoint_id": cp.id, "tree_size": cp.tree_size, "root_hash": cp.root_hash}
        else:
            result["tree_size"] = session.scalar(select(func.max(Checkpoint.tree_size))) or 0
    # After the commit, like publication: a TSA and a witness only ever see heads of committed entries. A TSA that
    # fails fails the job after the witness has been written; the schedule asks again (checkpoint_due).
    stamped = stamp_checkpoints(components.settings(), session_scope)
    published = publish_to_witness(ctx.app)
    if stamped.errors:
        raise CasefileError("Trusted timestamps could not be obtained: " + "; ".join(stamped.errors))
    with session_scope() as session:
        ctx.succeed(session, {**result, "published": len(published), "timestamps": stamped.stored})


# The audit runs hourly: slices small enough to pass unnoticed, frequent enough that a file gone bad is found
# within the cycle. The slice is the cycle's share of the files, between these bounds.
AUDIT_EVERY = timedelta(hours=1)
AUDIT_MIN_SLICE, AUDIT_MAX_SLICE = 1, 5_000


def audit_slice_size(items: int, cycle_days: float) -> int:
    runs = max(cycle_days * timedelta(days=1) / AUDIT_EVERY, 1.0)
    return min(max(math.ceil(items / runs), AUDIT_MIN_SLICE), AUDIT_MAX_SLICE)


def fixity_audit(ctx: JobContext) -> None:
    """Re-hash the next slice of stored files (in id order, after where the previous audit stopped, wrapping
    around at the end), then record each result and the job's success in one short transaction."""
    settings = components.settings(ctx.app)
    with get_database().read_sessionmaker() as read_session:
        total = read_session.scalar(select(func.count()).select_from(EvidenceItem)) or 0
        size = audit_slice_size(total, settings.fixity_cycle_days)
        previous = read_session.scalar(
            select(Job.result)
            .where(Job.kind == FIXITY_AUDIT, Job.state == JobState.SUCCEEDED)
            .order_by(Job.finished_at.desc(), Job.id.desc())
            .limit(1)
        )
        after = (previous or {}).get("last_id")
        query = select(*FIXITY_COLUMNS).order_by(EvidenceItem.id).limit(size)
        rows = list(read_session.execute(query.where(EvidenceItem.id > uuid.UUID(after)) if after else query))
        wrapped = len(rows) < size and after is not None
        if wrapped:  # the end of the cycle: go on from the first file
            rows += list(read_session.execute(query.limit(size - len(rows))))
        items = [FixityItem._make(row) for row in rows]
        # A file may come round twice in a slice when there are fewer files than the slice: check it once.
        items = list({item.id: item for item in items}.values())
        report = VerifyReport()
        check_fixity(blob_store(), items, report, lambda done, n: ctx.progress(done, n, "Re-hashing the files"))
    with session_scope() as session:
        ctx.still_own(session)
        record_fixity(session, SYSTEM, report.fixity, {"job": str(ctx.job_id)})
        ctx.succeed(
            session,
            {
                "checked": len(items),
                "failed": [r.ern for r in report.fixity if not r.ok][:MAX_PROBLEMS],
                "failed_count": sum(1 for r in report.fixity if not r.ok),
                "problems": [p.to_dict() for p in report.problems[:MAX_PROBLEMS]],
                "ok": report.ok,
                "last_id": str(items[-1].id) if items else after,
                "started_cycle": wrapped or after is None,
                "items": total,
                "slice": size,
            },
        )


def audit_interval(settings: Settings) -> timedelta | None:
    return AUDIT_EVERY if settings.fixity_cycle_days > 0 else None


def has_files(session: Session) -> bool:
    return session.scalar(select(EvidenceItem.id).limit(1)) is not None


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
register_schedule(CHECKPOINT, checkpoint_interval, checkpoint_due)
register(FIXITY_AUDIT, fixity_audit, label=_l("Fixity audit"), result_template="custody/fixity_audit_result.html")
register_schedule(FIXITY_AUDIT, audit_interval, has_files)
