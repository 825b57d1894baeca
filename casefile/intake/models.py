"""An import: an archive and/or a manifest spreadsheet brought into a case, previewed row by row, then run.

The rows are the import's record and its idempotence: a row is planned (create / duplicate / refused, with the
reason) before anything is written, and once run says what became of it (created, with the row it made).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.cases.models import Case

REASON_LENGTH = 1000


class ImportKind(enum.StrEnum):
    EVIDENCE = "evidence"
    INCIDENTS = "incidents"
    ACTORS = "actors"


class ImportState(enum.StrEnum):
    PREVIEWING = "previewing"  # the preview job reads the manifest and the files
    PREVIEWED = "previewed"  # nothing written yet: the user reads the preview and starts, or discards
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"  # the manifest could not be read at all (`error` says why), or the job failed
    DISCARDED = "discarded"


class RowStatus(enum.StrEnum):
    # Planned by the preview
    CREATE = "create"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    # After the run
    CREATED = "created"


class Import(UUIDPrimaryKey, Base):
    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_case_created", "case_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    kind: Mapped[ImportKind] = mapped_column(enum_type(ImportKind, "import_kind"))
    state: Mapped[ImportState] = mapped_column(enum_type(ImportState, "import_state"), default=ImportState.PREVIEWING)
    # The uploaded archive and manifest are kept in the blob store (content-addressed, like evidence) so that any
    # worker can read them; either may be absent (a manifest alone for incidents and actors; a ZIP carrying its
    # own manifest.csv). Names are the uploader's, for display only.
    archive_sha256: Mapped[str | None] = mapped_column(String(64))
    archive_name: Mapped[str] = mapped_column(String(300), default="")
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    manifest_name: Mapped[str] = mapped_column(String(300), default="")
    # How to read 12/06/2020: dmy (12 June, the default where Casefile's users work) or mdy.
    date_order: Mapped[str] = mapped_column(String(3), default="dmy")
    error: Mapped[str | None] = mapped_column(Text)
    # The job now working on the import (preview, then run), for its progress.
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship()


class ImportRow(UUIDPrimaryKey, Base):
    __tablename__ = "import_rows"
    __table_args__ = (Index("ix_import_rows_import_number", "import_id", "number", unique=True),)

    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("imports.id", ondelete="CASCADE"))
    # The row's line in the spreadsheet (the header is line 1), so a person finds it.
    number: Mapped[int]
    status: Mapped[RowStatus] = mapped_column(enum_type(RowStatus, "import_row_status"))
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH), default="")
    file_name: Mapped[str] = mapped_column(String(500), default="")
    label: Mapped[str] = mapped_column(String(300), default="")  # the title or name the row will have
    sha256: Mapped[str | None] = mapped_column(String(64))
    # The validated values the run will write (the preview's work is not repeated, only its file reads).
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # What the row made or matches: an evidence item, incident or actor id; with its ERN for evidence.
    target_id: Mapped[uuid.UUID | None]
    target_ref: Mapped[str] = mapped_column(String(64), default="")


class UploadState(enum.StrEnum):
    RECEIVING = "receiving"  # bytes arrive in PATCH requests, across as many connections as it takes
    RECEIVED = "received"  # every byte is in: a job records the file as evidence
    DONE = "done"
    FAILED = "failed"  # the file was received but could not be recorded (`error` says why)
    TERMINATED = "terminated"  # the client gave it up (tus termination)
    EXPIRED = "expired"  # abandoned: swept, its bytes deleted


class ResumableUpload(UUIDPrimaryKey, Base):
    """A tus 1.0 upload in progress (intake/tus.py): its bytes wait in the blob store as parts (one per PATCH) until
    the last one arrives; then a job joins them, computing the SHA-256, and makes the evidence item."""

    __tablename__ = "resumable_uploads"
    __table_args__ = (Index("ix_resumable_uploads_state_expires", "state", "expires_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    length: Mapped[int] = mapped_column(BigInteger)
    received: Mapped[int] = mapped_column(BigInteger, default=0)  # the tus offset: bytes confirmed so far
    filename: Mapped[str] = mapped_column(String(500), default="")
    # The evidence fields sent as tus metadata, validated when the upload was created.
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[UploadState] = mapped_column(enum_type(UploadState, "upload_state"), default=UploadState.RECEIVING)
    sha256: Mapped[str | None] = mapped_column(String(64))
    evidence_id: Mapped[uuid.UUID | None]
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    case: Mapped[Case] = relationship()


class ResumableUploadPart(UUIDPrimaryKey, Base):
    """The bytes one PATCH request added to an upload: an object `name` of the blob store's upload parts, covering
    [start, start + size). Recorded in the same transaction that moves the upload's offset, so a part no row names
    was never confirmed (the sweep deletes it)."""

    __tablename__ = "resumable_upload_parts"
    __table_args__ = (UniqueConstraint("upload_id", "start", name="uq_resumable_upload_parts_start"),)

    upload_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resumable_uploads.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportFormat(enum.StrEnum):
    XLSX = "xlsx"
    CSV = "csv"  # a ZIP of one CSV file per table


class ExportState(enum.StrEnum):
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


class CaseExport(UUIDPrimaryKey, Base):
    """Case data as a spreadsheet (intake/export.py), made by a job and kept in the blob store."""

    __tablename__ = "case_exports"
    __table_args__ = (Index("ix_case_exports_case_created", "case_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    format: Mapped[ExportFormat] = mapped_column(enum_type(ExportFormat, "export_format"))
    # The most restricted classification the export holds (items above it are left out).
    max_classification: Mapped[str] = mapped_column(String(32))
    state: Mapped[ExportState] = mapped_column(enum_type(ExportState, "export_state"), default=ExportState.BUILDING)
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rows per table
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
