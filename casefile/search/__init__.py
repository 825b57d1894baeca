"""Search across a user's cases: incidents, actors, evidence items and witness pseudonyms, in Arabic and Latin
script alike. The index (models.SearchDocument) is derived data kept current by a flush listener (indexer.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casefile.search import indexer as _indexer  # noqa: F401 - registers the index's flush listener, once

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the search page and the `search` CLI group (the API route lives on the API blueprint)."""
    from casefile.search.cli import search_cli
    from casefile.search.views import bp

    if "search" not in app.blueprints:
        app.register_blueprint(bp)
    app.cli.add_command(search_cli)
