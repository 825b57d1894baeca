from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, utcnow

if TYPE_CHECKING:
    from casefile.actors.models import Actor
    from casefile.cases.models import Case, Incident

charge_incidents = Table(
    "charge_incidents",
    Base.metadata,
    Column("charge_id", ForeignKey("charges.id", ondelete="CASCADE"), primary_key=True),
    Column("incident_id", ForeignKey("incidents.id", ondelete="RESTRICT"), primary_key=True),
)


class Charge(UUIDPrimaryKey, Base):
    """Suspect × offence (or sanctions criterion) × mode of liability × incidents.

    Offence and mode are codes of the legal catalogue shipped with the package (casefile/legal/catalogue).
    """

    __tablename__ = "charges"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    suspect_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id", ondelete="RESTRICT"), index=True)
    offence_code: Mapped[str] = mapped_column(String(40))
    mode_code: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship()
    suspect: Mapped[Actor] = relationship()
    incidents: Mapped[list[Incident]] = relationship(secondary=charge_incidents, order_by="Incident.start_date")
