"""`flask --app app custody verify|checkpoint` and `flask --app app fsck`."""

from __future__ import annotations

import json
import sys
import uuid
from datetime import timedelta
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from casefile.cases.models import Case
from casefile.components import blob_store, instance_key, settings
from casefile.custody.fsck import DEFAULT_MIN_AGE, fsck
from casefile.custody.jobs import submit_verification
from casefile.custody.ledger import SYSTEM, head
from casefile.custody.services import create_checkpoint, record_fixity
from casefile.custody.timestamps import stamp_checkpoints, verification_roots
from casefile.custody.verify import VerifyReport, verify_ledger
from casefile.custody.witness import (
    check_published_heads,
    consistency,
    latest_tree_head,
    load_tree_heads,
    publish_to_witness,
    witness_heads,
)
from casefile.db import get_database, session_scope
from casefile.errors import ValidationFailed
from casefile.jobs.cli import follow_job
from casefile.jobs.models import Job, JobState
from casefile.storage import StorageError

custody_cli = AppGroup("custody", help="The custody ledger.")


class CouldNotRun(click.ClickException):
    """Verification did not run to the end (bad arguments, database or store unreachable): exit 2, never the
    "not intact" status, so a script can tell a failed check from a failed checker."""

    exit_code = 2


@custody_cli.command("verify")
@click.option("--case", "case_ref", help="Re-hash only this case's files (the chain is always checked whole).")
@click.option("--no-fixity", is_flag=True, help="Skip re-hashing files; check the chain and checkpoints only.")
@click.option(
    "--record",
    is_flag=True,
    help="Append each file's fixity result to the ledger (the scheduled audit does); without it nothing is written, "
    "so a read-only copy can be verified.",
)
@click.option(
    "--against",
    "against",
    multiple=True,
    metavar="TREE_HEAD",
    help="A signed tree head published earlier (a file, a folder of them, an http(s):// or s3:// address): prove that "
    "today's ledger extends it. Repeatable. The configured checkpoint witness is always checked.",
)
@click.option("--background", is_flag=True, help="Queue a verification job for a worker; print its id and return.")
@click.option("--wait", is_flag=True, help="With --background: follow the job's progress until it ends.")
def verify_command(
    case_ref: str | None, no_fixity: bool, record: bool, against: tuple[str, ...], background: bool, wait: bool
) -> None:
    """Exit 0 when everything is intact, 1 when it is not (one line per problem), 2 when verification could not
    run."""
    try:
        if background:
            job_id = _verify_in_background(case_ref, fixity=not no_fixity)
            if wait:
                _report_job(follow_job(job_id))
            return
        report = _verify_here(case_ref, fixity=not no_fixity, record=record, against=against)
    except (SQLAlchemyError, StorageError, OSError, ValueError) as error:  # ValueError: a tree head that is none
        raise CouldNotRun(f"NOT VERIFIED: verification could not run: {error}") from error
    for problem in report.problems:
        click.echo(f"PROBLEM {problem.kind}: {problem.message}")
    summary = _summary(report.to_dict())
    if report.ok:
        click.echo(f"INTACT: {summary}.")
        return
    click.echo(f"NOT INTACT: {len(report.problems)} problem(s); {summary}.")
    sys.exit(1)


def _verify_here(case_ref: str | None, *, fixity: bool, record: bool, against: tuple[str, ...]) -> VerifyReport:
    # Reading and re-hashing happen in a read transaction (SQLite has one writer at a time); with --record only the
    # fixity results are appended, at the end.
    endpoint = settings().s3_endpoint_url
    published = [head for source in against for head in load_tree_heads(source, endpoint_url=endpoint)]
    with get_database().read_sessionmaker() as read_session:
        case_ids = None
        if case_ref:
            case_id = read_session.scalar(select(Case.id).where(Case.reference == case_ref))
            if case_id is None:
                raise CouldNotRun(f"No case with reference {case_ref!r}.")
            case_ids = {case_id}
        total = ledger_head.seq if (ledger_head := head(read_session)) else 0
        bar = click.progressbar(length=max(total, 1), label="Verifying the chain", file=sys.stderr)
        show = sys.stderr.isatty()
        report = verify_ledger(
            read_session,
            blob_store() if fixity else None,
            instance_key().public_pem,
            case_ids=case_ids,
            progress=(lambda n: bar.update(10_000)) if show else None,
            tsa_roots=verification_roots(settings()),
        )
        if show:
            bar.render_finish()
        check_published_heads(read_session, instance_key().public_pem, [*published, *witness_heads(settings())], report)
    if record:
        with session_scope() as s:
            record_fixity(s, SYSTEM, report.fixity)
    return report


