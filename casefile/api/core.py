from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Select
from sqlalchemy.orm import Session

from casefile.errors import ValidationFailed
from casefile.paging import Keyset, bounded_count, seek

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 200
MAX_PAGE = 100_000  # beyond this an offset overflows the databases' integers; no list is that long


@dataclass
class Operation:
    path: str
    method: str
    summary: str
    tag: str
    request: dict[str, Any] | None = None
    request_kind: str = "json"  # or "multipart"
    response: dict[str, Any] | None = None
    status: int = 200
    paginated: bool = False
    params: list[dict[str, Any]] = field(default_factory=list)
    errors: tuple[int, ...] = (401, 404)
    # Other success statuses with the same body, and when they are sent (e.g. 200: nothing new was created).
    also: dict[int, str] = field(default_factory=dict)
    # A paginated list that also takes cursors (`after`, `before`) and gives `next`, `previous`: see paginate.
    cursor: bool = False


OPERATIONS: list[Operation] = []


def route(
    path: str,
    method: str,
    *,
    summary: str,
    tag: str,
    request_schema: dict[str, Any] | None = None,
    request_kind: str = "json",
    response: dict[str, Any] | None = None,
    status: int = 200,
    paginated: bool = False,
    params: list[dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (401, 404),
    also: dict[int, str] | None = None,
    cursor: bool = False,
) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Register an API route and describe it for the OpenAPI document in one place."""

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        flask_path = re.sub(r"\{(\w+)\}", r"<\1>", path)
        api_bp.add_url_rule(flask_path, endpoint=f"{view.__name__}", view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                path,
                method.lower(),
                summary,
                tag,
                request_schema,
                request_kind,
                response,
                status,
                paginated,
                params or [],
                errors,
                also or {},
                cursor,
            )
        )
        return view

    return decorator


def json_body() -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # Python's JSON parser recurses once per level: [[[[… a hundred thousand deep
        raise ValidationFailed("The request body is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    if not _encodable(data):
        raise ValidationFailed("The request body holds text that is not valid Unicode (a lone surrogate).")
    return data


def _encodable(data: Any) -> bool:
    """Whether every string in a parsed JSON value can be stored: JSON's \\udXXX escapes can spell lone
    surrogates, which no database accepts. Walked without recursion (the value may be nested deep)."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


def fields_of(schema: Mapping[str, Any]) -> set[str]:
    """The property names a request schema allows."""
    return set(schema["properties"])


def only_fields(data: Mapping[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)[:200]}.", field=unknown[0][:50])
    return dict(data)


def query_int(name: str) -> int | None:
    """A whole-number query parameter (None when absent); 422 naming it otherwise."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed(f"{name} must be a whole number.", field=name)
    return int(raw)


def page_params() -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = request.args.get(name, str(default))
        try:
            value = int(raw)
        except ValueError:
            raise ValidationFailed(f"{name} must be a whole number.", field=name) from None
        if value < 1 or (name == "page" and value > MAX_PAGE):
            raise ValidationFailed(f"{name} must be between 1 and {MAX_PAGE}.", field=name)
        return value

    return number("page", 1), min(number("per_page", 50), MAX_PER_PAGE)


def paginate(
    session: Session,
    stmt: Select[Any],
    serialise: Callable[[Any], dict[str, Any]] | None = None,
    *,
    serialise_page: Callable[[Sequence[Any]], list[dict[str, Any]]] | None = None,
    keyset: Keyset | None = None,
) -> ResponseReturnValue:
    """A page of `stmt`'s rows in the list envelope. `serialise_page` serialises the whole page at once, for rows
    whose JSON needs data of its own (counted for the page in one query, never one per row).

    `total` is counted no further than casefile.paging.COUNT_CAP (`total_is_lower_bound` says when there are
    more). A list with a `keyset` (its route declared with cursor=True) also pages by cursor: `next` and
    `previous` are cursors for `after=` and `before=`, whose cost does not grow with depth as `page=` does."""
    page, per_page = page_params()
    total = bounded_count(session, stmt)
    body: dict[str, Any] = {}
    if keyset is None:
        rows: Sequence[Any] = session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    else:
        after, before = request.args.get("after"), request.args.get("before")
        by_cursor = after is not None or before is not None
        if by_cursor and "page" in request.args:
            raise ValidationFailed("Give either page or a cursor (after, before), not both.", field="page")
        found = seek(session, stmt, keyset, per_page, after=after, before=before, offset=(page - 1) * per_page)
        rows = found.rows
        body = {"next": found.next, "previous": found.previous, **({"page": None} if by_cursor else {})}
    items = serialise_page(rows) if serialise_page is not None else [serialise(r) for r in rows] if serialise else []
    return jsonify(page_body(items, page, per_page, total.value, lower_bound=total.lower_bound) | body)


def page_body(
    items: list[dict[str, Any]], page: int, per_page: int, total: int, *, lower_bound: bool = False
) -> dict[str, Any]:
    """The list envelope (schemas.page_of), for lists paginated otherwise than by `paginate`: `lower_bound` when
    `total` is a floor (casefile.paging.bounded_count), not an exact count."""
    return {"items": items, "page": page, "per_page": per_page, "total": total, "total_is_lower_bound": lower_bound}


def created(payload: dict[str, Any]) -> ResponseReturnValue:
    return jsonify(payload), 201
