"""Evidence links: what an evidence item is evidence of (or against).

The link table is where evidence meets incidents, actors and the law. It names every other capability's
table by foreign key only, so this module imports nothing but the database plumbing and any capability can
read links without importing the services that write them.

Links are never deleted (the database refuses it, revision 0015): removing one sets `removed_at`, and every ORM
query of the application sees only live links (`_hide_removed_links`), so no query site can forget the filter.
A query that must see removed links too passes `execution_options(include_removed_links=True)`.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ColumnElement, ForeignKey, Index, String, Text, event, or_, text
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship, with_loader_criteria

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.actors.models import Actor, ActorRelation, Involvement
    from casefile.cases.models import Incident
    from casefile.evidence.models import EvidenceItem
    from casefile.legal.models import Charge


class Stance(enum.StrEnum):
    SUPPORTS = "supports"
    CONTRADICTS = "contradicts"
    CONTEXT = "context"


# The API's name of each kind of target, and the column holding it.
TARGET_COLUMNS = {
    "incident": "incident_id",
    "actor": "actor_id",
    "actor_relation": "relation_id",
    "involvement": "involvement_id",
    "charge_element": "charge_id",
}


class EvidenceLink(UUIDPrimaryKey, Base):
    """Evidence for or against one thing: an incident, an actor, a relation between actors, an actor's
    involvement in an incident, or one legal element of a charge.

    Contradicting (exculpatory) evidence is first-class: the stance is part of every link.
    """

    __tablename__ = "evidence_links"
    __table_args__ = (
        # Exactly one target; a charge element also names the element.
        CheckConstraint(
            "(CASE WHEN incident_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN actor_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN relation_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN involvement_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN charge_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_target",
        ),
        CheckConstraint("(charge_id IS NULL) = (element_code IS NULL)", name="charge_element"),
        # The evidence list's incident filter (evidence_id IN links of the incident): with the item's id in the
        # index, both its page and its bounded count read the index alone (revision 0032).
        Index("ix_evidence_links_incident_evidence", "incident_id", "evidence_id"),
        # The charge matrix: counts per element and stance read from the index alone, and the oldest links of each
        # in order (revision 0036). Live links only, as every read of links is.
        Index(
            "ix_evidence_links_charge_element",
            "charge_id",
            "element_code",
            "stance",
            "created_at",
            "id",
            postgresql_where=text("removed_at IS NULL"),
            sqlite_where=text("removed_at IS NULL"),
        ),
    )

    evidence_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    relation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("actor_relations.id", ondelete="CASCADE"), index=True
    )
    involvement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("involvements.id", ondelete="CASCADE"), index=True
    )
    charge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("charges.id", ondelete="CASCADE"), index=True)
    element_code: Mapped[str | None] = mapped_column(String(60))
    stance: Mapped[Stance] = mapped_column(enum_type(Stance, "evidence_stance"), default=Stance.SUPPORTS)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the link is removed (with an `unlinked` ledger entry); no foreign key: it outlives accounts.
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[uuid.UUID | None]

    evidence: Mapped[EvidenceItem] = relationship(back_populates="links")
    incident: Mapped[Incident | None] = relationship()
    actor: Mapped[Actor | None] = relationship()
    relation: Mapped[ActorRelation | None] = relationship()
    involvement: Mapped[Involvement | None] = relationship()
    charge: Mapped[Charge | None] = relationship()

    @property
    def target_type(self) -> str:
        for name, column in TARGET_COLUMNS.items():
            if getattr(self, column):
                return name
        return "unknown"

    @property
    def target_id(self) -> uuid.UUID | None:
        return self.incident_id or self.actor_id or self.relation_id or self.involvement_id or self.charge_id


def touching_actor(actor_id: uuid.UUID) -> ColumnElement[bool]:
    """Links that are evidence about an actor: to the actor, or to one of the actor's involvements in an incident or
    relations with another actor (evidence of what a person did is usually linked to the deed, not the person). The
    one definition, for the evidence filter and the actor's page."""
    return or_(
        EvidenceLink.actor_id == actor_id,
        EvidenceLink.involvement.has(actor_id=actor_id),
        EvidenceLink.relation.has(source_actor_id=actor_id),
        EvidenceLink.relation.has(target_actor_id=actor_id),
    )


@event.listens_for(Session, "do_orm_execute")
def _hide_removed_links(state: ORMExecuteState) -> None:
    """Every ORM SELECT (and relationship load) sees live links only, unless it asks otherwise."""
    if state.is_select and not state.execution_options.get("include_removed_links", False):
        state.statement = state.statement.options(
            with_loader_criteria(EvidenceLink, lambda cls: cls.removed_at.is_(None), include_aliases=True)
        )
