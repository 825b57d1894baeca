"""`flask --app app custody verify|checkpoint` and `flask --app app fsck`."""

from __future__ import annotations

import sys
import uuid

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from casefile.cases.models import Case
from casefile.components import blob_store, instance_key, settings
from casefile.custody.fsck import fsck
from casefile.custody.jobs import submit_verification
from casefile.custody.ledger import SYSTEM, head
from casefile.custody.services import create_checkpoint, run_verification
from casefile.db import get_database, session_scope
from casefile.jobs.cli import follow_job
from casefile.jobs.models import Job, JobState

custody_cli = AppGroup("custody", help="The custody ledger.")


@custody_cli.command("verify")
@click.option("--case", "case_ref", help="Re-hash only this case's files (the chain is always checked whole).")
@click.option("--no-fixity", is_flag=True, help="Skip re-hashing files; check the chain and checkpoints only.")
@click.option("--background", is_flag=True, help="Queue a verification job for a worker; print its id and return.")
@click.option("--wait", is_flag=True, help="With --background: follow the job's progress until it ends.")
def verify_command(case_ref: str | None, no_fixity: bool, background: bool, wait: bool) -> None:
    """Exit 0 only when everything is intact; one line per problem."""
    if background:
        job_id = _verify_in_background(case_ref, fixity=not no_fixity)
        if wait:
            _report_job(follow_job(job_id))
        return
    # Reading and re-hashing happen outside the write transaction (SQLite has one writer at a time);
    # only the fixity results are appended at the end.
    with get_database().read_sessionmaker() as read_session:
        case_ids = None
        if case_ref:
            case_id = read_session.scalar(select(Case.id).where(Case.reference == case_ref))
            if case_id is None:
                raise click.ClickException(f"No case with reference {case_ref!r}.")
            case_ids = {case_id}
        total = ledger_head.seq if (ledger_head := head(read_session)) else 0
        bar = click.progressbar(length=max(total, 1), label="Verifying the chain", file=sys.stderr)
        show = sys.stderr.isatty()
        with session_scope() as s:
            report = run_verification(
                s,
                read_session,
                blob_store(),
                instance_key(),
                SYSTEM,
                case_ids=case_ids,
                fixity=not no_fixity,
                progress=(lambda n: bar.update(10_000)) if show else None,
            )
        if show:
            bar.render_finish()
    for problem in report.problems:
        click.echo(f"PROBLEM {problem.kind}: {problem.message}")
    summary = (
        f"{report.checked} entries, {report.checkpoints_checked} checkpoints, {report.items_checked} files checked"
    )
    if report.ok:
        click.echo(f"INTACT: {summary}.")
        return
    click.echo(f"NOT INTACT: {len(report.problems)} problem(s); {summary}.")
    sys.exit(1)


def _verify_in_background(case_ref: str | None, *, fixity: bool) -> uuid.UUID:
    with session_scope() as s:
        case = s.scalar(select(Case).where(Case.reference == case_ref)) if case_ref else None
        if case_ref and case is None:
            raise click.ClickException(f"No case with reference {case_ref!r}.")
        job = submit_verification(s, None, case, fixity=fixity)
    # The id alone on stdout, for scripts; `jobs list` or GET /api/v1/jobs/{id} follow it.
    click.echo(str(job.id))
    return job.id


def _report_job(job: Job) -> None:
    """A finished verification job's outcome, as the foreground command reports it (and its exit status)."""
    result = job.result or {}
    if job.state is not JobState.SUCCEEDED:
        click.echo(f"NOT VERIFIED: the job {job.state.value}: {job.error or ''}")
        sys.exit(2)
    for problem in result.get("problems", []):
        click.echo(f"PROBLEM {problem['kind']}: {problem['message']}")
    summary = (
        f"{result['checked']} entries, {result['checkpoints_checked']} checkpoints, "
        f"{result['items_checked']} files checked"
    )
    if result.get("ok"):
        click.echo(f"INTACT: {summary}.")
        return
    click.echo(f"NOT INTACT: {result['problem_count']} problem(s); {summary}.")
    sys.exit(1)


@custody_cli.command("checkpoint")
def checkpoint_command() -> None:
    """Sign a Merkle tree head over the whole ledger now."""
    with session_scope() as s:
        cp = create_checkpoint(s, instance_key(), "manual")
        click.echo(f"Checkpoint over {cp.tree_size} entries, root {cp.root_hash}, signed by key {cp.key_id[:16]}…")


@click.command("fsck")
@with_appcontext
@click.option("--collect", is_flag=True, help="Delete blobs that no row references (never referenced ones).")
def fsck_command(collect: bool) -> None:
    """Database ↔ blob store consistency. Exit 1 when a referenced file is missing."""
    store = blob_store()
    for name in store.sweep_partial(settings().temp_max_age_seconds):
        click.echo(f"SWEPT {name} (left by a process that died while writing)")
    with session_scope() as s:
        report = fsck(s, store, collect=collect)
    for ern, role, sha256 in report.missing:
        click.echo(f"MISSING {ern} {role} blob {sha256}")
    for sha256 in report.orphans:
        state = "collected" if sha256 in report.collected else "locked" if sha256 in report.locked else "orphan"
        click.echo(f"ORPHAN {sha256} ({state})")
    click.echo(f"{len(report.missing)} missing, {len(report.orphans)} unreferenced blob(s).")
    if not report.ok:
        sys.exit(1)
