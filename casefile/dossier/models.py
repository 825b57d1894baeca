from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case


class Dossier(UUIDPrimaryKey, Base):
    """A referral package that left (or may leave) the organisation, with the hash of exactly what was sent."""

    __tablename__ = "dossiers"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    profile: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    bag_name: Mapped[str] = mapped_column(String(100))
    # The ZIP is stored in the blob store like evidence: content-addressed and write-once.
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    tree_size: Mapped[int]
    included: Mapped[list[Any]] = mapped_column(JSON, default=list)
    excluded: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
