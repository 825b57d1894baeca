"""Evidence work that runs as background jobs (registered with casefile.jobs, imported by create_app).

- `evidence.derive`: makes an uploaded file's derived data (evidence/derived.py) after the upload has been
  answered (with its hash, ERN and ledger entry): a PDF's text (reading it may take up to PDF_SECONDS in a worker
  process) and a large image's metadata and preview, which no upload request should wait for. Submitted by the
  ingest service for the user who uploaded; until it ends the item shows "processing" (`derived_status`
  pending). Derived data, never evidence: the job writes no custody entry and touches nothing of the file or its
  record but the derived fields and their status.
- `evidence.derive_backfill`: on a schedule, makes it for items still pending without a job of their own (files
  uploaded before text extraction existed, or whose job never ran), a bounded slice per run.
- `evidence.similar_backfill`: on a schedule, the perceptual hashes (near-duplicates) of images stored before they
  were made, from their stored previews, a slice per run.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import BytesIO
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth.gate import Access
from casefile.config import Settings
from casefile.db import get_database, session_scope, utcnow
from casefile.evidence.derived import derive
from casefile.evidence.models import DerivedStatus, EvidenceItem, ImageHash
from casefile.evidence.similar import perceptual_hashes, record_hashes
from casefile.jobs.models import Job
from casefile.jobs.registry import register, register_schedule
from casefile.jobs.runner import JobContext
from casefile.storage import CHUNK_SIZE

DERIVE = "evidence.derive"
BACKFILL = "evidence.derive_backfill"
BACKFILL_EVERY = timedelta(minutes=10)
# Items read per backfill run: each may take seconds; the next run takes the next ones.
BACKFILL_SLICE = 50
# An item is left to its own job this long before the backfill takes it (the job may be queued behind others).
BACKFILL_GRACE = timedelta(minutes=30)
HASH_BACKFILL = "evidence.similar_backfill"
HASH_SLICE = 200  # previews are small: hashing one takes milliseconds
MAX_PREVIEW_BYTES = 8 * 1024 * 1024  # a preview is a 512-pixel JPEG; more is not one of ours


def make_derived(app: Flask, item_id: uuid.UUID, ctx: JobContext | None = None) -> dict[str, Any] | None:
    """Make one pending item's derived data and store it (status done); what was made, or None when the item was
    not pending (made already, by another job). With `ctx`, the job's success commits with the data."""
    store = components.blob_store(app)
    with get_database(app).read_sessionmaker() as rs:
        item = rs.get(EvidenceItem, item_id)
        if item is None or item.derived_status is not DerivedStatus.PENDING:
            return None
        sha256, media_type = item.sha256, item.media_type
    # A private copy in the store's spool (swept like an upload's if this worker is killed): the PDF parser
    # runs in its own process and needs a path; the copy is deleted when the writer closes without committing.
    with store.writer() as copy:
        with store.open(sha256) as blob:
            while chunk := blob.read(CHUNK_SIZE):
                copy.write(chunk)
        with copy.open_staged() as staged:
            derived = derive(staged, media_type)
    preview = store.put(BytesIO(derived.thumbnail)) if derived.thumbnail else None
    with session_scope(app) as s:
        locked = s.get(EvidenceItem, item_id, with_for_update=True)
        if locked is None or locked.derived_status is not DerivedStatus.PENDING:
            return None
        locked.extracted = derived.metadata
        locked.metadata_status = derived.metadata.get("status", "none")
        locked.text_content = derived.text
        locked.preview_sha256 = preview
        locked.derived_status = DerivedStatus.DONE
        record_hashes(s, locked, derived.perceptual)
        made = {
            "evidence_id": str(item_id),
            "ern": locked.ern,
            "metadata_status": locked.metadata_status,
            "characters": len(derived.text),
            "preview": preview is not None,
        }
        if ctx is not None:
            ctx.succeed(s, made)
    return made


