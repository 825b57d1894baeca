"""Imports as background jobs (registered with casefile.jobs, imported by create_app).

- `intake.preview`: reads the manifest and every file (for its SHA-256) in a read session, reporting rows read,
  then stores the plan in one short transaction: the import becomes `previewed` (or `failed`, saying why).
- `intake.run`: creates the rows planned `create`, one transaction per row holding the row's new status, so a
  retry (a killed worker) takes up exactly where the last committed row left off.

When either ends without succeeding, the end hook says so on the import: a failed preview fails the import; a
stopped run returns it to `previewed` with what is left to do, so the user can continue it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import IO

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.db import get_database, session_scope, utcnow
from casefile.errors import CasefileError, NotFound, ValidationFailed
from casefile.evidence.models import OnDuplicate
from casefile.intake import export as exporting
from casefile.intake import services, tus
from casefile.intake.manifest import ManifestError
from casefile.intake.models import (
    CaseExport,
    ExportState,
    Import,
    ImportRow,
    ImportState,
    ResumableUpload,
    ResumableUploadPart,
    RowStatus,
    UploadState,
)
from casefile.intake.sources import Source, SourceError, ZipSource, staged_blob
from casefile.jobs.models import Job, JobState
from casefile.jobs.registry import register, register_schedule
from casefile.jobs.runner import JobContext
from casefile.jobs.services import submit
from casefile.parsing import parse_choice
from casefile.storage import CHUNK_SIZE, BlobNotFound, BlobStore, BlobWriter
from casefile.witnesses.services import receive_upload

PREVIEW = "intake.preview"
RUN = "intake.run"
FINISH = "intake.finish_upload"
SWEEP = "intake.sweep_uploads"
EXPORT = "intake.export"
SWEEP_EVERY = timedelta(minutes=10)


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
        if case is None:
            return
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


# --- resumable uploads ----------------------------------------------------------------------------------------


def submit_finish(session: Session, upload: ResumableUpload, case: Case, user: User) -> Job:
    job = submit(session, FINISH, case, user, {"upload_id": str(upload.id)})
    upload.job_id = job.id
    session.flush()
    return job


def finish_upload(ctx: JobContext) -> None:
    """Record a fully received upload as evidence: its parts are joined, in order, into the blob store's writer,
    which computes the SHA-256 as it writes (the one pass over the file), then ingested like any upload (a hash the
    client declared must agree). A part missing or shorter than recorded fails the upload: never a wrong file."""
    app = ctx.app
    store = components.blob_store(app)
    upload_id = uuid.UUID(str(ctx.params["upload_id"]))
    with get_database(app).read_sessionmaker() as rs:
        upload = rs.get(ResumableUpload, upload_id)
        if upload is None or upload.state is not UploadState.RECEIVED:
            return  # recorded already (a retried job), or ended meanwhile
        length = upload.length
        parts = [(part.start, part.size, part.name) for part in tus.parts_of(rs, upload_id)]
    with store.writer() as writer:
        problem = _join_parts(ctx, store, writer, parts, length)
        with session_scope(app) as s:
            locked = s.get(ResumableUpload, upload_id, with_for_update=True)
            user = ctx.user(s)
            if locked is None or locked.state is not UploadState.RECEIVED or user is None:
                return
            fields = dict(locked.fields)
            try:
                if problem:
                    raise ValidationFailed(problem)
                locked.sha256 = writer.sha256
                with s.begin_nested():
                    item, _new = receive_upload(
                        s,
                        store,
                        locked.case,
                        user,
                        writer,
                        filename=locked.filename,
                        data=fields,
                        on_duplicate=parse_choice(
                            fields.get("on_duplicate") or OnDuplicate.ASK, OnDuplicate, "on_duplicate"
                        ),
                        witness_id=fields.get("witness_id") or None,
                        declared_sha256=str(fields.get("sha256") or "").lower() or None,
                        incident_ids=[i for i in str(fields.get("incident_ids") or "").split(",") if i.strip()],
                        provenance={"resumable_upload": str(upload_id)},
                    )
                locked.state, locked.evidence_id = UploadState.DONE, item.id
            except CasefileError as error:
                locked.state, locked.error = UploadState.FAILED, error.message
            locked.updated_at = utcnow()
            names = tus.forget_parts(s, upload_id)
            ctx.succeed(
                s,
                {
                    "upload_id": str(upload_id),
                    "state": locked.state.value,
                    "evidence_id": str(locked.evidence_id or ""),
                },
            )
    tus.delete_parts(store, names)


def _join_parts(
    ctx: JobContext, store: BlobStore, writer: BlobWriter, parts: list[tuple[int, int, str]], length: int
) -> str | None:
    """Stream the parts into the writer; what is wrong with them, if anything (then the writer holds no file)."""
    for start, size, name in parts:
        if start != writer.size:
            return _("Bytes %(start)d to %(end)d of the upload are missing.", start=writer.size, end=start)
        try:
            with store.open_part(name) as part:
                while chunk := part.read(CHUNK_SIZE):
                    writer.write(chunk)
                    ctx.progress(writer.size, length, _("Storing the file"))
        except BlobNotFound:
            return _("A part of the upload (bytes from %(start)d) is missing from the store.", start=start)
        if writer.size != start + size:
            return _("A part of the upload (bytes from %(start)d) is not the size recorded.", start=start)
    if writer.size != length:
        return _("The upload holds %(size)d of its %(length)d bytes.", size=writer.size, length=length)
    return None


def finish_ended(session: Session, job: Job) -> None:
    upload = session.get(ResumableUpload, uuid.UUID(str(job.params["upload_id"])), with_for_update=True)
    if upload is not None and upload.state is UploadState.RECEIVED:
        upload.state = UploadState.FAILED
        upload.error = job.error or _("The file could not be recorded.")
        upload.updated_at = utcnow()
        # Nothing will read its parts again: their rows go now, their objects (named by no row any more) with the
        # sweep, once older than CASEFILE_TEMP_MAX_AGE_SECONDS (this hook runs inside the job's transaction).
        tus.forget_parts(session, upload.id)


def sweep_uploads(ctx: JobContext) -> None:
    """Expire uploads nobody has continued and delete their parts; delete parts no upload claims (a server that
    died between storing a part and confirming it), once they are older than CASEFILE_TEMP_MAX_AGE_SECONDS."""
    app = ctx.app
    store = components.blob_store(app)
    now = utcnow()
    with session_scope(app) as s:
        expired = list(
            s.scalars(
                select(ResumableUpload).where(
                    ResumableUpload.state == UploadState.RECEIVING, ResumableUpload.expires_at < now
                )
            )
        )
        gone: list[str] = []
        for upload in expired:
            upload.state, upload.updated_at = UploadState.EXPIRED, now
            gone += tus.forget_parts(s, upload.id)
        claimed = set(s.scalars(select(ResumableUploadPart.name)))
    tus.delete_parts(store, gone)
    oldest = datetime.fromtimestamp(time.time() - components.settings(app).temp_max_age_seconds, UTC)
    strays = [name for name, written in store.iter_parts() if name not in claimed and written < oldest]
    tus.delete_parts(store, strays)
    with session_scope(app) as s:
        ctx.succeed(s, {"expired": len(expired), "stray_parts": len(strays)})


def sweep_due(session: Session) -> bool:
    """While an upload is in progress, and for CASEFILE_TEMP_MAX_AGE_SECONDS (and two periods) after the last one
    ended: besides expiring uploads, the sweep removes parts no row names (a server that died between storing a part
    and confirming it, a crash between a commit and the deletion of the parts it forgot), which must age first."""
    stray_age = timedelta(seconds=components.settings().temp_max_age_seconds) + 2 * SWEEP_EVERY
    return bool(
        session.scalar(
            select(ResumableUpload.id)
            .where(
                or_(
                    ResumableUpload.state.in_([UploadState.RECEIVING, UploadState.RECEIVED]),
                    ResumableUpload.updated_at > utcnow() - stray_age,
                )
            )
            .limit(1)
        )
    )


# --- exports ----------------------------------------------------------------------------------------------------


def submit_export(session: Session, export: CaseExport, case: Case, user: User) -> Job:
    job = submit(session, EXPORT, case, user, {"export_id": str(export.id)})
    export.job_id = job.id
    session.flush()
    return job


def make_export(ctx: JobContext) -> None:
    app = ctx.app
    export_id = uuid.UUID(str(ctx.params["export_id"]))
    with get_database(app).read_sessionmaker() as rs:
        export = rs.get(CaseExport, export_id)
        if export is None or export.state is not ExportState.BUILDING:
            return
        total = 8
        made = exporting.build(
            rs, components.blob_store(app), export, lambda done, name: ctx.progress(done, total, name)
        )
    with session_scope(app) as s:
        locked = s.get(CaseExport, export_id, with_for_update=True)
        user = ctx.user(s)
        if locked is None or locked.state is not ExportState.BUILDING or user is None:
            return
        exporting.record_ready(s, locked, user, *made)
        ctx.succeed(s, {"export_id": str(export_id), "rows": made[2]})


def export_ended(session: Session, job: Job) -> None:
    export = session.get(CaseExport, uuid.UUID(str(job.params["export_id"])), with_for_update=True)
    if export is not None and export.state is ExportState.BUILDING:
        export.state = ExportState.FAILED
        export.error = job.error or _("The export failed.")


register(PREVIEW, preview, access=Access.WRITE, label=_l("Import preview"), on_end=ended)
register(RUN, run, access=Access.WRITE, label=_l("Import"), on_end=ended)
register(FINISH, finish_upload, access=Access.WRITE, label=_l("Recording a resumable upload"), on_end=finish_ended)
register(EXPORT, make_export, label=_l("Case export"), on_end=export_ended)
register(SWEEP, sweep_uploads, label=_l("Sweeping abandoned uploads"))
register_schedule(SWEEP, lambda _settings: SWEEP_EVERY, sweep_due)
