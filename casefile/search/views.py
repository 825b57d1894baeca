"""The search page: GET /search?q=…&case=…&type=…&page=…, across every case the user is a member of."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from casefile.cases.services import cases_for
from casefile.db import db_session
from casefile.errors import ValidationFailed
from casefile.paging import Count
from casefile.search import services, snippets
from casefile.search.models import ObjectType

bp = Blueprint("search", __name__)
PER_PAGE = 25

TYPE_LABELS = {
    ObjectType.INCIDENT.value: _l("Incidents"),
    ObjectType.ACTOR.value: _l("Actors"),
    ObjectType.EVIDENCE.value: _l("Evidence"),
    ObjectType.WITNESS.value: _l("Witnesses"),
}


# Where a snippet comes from, in words (search/snippets.py FIELDS); a snippet of the title is not repeated under it.
SNIPPET_FIELDS = {
    "description": _l("Description"),
    "place_name": _l("Place"),
    "aliases": _l("Also known as"),
    "source": _l("Source"),
    "original_filename": _l("Original file name"),
    "text_content": _l("Text of the file"),
}
TITLE_FIELDS = frozenset({"title", "name", "ern", "code"})


def result_url(result: services.SearchResult) -> str:
    endpoint, args = result.endpoint
    return url_for(endpoint, **args)


@bp.get("/search")
def search() -> tuple[str, int]:
    s = db_session()
    query = request.args.get("q", "")
    case_id = request.args.get("case", "").strip() or None
    type_ = request.args.get("type", "").strip() or None
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    results: list[services.SearchResult] = []
    total = Count(0, lower_bound=False)
    error = None
    status = 200
    searched = bool(query.strip())
    if searched:
        try:
            results, total = snippets.search(
                s, current_user, query, case_id=case_id, types=type_, page=page, per_page=PER_PAGE
            )
        except ValidationFailed as failure:
            error, status = failure.message, failure.status
    # Results arrive ordered by type; keep that order and show one heading per type.
    groups: list[tuple[Any, list[services.SearchResult]]] = []
    for result in results:
        if not groups or groups[-1][1][0].object_type != result.object_type:
            groups.append((TYPE_LABELS[result.object_type], []))
        groups[-1][1].append(result)
    pages = max((total.value - 1) // PER_PAGE + 1, 1)
    return render_template(
        "search/results.html",
        q=query[: services.MAX_QUERY_LENGTH * 2],
        selected_case=case_id or "",
        selected_type=type_ or "",
        cases=cases_for(s, current_user),
        type_labels=TYPE_LABELS,
        searched=searched,
        error=error,
        groups=groups,
        total=total,
        page=page,
        pages=pages,
        max_length=services.MAX_QUERY_LENGTH,
        result_url=result_url,
        snippet_fields=SNIPPET_FIELDS,
        title_fields=TITLE_FIELDS,
        page_url=lambda n: url_for("search.search", **{**request.args.to_dict(), "page": n}),
    ), status
