"""Assignments and notifications."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User
    from casefile.cases.models import Case


class AssignedKind(enum.StrEnum):
    EVIDENCE = "evidence"
    INCIDENT = "incident"
    CHARGE = "charge"


class Assignment(UUIDPrimaryKey, Base):
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_assignee_open", "assignee_id", "done_at", "due_on"),
        Index("ix_assignments_case_created", "case_id", "created_at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    target_type: Mapped[AssignedKind] = mapped_column(enum_type(AssignedKind, "assigned_kind"))
    target_id: Mapped[uuid.UUID]
    # What the assignment is about, in words, as it was when assigned (the ERN and title, an incident's title…).
    target_label: Mapped[str] = mapped_column(String(400))
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    due_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(String(2000), default="")
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))

    case: Mapped[Case] = relationship()
    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"  # the verification status of an item you uploaded
    RELEASE_PENDING = "release_pending"  # a dossier awaits your approval


class Notification(UUIDPrimaryKey, Base):
    """A message to one member of a case. Its words are made when shown (in the reader's language) from its kind
    and params, which never hold more than the page it links to shows that member."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "read_at", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind, "notification_kind"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(500))  # a path of this instance
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship()
