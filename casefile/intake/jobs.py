"""Imports as background jobs (registered with casefile.jobs, imported by create_app).

- `intake.preview`: reads the manifest and every file (for its SHA-256) in a read session, reporting rows read,
  then stores the plan in one short transaction: the import becomes `previewed` (or `failed`, saying why).
- `intake.run`: creates the rows planned `create`, one transaction per row holding the row's new status, so a
  retry (a killed worker) takes up exactly where the last committed row left off.

When either ends without succeeding, the end hook says so on the import: a failed preview fails the import; a
stopped run returns it to `previewed` with what is left to do, so the user can continue it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.db import get_database, session_scope
from casefile.errors import NotFound
from casefile.intake import services
from casefile.intake.manifest import ManifestError
from casefile.intake.models import Import, ImportRow, ImportState, RowStatus
from casefile.intake.sources import Source, SourceError, ZipSource, staged_blob
from casefile.jobs.models import Job, JobState
from casefile.jobs.registry import register
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit

PREVIEW = "intake.preview"
RUN = "intake.run"


def submit_preview(session: Session, imp: Import, case: Case, user: User) -> Job:
    job = submit(session, PREVIEW, case, user, {"import_id": str(imp.id)})
    imp.job_id = job.id
    session.flush()
    return job


def submit_run(session: Session, imp: Import, user: User) -> Job:
    services.start(session, imp, user)
    job = submit(session, RUN, imp.case, user, {"import_id": str(imp.id)})
    imp.job_id = job.id
    session.flush()
    return job


@contextmanager
def opened(app: Flask, imp: Import) -> Iterator[tuple[Source | None, tuple[IO[bytes], str] | None]]:
    """The import's archive (as a ZIP source) and manifest (a seekable stream and its name), from the blob store."""
    store = components.blob_store(app)
    with ExitStack() as stack:
        source: Source | None = None
        manifest: tuple[IO[bytes], str] | None = None
        if imp.archive_sha256:
            archive = stack.enter_context(staged_blob(store, imp.archive_sha256))
            source = ZipSource(archive, components.settings(app).max_upload_bytes)
        if imp.manifest_sha256:
            manifest = (stack.enter_context(staged_blob(store, imp.manifest_sha256)), imp.manifest_name)
        yield source, manifest


def _import(session: Session, ctx: JobContext, *, lock: bool = False) -> Import:
    imp = session.get(Import, uuid.UUID(str(ctx.params["import_id"])), with_for_update=lock)
    if imp is None:
        raise NotFound("The import is gone.")
    return imp


def preview(ctx: JobContext) -> None:
    app = ctx.app
    with get_database(app).read_sessionmaker() as rs:
        imp = _import(rs, ctx)
        if imp.state is not ImportState.PREVIEWING:
            return
        case = rs.get(Case, imp.case_id)
        try:
            with opened(app, imp) as (source, manifest):
                planned: list[services.Planned] | Exception = services.plan(
                    rs, case, imp, source, manifest, lambda done, total, message: ctx.progress(done, total, message)
                )
        except (ManifestError, SourceError) as error:
            planned = error
    with session_scope(app) as s:
        imp = _import(s, ctx, lock=True)
        if imp.state is not ImportState.PREVIEWING:
            return
        counts = services.store_plan(s, imp, planned)
        ctx.succeed(s, {"import_id": str(imp.id), "state": imp.state.value, **counts})


def run(ctx: JobContext) -> None:
    app = ctx.app
    store = components.blob_store(app)
    with get_database(app).read_sessionmaker() as rs:
        imp = _import(rs, ctx)
        if imp.state is not ImportState.IMPORTING:
            return
        todo = list(
            rs.scalars(
                select(ImportRow.id)
                .where(ImportRow.import_id == imp.id, ImportRow.status == RowStatus.CREATE)
                .order_by(ImportRow.number)
            )
        )
        with opened(app, imp) as (source, _manifest):
            for done, row_id in enumerate(todo):
                ctx.progress(done, len(todo), _("Row %(n)d of %(total)d", n=done + 1, total=len(todo)))
                with session_scope(app) as s:
                    row = s.get(ImportRow, row_id, with_for_update=True)
                    locked = _import(s, ctx)
                    user = ctx.user(s)
                    if row is None or row.status is not RowStatus.CREATE or user is None:
                        continue
                    services.run_row(s, store, locked.case, user, locked, row, source)
    with session_scope(app) as s:
        imp = _import(s, ctx, lock=True)
        counts = services.finish(s, imp)
        ctx.succeed(s, {"import_id": str(imp.id), **counts})


def ended(session: Session, job: Job) -> None:
    imp = session.get(Import, uuid.UUID(str(job.params["import_id"])), with_for_update=True)
    if imp is None:
        return
    reason = _("The job was cancelled.") if job.state is JobState.CANCELLED else (job.error or _("The job failed."))
    if job.kind == PREVIEW and imp.state is ImportState.PREVIEWING:
        services.fail(imp, reason)
    elif job.kind == RUN and imp.state is ImportState.IMPORTING:
        # What was created stays created (each row committed with its status); the rest can be run again.
        imp.state = ImportState.PREVIEWED
        imp.error = _("The import stopped before the end: %(reason)s Start it again to continue.", reason=reason)


register(PREVIEW, preview, access=Access.WRITE, label=_l("Import preview"), on_end=ended)
register(RUN, run, access=Access.WRITE, label=_l("Import"), on_end=ended)
