from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case


class DossierStatus(enum.StrEnum):
    BUILDING = "building"  # its job is queued or running
    READY = "ready"  # built, signed and stored: may be downloaded
    FAILED = "failed"  # its job ended without a dossier; `error` says why


class Dossier(UUIDPrimaryKey, Base):
    """A referral package that left (or may leave) the organisation, with the hash of exactly what was sent.

    The row exists from the moment a build is asked for (status `building`), so the build's job has something to
    report on and a failed build leaves its record and reason; the package's hash and size exist once it is ready.
    """

    __tablename__ = "dossiers"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    status: Mapped[DossierStatus] = mapped_column(enum_type(DossierStatus, "dossier_status"))
    profile: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    bag_name: Mapped[str] = mapped_column(String(100))
    # The ZIP is stored in the blob store like evidence: content-addressed and write-once. Set when ready.
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    # The signed checkpoint over the build's `exported` entries: recorded once, by the first attempt, so that a
    # retried build reuses those entries instead of writing them again (and the end hook knows they exist).
    checkpoint_id: Mapped[int | None] = mapped_column(ForeignKey("custody_checkpoints.id", ondelete="RESTRICT"))
    tree_size: Mapped[int | None]
    included: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Who and what it is about: {"target_ids": [...], "charge_ids": [...], "analysis": bool}; {} is the whole case.
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="RESTRICT"))
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Release takes two people: a legal member other than the builder approves a ready dossier before anyone may
    # download it (an `approved` ledger entry records who and which package).
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()

    @property
    def ready(self) -> bool:
        return self.status is DossierStatus.READY

    @property
    def released(self) -> bool:
        """Built and approved: it may be downloaded."""
        return self.ready and self.approved_at is not None
