"""`flask --app app jobs worker|list`.

The worker is huey's consumer with worker THREADS, not processes. Jobs spend their time waiting on the database,
the blob store (S3 over the network, or disk) and hashing, which release the GIL, so threads overlap them well.
What is CPU-bound in Python already runs in Casefile's own small fork-server processes (casefile/workers.py: the
dossier PDF layout, PDF text), and huey's process workers would fork the application process itself after it
opened database connections and threads, which is exactly what workers.py is there to avoid. For more CPU, run
more workers (this command again, or on other machines): each is one process with its threads.
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
import uuid
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from casefile import components
from casefile.cases.models import Case
from casefile.db import get_database, session_scope
from casefile.jobs import registry
from casefile.jobs.models import Job, JobState
from casefile.jobs.runner import reclaim, resend_forgotten

jobs_cli = AppGroup("jobs", help="Background jobs: run a worker, list jobs.")

# How long a stopping worker waits for its running jobs to stop at their next check and go back to the queue.
SHUTDOWN_SECONDS = 30.0


@jobs_cli.command("worker")
@click.option("--workers", "-w", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker threads.")
@click.option(
    "--import",
    "modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE first: job kinds registered outside Casefile's own capabilities (repeatable).",
)
def worker_command(workers: int, modules: tuple[str, ...]) -> None:
    """Run jobs until stopped. Ctrl-C or SIGTERM: running jobs stop at their next check and go back to the
    queue. At start, jobs left `running` by a worker that died are retried or failed."""
    for module in modules:
        importlib.import_module(module)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = components.application()
    queue = components.job_queue(app)
    counts = reclaim(app, queue)
    resent = resend_forgotten(app, queue)
    swept = components.blob_store(app).sweep_partial(components.settings(app).temp_max_age_seconds)
    kinds = ", ".join(sorted(registry.kinds())) or "none"
    click.echo(
        f"Worker: {workers} thread(s) on {queue.url.split('@')[-1]} (queue {queue.name!r}); job kinds: {kinds}.",
        err=True,
    )
    if any(counts.values()) or resent:
        click.echo(
            f"Jobs left by stopped workers: {counts['retried']} retried, {counts['failed']} failed, "
            f"{counts['cancelled']} cancelled; {resent} forgotten job(s) sent again.",
            err=True,
        )
    if swept:
        click.echo(f"Removed {len(swept)} temporary file(s) left by processes that died while writing.", err=True)
    consumer = queue.consumer(workers, shutdown_timeout=SHUTDOWN_SECONDS)
    try:
        consumer.run()
    finally:
        # SIGTERM stops the consumer without waiting: give running jobs the time to hand themselves back.
        queue.stopping.set()
        for _worker, thread in consumer.worker_threads:
            thread.join(timeout=SHUTDOWN_SECONDS)
        queue.close()


@jobs_cli.command("list")
@click.option("--state", type=click.Choice([s.value for s in JobState]), help="Only jobs in this state.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def list_command(state: str | None, limit: int) -> None:
    """The newest jobs of every case (for the operator): id, state, kind, case, progress, created."""
    stmt = (
        select(Job, Case.reference)
        .outerjoin(Case, Case.id == Job.case_id)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit)
    )
    if state:
        stmt = stmt.where(Job.state == JobState(state))
    with get_database().read_sessionmaker() as s:
        rows = s.execute(stmt).all()
    if not rows:
        click.echo("No jobs.")
        return
    for job, reference in rows:
        total = "?" if job.progress_total is None else str(job.progress_total)
        line = (
            f"{job.id}  {job.state.value:<9}  {job.kind:<20}  {reference or '-':<16}  "
            f"{job.progress_done}/{total}  {job.created_at:%Y-%m-%d %H:%M:%S}"
        )
        if job.error and job.state is JobState.FAILED:
            line += f"  {job.error}"
        click.echo(line)


def follow_job(job_id: uuid.UUID, every: float = 0.5) -> Job:
    """Show a job's progress as a bar on stderr (one bar per stage: its message) until it ends, for commands
    that queue a job and wait for it (`--background --wait`); the finished job."""
    bar: Any = None
    stage = None
    while True:
        with session_scope() as s:
            job = s.get_one(Job, job_id)
        new_stage = bool(job.progress_total) and job.progress_message != stage
        if bar is not None and (job.finished or new_stage):
            bar.render_finish()
            bar = None
        if job.finished:
            return job
        if job.progress_total and bar is None:
            stage = job.progress_message
            bar = click.progressbar(length=job.progress_total, label=stage, file=sys.stderr)
        if bar is not None:
            bar.update(job.progress_done - bar.pos)
        time.sleep(every)
