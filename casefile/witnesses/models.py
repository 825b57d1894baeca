from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.auth.models import enum_type
from casefile.db import Base, UUIDPrimaryKey, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case
    from casefile.evidence.models import EvidenceItem


class RiskLevel(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    EXTREME = "extreme"


class ConsentPurpose(enum.StrEnum):
    INTERNAL = "internal_analysis"
    ICC = "share_icc"
    UN = "share_un"
    SANCTIONS = "share_sanctions"
    PUBLICATION = "publication"


IDENTITY_FIELDS = ("full_name", "other_names", "date_of_birth", "contact", "address", "notes")


class Witness(UUIDPrimaryKey, Base):
    """A witness known everywhere by a pseudonym code. The identity exists only as ciphertext."""

    __tablename__ = "witnesses"
    __table_args__ = (UniqueConstraint("case_id", "number"), UniqueConstraint("case_id", "code"))

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int]
    code: Mapped[str] = mapped_column(String(16))
    risk_level: Mapped[RiskLevel] = mapped_column(enum_type(RiskLevel, "witness_risk"), default=RiskLevel.MEDIUM)
    # AES-GCM ciphertext of the identity fields (casefile.witnesses.crypto), bound to this row's id.
    identity_ciphertext: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    consents: Mapped[list[ConsentRecord]] = relationship(
        back_populates="witness", order_by="ConsentRecord.created_at", cascade="all, delete-orphan"
    )
    statements: Mapped[list[Statement]] = relationship(back_populates="witness")


class ConsentRecord(UUIDPrimaryKey, Base):
    """Consent is a register, not a flag: a withdrawal is a new record, history is never edited."""

    __tablename__ = "witness_consents"
    __table_args__ = (Index("ix_witness_consents_witness_purpose", "witness_id", "purpose", "created_at"),)

    witness_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("witnesses.id", ondelete="CASCADE"))
    purpose: Mapped[ConsentPurpose] = mapped_column(enum_type(ConsentPurpose, "consent_purpose"))
    granted: Mapped[bool]
    recorded_on: Mapped[date]
    how_recorded: Mapped[str] = mapped_column(String(300))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    witness: Mapped[Witness] = relationship(back_populates="consents")


class Statement(Base):
    """A testimony evidence item given by a witness, with the circumstances of the interview."""

    __tablename__ = "witness_statements"

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="CASCADE"), primary_key=True
    )
    witness_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("witnesses.id", ondelete="RESTRICT"), index=True)
    interview_date: Mapped[date | None]
    interview_place: Mapped[str] = mapped_column(String(300), default="")
    interviewer: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(100), default="")
    interpreter: Mapped[str] = mapped_column(String(200), default="")

    witness: Mapped[Witness] = relationship(back_populates="statements")
    evidence: Mapped[EvidenceItem] = relationship()