def _verify_in_background(case_ref: str | None, *, fixity: bool) -> uuid.UUID:
    with session_scope() as s:
        case = s.scalar(select(Case).where(Case.reference == case_ref)) if case_ref else None
        if case_ref and case is None:
            raise CouldNotRun(f"No case with reference {case_ref!r}.")
        job = submit_verification(s, None, case, fixity=fixity)
    # The id alone on stdout, for scripts; `jobs list` or GET /api/v1/jobs/{id} follow it.
    click.echo(str(job.id))
    return job.id


def _summary(result: dict[str, Any]) -> str:
    published = f"{result['published_checked']} published tree heads, " if result.get("published_checked") else ""
    stamps = f"{result['timestamps_checked']} trusted timestamps, " if result.get("timestamps_checked") else ""
    return (
        f"{result['checked']} entries, {result['checkpoints_checked']} checkpoints, {published}{stamps}"
        f"{result['items_checked']} files checked"
    )


def _report_job(job: Job) -> None:
    """A finished verification job's outcome, as the foreground command reports it (and its exit status)."""
    result = job.result or {}
    if job.state is not JobState.SUCCEEDED:
        raise CouldNotRun(f"NOT VERIFIED: the job {job.state.value}: {job.error or ''}")
    for problem in result.get("problems", []):
        click.echo(f"PROBLEM {problem['kind']}: {problem['message']}")
    summary = _summary(result)
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
    stamped = stamp_checkpoints(settings(), session_scope)  # after the commit, as publication
    if stamped.stored:
        click.echo(f"Trusted timestamps: {stamped.stored} token(s) stored")
    for name in publish_to_witness():  # after the commit: only a head of committed entries may leave
        click.echo(f"Published {name}")
    if stamped.errors:
        raise CouldNotRun("Trusted timestamps could not be obtained: " + "; ".join(stamped.errors))


@custody_cli.command("tree-head")
def tree_head_command() -> None:
    """Print the newest signed tree head as JSON: keep a copy outside the instance for `verify --against`."""
    with get_database().read_sessionmaker() as s:
        document = latest_tree_head(s, instance_key().public_pem)
    if document is None:
        raise CouldNotRun("No checkpoint yet: run `custody checkpoint` first.")
    click.echo(json.dumps(document, indent=2, sort_keys=True))


@custody_cli.command("consistency")
@click.option("--first", type=click.IntRange(min=0), required=True, help="The size of the earlier tree head.")
@click.option("--second", type=click.IntRange(min=0), help="The size of a later checkpoint (default: the newest).")
def consistency_command(first: int, second: int | None) -> None:
    """Print an RFC 6962 consistency proof between two tree sizes, with the later signed head, as JSON."""
    with get_database().read_sessionmaker() as s:
        try:
            proof = consistency(s, instance_key().public_pem, first, second)
        except ValidationFailed as error:
            raise CouldNotRun(error.message) from None
    click.echo(json.dumps(proof, indent=2, sort_keys=True))


@click.command("fsck")
@with_appcontext
@click.option(
    "--collect",
    is_flag=True,
    help="Move unreferenced blobs older than --min-age-days to quarantine (never deleted; never a blob the ledger "
    "names).",
)
@click.option(
    "--min-age-days",
    type=click.FloatRange(min=0),
    default=DEFAULT_MIN_AGE.days,
    show_default=True,
    help="With --collect: leave younger unreferenced blobs alone (uploads newer than a restored backup look "
    "unreferenced).",
)
def fsck_command(collect: bool, min_age_days: float) -> None:
    """Database ↔ blob store consistency. Exit 1 when a referenced file is missing."""
    store = blob_store()
    for name in store.sweep_partial(settings().temp_max_age_seconds):
        click.echo(f"SWEPT {name} (left by a process that died while writing)")
    with get_database().read_sessionmaker() as s:
        report = fsck(s, store, collect=collect, min_age=timedelta(days=min_age_days))
    for ern, role, sha256 in report.missing:
        click.echo(f"MISSING {ern} {role} blob {sha256}")
    for sha256 in report.orphans:
        if sha256 in report.collected:
            state = f"quarantined to {report.collected[sha256]}"
        elif sha256 in report.locked:
            state = "locked by retention"
        elif sha256 in report.young:
            state = f"kept: younger than {min_age_days:g} days"
        else:
            state = "orphan"
        click.echo(f"ORPHAN {sha256} ({state})")
    click.echo(f"{len(report.missing)} missing, {len(report.orphans)} unreferenced blob(s).")
    if not report.ok:
        sys.exit(1)
