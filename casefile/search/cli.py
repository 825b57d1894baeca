"""`flask --app app search reindex`: rebuild the search index from the case tables."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from casefile.db import session_scope
from casefile.search.indexer import reindex_all

search_cli = AppGroup("search", help="The search index.")


@search_cli.command("reindex")
def reindex() -> None:
    """Rebuild the search index (derived data: safe to run at any time, e.g. after restoring a backup)."""
    with session_scope() as s:
        counts = reindex_all(s)
    click.echo("Search index rebuilt: " + ", ".join(f"{kind}: {n}" for kind, n in counts.items()) + ".")