def derive_one(ctx: JobContext) -> None:
    ctx.progress(0, 1, "Reading the file: its text, metadata and preview")
    if make_derived(ctx.app, uuid.UUID(str(ctx.params["evidence_id"])), ctx) is None:
        with session_scope() as s:
            ctx.succeed(s, {"evidence_id": str(ctx.params["evidence_id"]), "skipped": "made already"})


def derive_one_ended(session: Session, job: Job) -> None:
    """The job failed for good (the file unreadable, the user's access gone): the item says so, and the
    backfill does not take it again; its evidence is unaffected."""
    item = session.get(EvidenceItem, uuid.UUID(str(job.params["evidence_id"])), with_for_update=True)
    if item is not None and item.derived_status is DerivedStatus.PENDING:
        item.derived_status = DerivedStatus.FAILED


def backfill(ctx: JobContext) -> None:
    with session_scope() as s:
        ids = list(s.scalars(waiting().limit(BACKFILL_SLICE)))
    done = 0
    for n, item_id in enumerate(ids):
        ctx.progress(n, len(ids), "Reading the files uploaded without their text")
        try:
            if make_derived(ctx.app, item_id) is not None:
                done += 1
        except Exception:
            # One unreadable file must not stop the others; it stays pending and is reported here.
            with session_scope() as s:
                item = s.get(EvidenceItem, item_id, with_for_update=True)
                if item is not None and item.derived_status is DerivedStatus.PENDING:
                    item.derived_status = DerivedStatus.FAILED
    with session_scope() as s:
        ctx.succeed(s, {"read": done, "considered": len(ids)})


def waiting() -> Any:
    """Items still pending after the grace period (oldest first)."""
    return (
        select(EvidenceItem.id)
        .where(
            EvidenceItem.derived_status == DerivedStatus.PENDING, EvidenceItem.created_at < utcnow() - BACKFILL_GRACE
        )
        .order_by(EvidenceItem.created_at, EvidenceItem.id)
    )


def backfill_due(session: Session) -> bool:
    return session.scalar(waiting().limit(1)) is not None


def backfill_interval(_settings: Settings) -> timedelta:
    return BACKFILL_EVERY


def unhashed() -> Any:
    """Images with a preview but no perceptual hashes: stored before near-duplicates were looked for."""
    return (
        select(EvidenceItem.id, EvidenceItem.preview_sha256)
        .outerjoin(ImageHash, ImageHash.evidence_id == EvidenceItem.id)
        .where(EvidenceItem.preview_sha256.is_not(None), ImageHash.evidence_id.is_(None))
        .order_by(EvidenceItem.created_at, EvidenceItem.id)
    )


def hash_backfill(ctx: JobContext) -> None:
    """The perceptual hashes of earlier images, made from their stored previews (small JPEGs), a slice per run."""
    store = components.blob_store(ctx.app)
    with get_database(ctx.app).read_sessionmaker() as rs:
        todo = list(rs.execute(unhashed().limit(HASH_SLICE)))
    made = 0
    for n, (item_id, preview) in enumerate(todo):
        ctx.progress(n, len(todo), "Hashing earlier images")
        with store.open(preview) as blob:
            hashes = perceptual_hashes(blob.read(MAX_PREVIEW_BYTES))
        with session_scope(ctx.app) as s:
            item = s.get(EvidenceItem, item_id)
            if item is not None and hashes is not None and s.get(ImageHash, item_id) is None:
                record_hashes(s, item, hashes)
                made += 1
    with session_scope(ctx.app) as s:
        ctx.succeed(s, {"hashed": made, "considered": len(todo)})


def hash_backfill_due(session: Session) -> bool:
    return session.scalar(unhashed().limit(1)) is not None


register(
    DERIVE,
    derive_one,
    access=Access.WRITE,
    label=_l("Reading a file's text, metadata and preview"),
    on_end=derive_one_ended,
)
register(BACKFILL, backfill, label=_l("Reading the text of earlier files"))
register_schedule(BACKFILL, backfill_interval, backfill_due)
register(HASH_BACKFILL, hash_backfill, label=_l("Hashing earlier images for near-duplicates"))
register_schedule(HASH_BACKFILL, backfill_interval, hash_backfill_due)
