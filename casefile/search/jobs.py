"""Search work that runs as a background job (registered with casefile.jobs, imported by create_app).

`search.reindex`: rebuilds the index while the instance is in use, in short transactions of one page of objects
each (`flask --app app search reindex --background`). Unlike the foreground `reindex_all`, which empties the
index and refills it in one transaction (the write lock held throughout), the job overwrites every document in
place, then removes the documents it did not write (objects gone, or no longer indexed): search keeps answering
meanwhile, and no request waits for more than one page. It also runs weekly on a schedule, as the instance's
own job: the index is derived data that an `after_flush` listener keeps current, and a bulk statement that
bypassed it (or a restore) is repaired within the week even if nobody thinks of it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from casefile.config import Settings
from casefile.db import session_scope, utcnow
from casefile.jobs.models import Job
from casefile.jobs.registry import register, register_schedule
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit
from casefile.search.indexer import INDEXED, document_row, upsert
from casefile.search.models import SearchDocument

REINDEX = "search.reindex"
REINDEX_EVERY = timedelta(days=7)


def submit_reindex(session: Session) -> Job:
    """Queue a rebuild as the instance's own job (the operator's command line)."""
    return submit(session, REINDEX, None, None, {})


def reindex(ctx: JobContext) -> None:
    started = utcnow()
    with session_scope() as s:
        total = sum(s.scalar(select(func.count()).select_from(spec.model)) or 0 for spec in INDEXED.values())
    done = 0
    counts: dict[str, int] = {}
    for spec in INDEXED.values():
        model = spec.model
        columns = [model.id, *(getattr(model, name) for name in dict.fromkeys(spec.fields))]
        counts[spec.object_type.value] = 0
        last: Any = None
        while True:
            ctx.progress(done, total, "Rewriting the search documents")
            with session_scope() as s:
                stmt = select(*columns).order_by(model.id).limit(spec.batch)
                page = s.execute(stmt.where(model.id > last) if last is not None else stmt).all()
                if not page:
                    break
                rows = [r for r in (document_row(spec, row) for row in page) if r is not None]
                upsert(s.connection(), rows)
            counts[spec.object_type.value] += len(rows)
            done += len(page)
            last = page[-1].id
    table = SearchDocument.__table__
    assert isinstance(table, Table)  # noqa: S101 - a mapped class's table
    with session_scope() as s:
        # Every document this job did not rewrite describes an object that is gone or no longer indexed.
        removed = s.execute(delete(table).where(table.c.updated_at < started)).rowcount  # type: ignore[attr-defined]
        ctx.succeed(s, {**counts, "removed": removed})


def reindex_interval(_settings: Settings) -> timedelta:
    return REINDEX_EVERY


def anything_indexed(session: Session) -> bool:
    return session.scalar(select(SearchDocument.id).limit(1)) is not None


register(REINDEX, reindex, label=_l("Search index rebuild"))
register_schedule(REINDEX, reindex_interval, anything_indexed)
