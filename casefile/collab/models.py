"""Assignments and notifications."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
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


class CommentedKind(enum.StrEnum):
    EVIDENCE = "evidence"
    INCIDENT = "incident"
    ACTOR = "actor"
    CHARGE = "charge"


class Comment(UUIDPrimaryKey, Base):
    """A member's plain-text remark on an item, incident, actor or charge: inside the case only (never indexed for
    search, never in a dossier). Editing keeps the earlier text (CommentRevision)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_target", "case_id", "target_type", "target_id", "created_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    target_type: Mapped[CommentedKind] = mapped_column(enum_type(CommentedKind, "commented_kind"))
    target_id: Mapped[uuid.UUID]
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]

    author: Mapped[User] = relationship()
    revisions: Mapped[list[CommentRevision]] = relationship(order_by="CommentRevision.replaced_at")


class CommentRevision(UUIDPrimaryKey, Base):
    """A comment's text as it was before an edit (append-only)."""

    __tablename__ = "comment_revisions"

    comment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("comments.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(Text)
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationKind(enum.StrEnum):
    ASSIGNED = "assigned"
    STATUS_CHANGED = "status_changed"  # the verification status of an item you uploaded
    RELEASE_PENDING = "release_pending"  # a dossier awaits your approval
    MENTIONED = "mentioned"  # @you in a comment


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
