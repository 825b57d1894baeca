"""GET /api/v1/search: the search service over JSON, declared (and so documented) through casefile.api.core.route."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from casefile.api.core import page_body, page_params, route
from casefile.api.schemas import UUID, nullable, obj, string
from casefile.db import db_session
from casefile.search import services, snippets
from casefile.search.models import ObjectType

OBJECT_TYPE = {"type": "string", "enum": [t.value for t in ObjectType]}
HIGHLIGHTS = {
    "type": "array",
    "description": "Where the query's words are in the text: [start, end) offsets in characters (Unicode code "
    "points, not UTF-16 units or bytes), in order, not overlapping.",
    "items": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
}
SNIPPET = obj(
    {
        "text": string(description="an excerpt of the stored text, as written (plain text: escape it to show it)"),
        "field": string(description="the field it is taken from, e.g. description, aliases, text_content, title"),
        "highlights": HIGHLIGHTS,
        "truncated_start": {"type": "boolean", "description": "the field's text goes on before the excerpt"},
        "truncated_end": {"type": "boolean", "description": "the field's text goes on after the excerpt"},
    }
)
SEARCH_RESULT = obj(
    {
        "object_type": OBJECT_TYPE,
        "object_id": UUID,
        "case_id": UUID,
        "case_reference": string(),
        "title": string(),
        "url": string(description="the object's page"),
        "api_url": string(description="the object in this API"),
        "title_highlights": HIGHLIGHTS,
        "snippet": nullable(SNIPPET),
    }
)
PARAMS = [
    {
        "name": "q",
        "in": "query",
        "required": True,
        "description": "Words to find, in Arabic or Latin script; every word must match.",
        "schema": string(minLength=1, maxLength=services.MAX_QUERY_LENGTH),
    },
    {"name": "case_id", "in": "query", "required": False, "schema": UUID},
    {
        "name": "type",
        "in": "query",
        "required": False,
        "description": "Only these kinds of object (repeat the parameter, or separate with commas).",
        "schema": {"type": "array", "items": OBJECT_TYPE},
        "style": "form",
        "explode": True,
    },
]


def result_json(result: services.SearchResult) -> dict[str, Any]:
    endpoint, args = result.endpoint
    api_endpoint, api_args = result.api_endpoint
    return {
        "object_type": result.object_type,
        "object_id": str(result.object_id),
        "case_id": str(result.case_id),
        "case_reference": result.case_reference,
        "title": result.title,
        "url": url_for(endpoint, **args),
        "api_url": url_for(api_endpoint, **api_args),
        "title_highlights": [list(span) for span in (result.title_snippet.marks if result.title_snippet else ())],
        "snippet": result.snippet.to_json() if result.snippet else None,
    }


@route(
    "/search",
    "GET",
    summary="Search incidents, actors, evidence and witness pseudonyms in your cases; each result says why it "
    "matched (a snippet with the found words' offsets)",
    tag="search",
    response=SEARCH_RESULT,
    paginated=True,
    params=PARAMS,
    errors=(401, 404, 422),
)
def search() -> ResponseReturnValue:
    page, per_page = page_params()
    types = [t for value in request.args.getlist("type") for t in value.split(",")]
    results, total = snippets.search(
        db_session(),
        current_user,
        request.args.get("q"),
        case_id=request.args.get("case_id") or None,
        types=types or None,
        page=page,
        per_page=per_page,
    )
    items = [result_json(r) for r in results]
    return jsonify(page_body(items, page, per_page, total.value, lower_bound=total.lower_bound))
