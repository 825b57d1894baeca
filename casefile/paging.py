"""Lists that stay fast at a million rows: seek ("keyset") pages and bounded counts.

An OFFSET page makes the database walk and throw away every row before it, so page 20,000 of a case costs
20,000 pages; a seek page starts from the last row seen (`WHERE key > :last ORDER BY key LIMIT n`), which an
index on the key answers in the same time at any depth. The position travels as an opaque cursor: the key's
values, signed with the instance's secret so that a cursor the client edited or invented is refused (422)
rather than silently read. A cursor carries nothing but the key of a row the client has already been shown;
the list's own filters (the case above all) stay in the query, so a cursor from another case or another filter
only says where to start, never what may be seen.

Counts are bounded: `SELECT count(*) FROM (… LIMIT cap + 1)` reads at most cap + 1 index entries, and a list
longer than the cap says "more than" instead of an exact figure nobody needs on every request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, Select, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from casefile.errors import ValidationFailed

COUNT_CAP = 10_000
MAX_CURSOR_LENGTH = 512  # a real cursor is under 100 characters; anything far longer is not one of ours

# A cursor that points past the last row: `before=` it is the list's last page.
END = "end"


@dataclass(frozen=True)
class Count:
    """How many rows a list has: exact up to the cap, else `value` is the cap and `lower_bound` is set."""

    value: int
    lower_bound: bool


def bounded_count(session: Session, stmt: Select[Any], cap: int | None = None) -> Count:
    """The number of rows of `stmt`, counting no further than cap + 1 (COUNT_CAP unless given)."""
    cap = COUNT_CAP if cap is None else cap
    counted = session.scalar(select(func.count()).select_from(stmt.order_by(None).limit(cap + 1).subquery())) or 0
    return Count(min(counted, cap), counted > cap)


@dataclass(frozen=True)
class Keyset:
    """A list's sort key: columns whose values, together, are unique among the list's rows (the last one a
    unique key, so no two rows tie), all ascending, each an integer or a string (what JSON carries exactly).
    `name` keeps the cursors of different lists apart."""

    name: str
    columns: tuple[InstrumentedAttribute[Any], ...]

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(current_app.secret_key or "", salt=f"casefile.paging.{self.name}")

    def cursor(self, row: Any) -> str:
        return str(self._serializer().dumps([getattr(row, column.key) for column in self.columns]))

    def end_cursor(self) -> str:
        return str(self._serializer().dumps(END))

    def position(self, token: str, field: str) -> list[Any] | None:
        """The key values a cursor holds (None: past the end); a cursor that is not one of this list's gives a
        ValidationFailed naming the parameter."""
        invalid = ValidationFailed(
            _("The %(field)s cursor is not valid for this list: start again from the first page.", field=field),
            field=field,
        )
        if not token or len(token) > MAX_CURSOR_LENGTH or not token.isascii():
            raise invalid
        try:
            values = self._serializer().loads(token)
        except BadSignature:
            raise invalid from None
        if values == END:
            return None
        # Signed by us, so well-formed unless the list's key changed shape since it was issued.
        if (
            not isinstance(values, list)
            or len(values) != len(self.columns)
            or not all(isinstance(v, int | str) and not isinstance(v, bool) for v in values)
        ):
            raise invalid
        return values

    def _key(self) -> ColumnElement[Any]:
        return self.columns[0].expression if len(self.columns) == 1 else tuple_(*self.columns)

    def _values(self, values: list[Any]) -> Any:
        return values[0] if len(values) == 1 else tuple_(*values)

    def after(self, stmt: Select[Any], values: list[Any] | None) -> Select[Any]:
        """`stmt`'s rows after a position, in key order (from the start when `values` is None)."""
        stmt = stmt.order_by(None).order_by(*self.columns)
        return stmt if values is None else stmt.where(self._key() > self._values(values))

    def before(self, stmt: Select[Any], values: list[Any] | None) -> Select[Any]:
        """`stmt`'s rows before a position, nearest first (from the end when `values` is None)."""
        stmt = stmt.order_by(None).order_by(*(column.desc() for column in self.columns))
        return stmt if values is None else stmt.where(self._key() < self._values(values))


@dataclass(frozen=True)
class Page:
    rows: Sequence[Any]
    next: str | None  # `after=` this for the following rows
    previous: str | None  # `before=` this for the rows in front
    last: str  # `before=` this for the list's last page


def seek(
    session: Session,
    stmt: Select[Any],
    keyset: Keyset,
    per_page: int,
    *,
    after: str | None = None,
    before: str | None = None,
    offset: int = 0,
) -> Page:
    """One page of `stmt`: after a cursor, before one, or (for the first pages of a list, by number) at a
    small offset. One query: a row beyond the page says whether there is more in that direction."""
    if after is not None and before is not None:
        raise ValidationFailed(_("Give either after or before, not both."), field="before")
    if before is not None:
        values = keyset.position(before, "before")
        rows = list(session.scalars(keyset.before(stmt, values).limit(per_page + 1)))
        more_in_front = len(rows) > per_page
        rows = rows[:per_page][::-1]
        return Page(
            rows,
            # The rows at and after the cursor exist (it was a row of this list), unless it pointed past the end.
            next=keyset.cursor(rows[-1]) if rows and values is not None else None,
            previous=keyset.cursor(rows[0]) if more_in_front else None,
            last=keyset.end_cursor(),
        )
    values = keyset.position(after, "after") if after is not None else None
    query = keyset.after(stmt, values).limit(per_page + 1)
    rows = list(session.scalars(query.offset(offset) if offset else query))
    more_behind = len(rows) > per_page
    rows = rows[:per_page]
    return Page(
        rows,
        next=keyset.cursor(rows[-1]) if more_behind else None,
        # Rows in front: the ones the cursor (a row already shown) or the offset went past.
        previous=keyset.cursor(rows[0]) if rows and (values is not None or offset) else None,
        last=keyset.end_cursor(),
    )
