"""`flask --app app search reindex [--background]`: rebuild the search index from the case tables."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from casefile.db import session_scope
from casefile.jobs.cli import follow_job
from casefile.jobs.models import JobState
from casefile.search.indexer import reindex_all
from casefile.search.jobs import submit_reindex

search_cli = AppGroup("search", help="The search index.")


@search_cli.command("reindex")
@click.option(
    "--background",
    is_flag=True,
    help="Queue it as a job that rebuilds in short transactions while the instance is in use; print the job's id.",
)
@click.option("--wait", is_flag=True, help="With --background: follow the job's progress until it ends.")
def reindex(background: bool, wait: bool) -> None:
    """Rebuild the search index (derived data: safe to run at any time, e.g. after restoring a backup). In the
    foreground the index is emptied and refilled in one transaction: for a stopped or quiet instance."""
    if background:
        with session_scope() as s:
            job = submit_reindex(s)
        click.echo(str(job.id))
        if wait:
            finished = follow_job(job.id)
            if finished.state is not JobState.SUCCEEDED:
                raise click.ClickException(f"the job {finished.state.value}: {finished.error or ''}")
            click.echo(_rebuilt(finished.result or {}))
        return
    with session_scope() as s:
        click.echo(_rebuilt(reindex_all(s)))


def _rebuilt(counts: dict[str, int]) -> str:
    # Sorted: a job's result comes back from the database as canonical JSON, its keys in that order.
    return "Search index rebuilt: " + ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) + "."
