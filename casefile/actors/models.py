from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case, Incident


class ActorKind(enum.StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"
    ARMED_GROUP = "armed_group"
    UNIT = "unit"
    STATE_BODY = "state_body"


class RelationType(enum.StrEnum):
    COMMANDS = "commands"
    SUPERIOR_OF = "superior_of"
    MEMBER_OF = "member_of"
    SUBORDINATE_UNIT_OF = "subordinate_unit_of"
    AFFILIATED_WITH = "affiliated_with"
    ALLIED_WITH = "allied_with"
    SUPPLIES = "supplies"
    FINANCES = "finances"


# Relations that place one actor above another in a command chain, and which end is the superior.
SUPERIOR_IS_SOURCE = {RelationType.COMMANDS, RelationType.SUPERIOR_OF}
SUPERIOR_IS_TARGET = {RelationType.MEMBER_OF, RelationType.SUBORDINATE_UNIT_OF}


class Confidence(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Degree(enum.StrEnum):
    """ESF degree of involvement."""

    DIRECT_PERPETRATOR = "direct_perpetrator"
    GAVE_ORDERS = "gave_orders"
    PLANNED = "planned"
    INSTIGATED = "instigated"
    AIDED = "aided"
    CONTRIBUTED = "contributed_to_common_purpose"
    FAILED_TO_PREVENT = "failed_to_prevent"
    FAILED_TO_PUNISH = "failed_to_punish"


class InvolvementStatus(enum.StrEnum):
    ALLEGED = "alleged"
    SUSPECTED = "suspected"
    ESTABLISHED = "established"


class Actor(UUIDPrimaryKey, Base):
    __tablename__ = "actors"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[ActorKind] = mapped_column(enum_type(ActorKind, "actor_kind"))
    name: Mapped[str] = mapped_column(String(300))
    # Every spelling in any script: "الكاني", "al-Kani", "al-Kana".
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    # Identifiers for sanctions work.
    date_of_birth: Mapped[str] = mapped_column(String(40), default="")
    place_of_birth: Mapped[str] = mapped_column(String(200), default="")
    nationality: Mapped[str] = mapped_column(String(100), default="")
    identifiers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # A merged duplicate keeps its row (and its history) and points at the actor it became.
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("actors.id", ondelete="RESTRICT"))
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship()


class ActorRelation(UUIDPrimaryKey, Base):
    __tablename__ = "actor_relations"
    __table_args__ = (
        CheckConstraint("source_actor_id <> target_actor_id", name="not_self"),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="date_order"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    source_actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id", ondelete="RESTRICT"), index=True)
    target_actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id", ondelete="RESTRICT"), index=True)
    relation: Mapped[RelationType] = mapped_column(enum_type(RelationType, "actor_relation_type"))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    confidence: Mapped[Confidence] = mapped_column(
        enum_type(Confidence, "relation_confidence"), default=Confidence.MEDIUM
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    source: Mapped[Actor] = relationship(foreign_keys=[source_actor_id])
    target: Mapped[Actor] = relationship(foreign_keys=[target_actor_id])


class Involvement(UUIDPrimaryKey, Base):
    """ESF involvement: an actor's part in an incident, and the mode of liability alleged for it."""

    __tablename__ = "involvements"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    incident_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("incidents.id", ondelete="RESTRICT"), index=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("actors.id", ondelete="RESTRICT"), index=True)
    degree: Mapped[Degree] = mapped_column(enum_type(Degree, "involvement_degree"))
    # A mode-of-liability code from the legal catalogue (e.g. rome-25-3-b), or empty.
    mode_of_liability: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[InvolvementStatus] = mapped_column(
        enum_type(InvolvementStatus, "involvement_status"), default=InvolvementStatus.ALLEGED
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[Actor] = relationship()
    incident: Mapped[Incident] = relationship()
