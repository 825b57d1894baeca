"""Verification checks (append-only: a check made again is a new row) and the words for their codes."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User


class VerificationStatus(enum.StrEnum):
    NEW = "new"
    IN_VERIFICATION = "in_verification"
    VERIFIED = "verified"
    DISPUTED = "disputed"
    UNVERIFIABLE = "unverifiable"


# The statuses that end a verification, and which may only follow "in verification".
CONCLUSIONS = frozenset({VerificationStatus.VERIFIED, VerificationStatus.DISPUTED, VerificationStatus.UNVERIFIABLE})


class CheckArea(enum.StrEnum):
    """What was checked, in the Berkeley Protocol's three analyses (PHASES)."""

    SOURCE = "source"
    METADATA = "metadata"
    PROVENANCE = "provenance"
    DUPLICATES = "duplicates"
    GEOLOCATION = "geolocation"
    CHRONOLOCATION = "chronolocation"
    IDENTIFICATION = "identification"


PHASES: dict[CheckArea, str] = {
    CheckArea.SOURCE: "source_analysis",
    CheckArea.METADATA: "technical_analysis",
    CheckArea.PROVENANCE: "technical_analysis",
    CheckArea.DUPLICATES: "technical_analysis",
    CheckArea.GEOLOCATION: "content_analysis",
    CheckArea.CHRONOLOCATION: "content_analysis",
    CheckArea.IDENTIFICATION: "content_analysis",
}


class CheckOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    INCONCLUSIVE = "inconclusive"
    CONTRADICTED = "contradicted"


class VerificationCheck(UUIDPrimaryKey, Base):
    __tablename__ = "verification_checks"
    __table_args__ = (Index("ix_verification_checks_evidence_checked", "evidence_id", "checked_at"),)

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    area: Mapped[CheckArea] = mapped_column(enum_type(CheckArea, "verification_area"))
    outcome: Mapped[CheckOutcome] = mapped_column(enum_type(CheckOutcome, "verification_outcome"))
    method: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    checked_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    checked_by: Mapped[User] = relationship()

    @property
    def phase(self) -> str:
        return PHASES[self.area]
