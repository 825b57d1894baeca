"""Charges, the element-proof matrix and the link analysis.

A charge's matrix lists every element that must be proven (contextual elements, the offence's own
elements, the mode of liability's elements), each with the evidence that supports and contradicts it.
An element with no supporting evidence is a gap; contradicting evidence is shown just as prominently.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, Uuid, func, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from casefile.actors.models import Actor, ActorRelation, Involvement
from casefile.cases.models import Case, Incident
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.labels import word_for
from casefile.legal.catalogue import Element, load_catalogue
from casefile.legal.models import Charge
from casefile.links.models import EvidenceLink, Stance
from casefile.links.services import link_counts
from casefile.parsing import clean_text


def _actor_in_case(session: Session, case: Case, actor_id: Any, field_name: str) -> Actor:
    try:
        actor = session.get(Actor, uuid.UUID(str(actor_id)))
    except ValueError:
        actor = None
    if actor is None or actor.case_id != case.id:
        raise ValidationFailed(_("Unknown actor."), field=field_name)
    return actor


def create_charge(session: Session, case: Case, data: Mapping[str, Any]) -> Charge:
    catalogue = load_catalogue()
    suspect = _actor_in_case(session, case, data.get("suspect_id"), "suspect_id")
    offence_code = str(data.get("offence_code") or "")
    mode_code = str(data.get("mode_code") or "")
    try:
        catalogue.offence(offence_code)
    except KeyError:
        raise ValidationFailed(_("Unknown offence or criterion."), field="offence_code") from None
    if mode_code:
        try:
            mode = catalogue.mode(mode_code)
        except KeyError:
            raise ValidationFailed(_("Unknown mode of liability."), field="mode_code") from None
        if mode.framework_code != catalogue.framework_of(offence_code).code:
            raise ValidationFailed(_("The mode of liability belongs to another framework."), field="mode_code")
    incident_ids = data.get("incident_ids") or []
    if not isinstance(incident_ids, list | tuple):
        raise ValidationFailed(_("Give a list of incidents."), field="incident_ids")
    incidents = []
    for raw in incident_ids:
        try:
            incident = session.get(Incident, uuid.UUID(str(raw)))
        except ValueError:
            incident = None
        if incident is None or incident.case_id != case.id:
            raise ValidationFailed(_("Unknown incident."), field="incident_ids")
        incidents.append(incident)
    charge = Charge(
        case_id=case.id,
        suspect_id=suspect.id,
        offence_code=offence_code,
        mode_code=mode_code,
        note=clean_text(data.get("note"), "note", max_length=5000),
        incidents=incidents,
    )
    session.add(charge)
    session.flush()
    return charge


@dataclass(frozen=True)
class ElementRow:
    element: Element
    group: str  # "contextual" | "offence" | "mode"
    supporting: list[EvidenceLink]
    contradicting: list[EvidenceLink]
    context: list[EvidenceLink]
    # The whole counts, even when the lists above hold only the first links of each stance (`matrix(first=…)`).
    counts: Mapping[Stance, int]
    verified: int  # how many supporting items are verified (casefile/verification)

    @property
    def status(self) -> str:
        if not self.counts.get(Stance.SUPPORTS):
            return "gap"
        return "contested" if self.counts.get(Stance.CONTRADICTS) else "supported"


def charge_elements(charge: Charge) -> list[tuple[str, Element]]:
    return load_catalogue().elements_to_prove(charge.offence_code, charge.mode_code)


def matrix(
    session: Session,
    charge: Charge,
    evidence_ids: Collection[uuid.UUID] | None = None,
    *,
    first: int | None = None,
) -> list[ElementRow]:
    """Every element of the charge with its evidence; given `evidence_ids`, only those items count (a dossier
    shows the matrix of the evidence it includes). Given `first`, each element lists only its first (oldest) `first`
    links of each stance while its counts stay whole, from one aggregate query: the charge's page and the API stay
    bounded however much evidence a charge gathers; dossiers and exports list everything."""
    scope = [EvidenceLink.charge_id == charge.id]
    if evidence_ids is not None:
        scope.append(EvidenceLink.evidence_id.in_(list(evidence_ids)))
    # Counts per element and stance from the charge's links alone (an index-only read of
    # ix_evidence_links_charge_element); the verified supporting items from the verified items alone (the index on
    # verification_status): neither reads the items of an unverified charge's links one by one.
    counts: dict[str, dict[Stance, int]] = defaultdict(dict)
    for code, stance, number in session.execute(
        select(EvidenceLink.element_code, EvidenceLink.stance, func.count())
        .where(*scope)
        .group_by(EvidenceLink.element_code, EvidenceLink.stance)
    ):
        counts[code or ""][stance] = number
    # The verified items as a set the links are checked against, not a join: SQLite's planner joined each of the
    # charge's links to its item (16 ms at 10,000 links, bench.scale --sqlite) where a look-up in the few verified
    # items' ids does (4 ms); PostgreSQL plans either as a semi-join.
    verified: dict[str, int] = defaultdict(int)
    verified_items = select(EvidenceItem.id).where(EvidenceItem.verification_status == "verified")
    for code, number in session.execute(
        select(EvidenceLink.element_code, func.count())
        .where(*scope, EvidenceLink.stance == Stance.SUPPORTS, EvidenceLink.evidence_id.in_(verified_items))
        .group_by(EvidenceLink.element_code)
    ):
        verified[code or ""] = number
    stmt = (
        select(EvidenceLink)
        .where(*scope)
        .options(selectinload(EvidenceLink.evidence))
        .order_by(EvidenceLink.created_at, EvidenceLink.id)
    )
    groups = [(code, stance) for code, by_stance in counts.items() for stance in by_stance]
    if first is not None and groups:  # no group: the charge has no link, and the query below finds none
        # The oldest `first` links of each element and stance: one short index range per group (a handful of
        # groups), rather than numbering every link of the charge. Each part is a subquery of its own: SQLite
        # allows ORDER BY and LIMIT only there, not in a UNION's parts.
        parts = [
            select(EvidenceLink.id)
            .where(*scope, EvidenceLink.element_code == code, EvidenceLink.stance == stance)
            .order_by(EvidenceLink.created_at, EvidenceLink.id)
            .limit(first)
            .subquery()
            for code, stance in groups
        ]
        oldest = union_all(*(select(part.c.id) for part in parts)).subquery()
        stmt = stmt.where(EvidenceLink.id.in_(select(oldest.c.id)))
    by_element: dict[str, dict[Stance, list[EvidenceLink]]] = defaultdict(lambda: defaultdict(list))
    for link in session.scalars(stmt):
        by_element[link.element_code or ""][link.stance].append(link)
    return [
        ElementRow(
            element,
            group,
            by_element[element.code][Stance.SUPPORTS],
            by_element[element.code][Stance.CONTRADICTS],
            by_element[element.code][Stance.CONTEXT],
            counts[element.code],
            verified[element.code],
        )
        for group, element in charge_elements(charge)
    ]


def gap_count(rows: Iterable[ElementRow]) -> int:
    """How many elements of a matrix have no supporting evidence: the one count of gaps that pages, the API and
    dossiers show."""
    return sum(1 for row in rows if row.status == "gap")


def gap_counts(session: Session, charges: Sequence[Charge]) -> dict[uuid.UUID, int]:
    """How many elements of each charge have no supporting evidence, in one query for all charges: one EXISTS probe of
    the (charge, element, stance) index per element, which stops at the first supporting link. (A DISTINCT over the
    charges' links read every link: 18 ms of a 32 ms charges list with 100,000 links, bench.scale at 1M items.)"""
    pairs = [(c.id, e.code) for c in charges for _g, e in charge_elements(c)]
    probes = [
        select(literal(charge_id, Uuid), literal(code, String)).where(
            select(EvidenceLink.id)
            .where(
                EvidenceLink.charge_id == charge_id,
                EvidenceLink.element_code == code,
                EvidenceLink.stance == Stance.SUPPORTS,
            )
            .exists()
        )
        for charge_id, code in pairs
    ]
    supported = {(charge_id, code) for charge_id, code in session.execute(union_all(*probes))} if probes else set()
    return {c.id: sum(1 for _g, e in charge_elements(c) if (c.id, e.code) not in supported) for c in charges}


def charges_of(session: Session, case: Case) -> list[Charge]:
    return list(
        session.scalars(
            select(Charge)
            .where(Charge.case_id == case.id)
            .order_by(Charge.created_at)
            .options(selectinload(Charge.suspect), selectinload(Charge.incidents))
        )
    )


# -- link analysis -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hop:
    kind: str  # "relation" | "involvement"
    label: str
    from_label: str
    to_label: str
    supporting: int
    contradicting: int
    object_id: uuid.UUID
    code: str = ""  # the relation's or the degree's stored code (``label`` is it with the period, for the API)
    period: str = ""  # " (2015-01-01 – 2020-06-05)" for a dated relation

    @property
    def supported(self) -> bool:
        return self.supporting > 0

    @property
    def words(self) -> str:
        """The hop in the page's language: "commands (2015-01-01 – 2020-06-05)", "gave orders"."""
        kind = "relation" if self.kind == "relation" else "degree"
        return word_for(self.code, kind, _) + self.period if self.code else self.label


@dataclass
class Path:
    hops: list[Hop] = field(default_factory=list)
    incident: Incident | None = None

    @property
    def weakest(self) -> Hop | None:
        unsupported = [h for h in self.hops if not h.supported]
        return unsupported[0] if unsupported else None

    @property
    def established(self) -> bool:
        return all(h.supported for h in self.hops)


def link_analysis(session: Session, charge: Charge, max_hops: int = 5) -> list[Path]:
    """Every simple path from the suspect, through relations between actors (either direction), to an
    actor involved in a charged incident, ending with that involvement. Each hop carries its evidence."""
    relations = session.scalars(
        select(ActorRelation)
        .where(ActorRelation.case_id == charge.case_id)
        .options(selectinload(ActorRelation.source), selectinload(ActorRelation.target))
    ).all()
    incident_ids = [i.id for i in charge.incidents]
    involvements = (
        session.scalars(
            select(Involvement)
            .where(Involvement.incident_id.in_(incident_ids))
            .options(selectinload(Involvement.actor), selectinload(Involvement.incident))
        ).all()
        if incident_ids
        else []
    )
    rel_counts = link_counts(session, EvidenceLink.relation_id, [r.id for r in relations])
    inv_counts = link_counts(session, EvidenceLink.involvement_id, [i.id for i in involvements])

    neighbours: dict[uuid.UUID, list[tuple[uuid.UUID, Hop]]] = defaultdict(list)
    for r in relations:
        sup, con = rel_counts.get(r.id, (0, 0))
        dates = _period(r)
        label = f"{r.relation.value}{dates}"
        hop_forward = Hop(
            "relation", label, r.source.name, r.target.name, sup, con, r.id, code=r.relation.value, period=dates
        )
        neighbours[r.source_actor_id].append((r.target_actor_id, hop_forward))
        neighbours[r.target_actor_id].append((r.source_actor_id, hop_forward))
    involved: dict[uuid.UUID, list[Involvement]] = defaultdict(list)
    for inv in involvements:
        involved[inv.actor_id].append(inv)

    paths: list[Path] = []
    queue: deque[tuple[uuid.UUID, list[Hop], frozenset[uuid.UUID]]] = deque(
        [(charge.suspect_id, [], frozenset({charge.suspect_id}))]
    )
    while queue:
        actor_id, hops, seen = queue.popleft()
        for inv in involved.get(actor_id, []):
            sup, con = inv_counts.get(inv.id, (0, 0))
            degree = inv.degree.value
            hop = Hop("involvement", degree, inv.actor.name, inv.incident.title, sup, con, inv.id, code=degree)
            paths.append(Path([*hops, hop], inv.incident))
        if len(hops) >= max_hops:
            continue
        for other, hop in sorted(neighbours.get(actor_id, []), key=lambda n: (n[1].label, str(n[0]))):
            if other not in seen:
                queue.append((other, [*hops, hop], seen | {other}))
    return paths


def _period(relation: ActorRelation) -> str:
    if not relation.valid_from and not relation.valid_to:
        return ""
    start = relation.valid_from.isoformat() if relation.valid_from else "…"
    end = relation.valid_to.isoformat() if relation.valid_to else "…"
    return f" ({start} – {end})"


def element_evidence_items(session: Session, charge: Charge) -> list[EvidenceItem]:
    return list(
        session.scalars(
            select(EvidenceItem)
            .join(EvidenceLink, EvidenceLink.evidence_id == EvidenceItem.id)
            .where(EvidenceLink.charge_id == charge.id)
            .distinct()
        )
    )
