from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.cases.models import Case
    from casefile.evidence.models import EvidenceItem


class CaptureState(enum.StrEnum):
    QUEUED = "queued"
    CAPTURING = "capturing"
    DONE = "done"
    FAILED = "failed"


class WebCapture(UUIDPrimaryKey, Base):
    """One capture of one web address (casefile/capture): what was asked, what the browser was given, and the evidence
    items made of it. The WACZ is the original item; the screenshot, the PDF print and the page's media are its
    derivatives (EvidenceItem.parent_id, Derivation). `manifest` is the exact JSON whose SHA-256 the `captured`
    ledger entry records and the time-stamping authorities sign."""

    __tablename__ = "web_captures"
    __table_args__ = (Index("ix_web_captures_case_created", "case_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    url: Mapped[str] = mapped_column(String(2000))
    note: Mapped[str] = mapped_column(Text, default="")
    incident_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[CaptureState] = mapped_column(enum_type(CaptureState, "capture_state"), default=CaptureState.QUEUED)
    error: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(String(2000))
    http_status: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(300), default="")
    # Response headers, TLS chain and its judgement, browser and tool versions, refused addresses, connections.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    manifest: Mapped[str | None] = mapped_column(Text)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    # Cookies the user gave for this capture only, encrypted with the field keys; erased when the capture ends.
    session_cookies: Mapped[str | None] = mapped_column(Text)
    wacz_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    captured_at: Mapped[datetime | None]  # the server clock when the browser started loading
    finished_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
    created_by: Mapped[User] = relationship()
    wacz_item: Mapped[EvidenceItem | None] = relationship()
