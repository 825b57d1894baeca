from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import Membership, User


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    REFERRED = "referred"
    CLOSED = "closed"


class DatePrecision(enum.StrEnum):
    """How much of a date is known: dates are shown no more precisely than they are known."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"
    APPROXIMATE = "approximate"


class LocationPrecision(enum.StrEnum):
    EXACT = "exact"
    VICINITY = "vicinity"
    LOCALITY = "locality"
    UNKNOWN = "unknown"


class Case(UUIDPrimaryKey, Base):
    __tablename__ = "cases"
    __table_args__ = (CheckConstraint("length(reference) BETWEEN 2 AND 16", name="reference_length"),)

    reference: Mapped[str] = mapped_column(String(16), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    situation: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"), default=CaseStatus.OPEN)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Next ERN number. Incremented under the case row lock; never reused even if an ingest fails later.
    next_ern: Mapped[int] = mapped_column(default=1)

    created_by: Mapped[User | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(back_populates="case", cascade="all, delete-orphan")
    incidents: Mapped[list[Incident]] = relationship(back_populates="case", cascade="all, delete-orphan")


class Incident(UUIDPrimaryKey, Base):
    """An event in the HURIDOCS sense: what happened, when and where, as precisely as is known."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date", name="date_order"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint("longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"),
        CheckConstraint("victim_count IS NULL OR victim_count >= 0", name="victim_count_positive"),
        Index("ix_incidents_case_start", "case_id", "start_date"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    date_precision: Mapped[DatePrecision] = mapped_column(
        enum_type(DatePrecision, "incident_date_precision"), default=DatePrecision.DAY
    )
    place_name: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    location_precision: Mapped[LocationPrecision] = mapped_column(
        enum_type(LocationPrecision, "incident_location_precision"), default=LocationPrecision.UNKNOWN
    )
    # Codes from casefile.cases.thesaurus.VIOLATION_TYPES.
    violation_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    victim_count: Mapped[int | None]
    victim_count_source: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship(back_populates="incidents")
