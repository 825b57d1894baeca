"""One row per change to a case's record (append-only, like the custody ledger it complements)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.auth.models import User


class SubjectKind(enum.StrEnum):
    CASE = "case"
    INCIDENT = "incident"
    ACTOR = "actor"
    RELATION = "relation"
    INVOLVEMENT = "involvement"
    CHARGE = "charge"
    EVIDENCE = "evidence"
    LINK = "link"
    WITNESS = "witness"
    MEMBER = "member"
    ASSIGNMENT = "assignment"
    COMMENT = "comment"
    DOSSIER = "dossier"


class ActivityAction(enum.StrEnum):
    CREATED = "created"
    CHANGED = "changed"
    REMOVED = "removed"


class Activity(UUIDPrimaryKey, Base):
    """What changed: the object (its kind, id and label as it was then), who changed it (None: Casefile itself, in a
    job nobody asked for) and each field's value before and after, as ``{field: {"from": …, "to": …}}``.

    The custody ledger stays the evidential record of what happened to evidence; this is the team's record of how
    the case file was edited, incidents, actors and charges included, which the ledger does not cover."""

    __tablename__ = "case_activity"
    __table_args__ = (
        Index("ix_case_activity_case_at", "case_id", "at"),
        Index("ix_case_activity_case_subject", "case_id", "subject_type", "at"),
        Index("ix_case_activity_subject", "subject_id", "at"),
        Index("ix_case_activity_case_user", "case_id", "user_id", "at"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    subject_type: Mapped[SubjectKind] = mapped_column(enum_type(SubjectKind, "activity_subject"))
    subject_id: Mapped[uuid.UUID]
    subject_label: Mapped[str] = mapped_column(String(400))
    action: Mapped[ActivityAction] = mapped_column(enum_type(ActivityAction, "activity_action"))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()
