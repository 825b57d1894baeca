"""What the case map shows: the case's incidents where they happened, with the area their location precision
allows, and its evidence whose file carries a GPS position (its own EXIF metadata), each flagged where that
position or its capture date disagrees with an incident it is linked to (casefile.links.consistency).

Filters, shared by the page and the API: a period (`from`, `to`) and a violation type. An incident matches a period
as in the incident list (its dates overlap it); an item matches by its own date, the camera's capture date or else
the date it was collected (an item with neither matches no period); an item matches a violation type through the
incidents it is linked to. A fixed number of queries, whatever the number of features.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile.cases.models import Case, Incident
from casefile.cases.services import format_incident_date, incident_query, parse_violation_types
from casefile.errors import ValidationFailed
from casefile.evidence.models import EvidenceItem
from casefile.links import consistency
from casefile.links.models import EvidenceLink
from casefile.parsing import parse_date

# The area an incident's place covers, in metres: the radii the consistency flags compare against.
RADIUS_M = {precision: int(km * 1000) for precision, km in consistency.RADIUS_KM.items()}
# How an item's date is shown: a collected date as precisely as it was given, a camera's date in full.
_DATE_FORMATS = {"month": "MMMM y", "year": "y"}


@dataclass(frozen=True)
class MapFilter:
    start: date | None = None
    end: date | None = None
    violation_type: str | None = None

    def incident_args(self) -> dict[str, str]:
        """The same filter as the incident list's query (casefile.cases.services.incident_query) takes it."""
        args = {"from": self.start, "to": self.end, "violation_type": self.violation_type}
        return {name: str(value) for name, value in args.items() if value}


def parse_filter(args: Mapping[str, Any]) -> MapFilter:
    """The filters from a query string; ValidationFailed (422) naming the field for a bad date, a period that ends
    before it starts, or an unknown violation type."""
    start = parse_date(args.get("from"), "from")
    end = parse_date(args.get("to"), "to")
    if start and end and end < start:
        raise ValidationFailed(_("The end of the period cannot be before its start."), field="to")
    wanted = args.get("violation_type") or None
    if wanted is not None:
        try:
            parse_violation_types([wanted])
        except ValidationFailed as error:
            raise ValidationFailed(error.message, field="violation_type") from None
    return MapFilter(start, end, wanted)


@dataclass(frozen=True)
class IncidentMark:
    incident: Incident
    latitude: float
    longitude: float
    radius_m: int | None  # None: the place's precision is unknown (a point, no area)
    url: str


@dataclass(frozen=True)
class EvidenceMark:
    item: EvidenceItem
    latitude: float
    longitude: float
    day: date | None
    day_source: str | None  # "camera" (EXIF capture time) or "collected"
    incidents: list[Incident]
    violation_types: list[str]
    flags: list[consistency.Flag]
    url: str

    @property
    def day_display(self) -> str:
        if self.day is None:
            return _("date unknown")
        precision = self.item.collected_precision if self.day_source == "collected" else None
        return format_date(self.day, _DATE_FORMATS.get(precision or "", "d MMMM y"))


@dataclass(frozen=True)
class CaseMap:
    incidents: list[IncidentMark]
    evidence: list[EvidenceMark]
    unplaced_incidents: int  # incidents that match the filters but have no coordinates


def item_date(item: EvidenceItem) -> tuple[date | None, str | None]:
    captured = consistency.capture_date(item)
    if captured is not None:
        return captured, "camera"
    if item.collected_at is not None:
        return item.collected_at.date(), "collected"
    return None, None


def case_map(session: Session, case: Case, flt: MapFilter) -> CaseMap:
    """The case's map, filtered: four queries (the incidents; the items with a GPS position, their links and the
    links' incidents)."""
    incidents, unplaced = [], 0
    for incident in session.scalars(incident_query(case, flt.incident_args())):
        if incident.latitude is None or incident.longitude is None:
            unplaced += 1
            continue
        incidents.append(
            IncidentMark(
                incident,
                incident.latitude,
                incident.longitude,
                RADIUS_M.get(incident.location_precision),
                url_for("cases.show_incident", incident_id=incident.id),
            )
        )
    return CaseMap(incidents, _evidence(session, case, flt), unplaced)


def _evidence(session: Session, case: Case, flt: MapFilter) -> list[EvidenceMark]:
    # Only items whose metadata holds a latitude leave the database (their `extracted` can be large).
    latitude = EvidenceItem.extracted[("gps", "latitude")].as_float()
    stmt = (
        select(EvidenceItem)
        .where(EvidenceItem.case_id == case.id, latitude.is_not(None))
        .order_by(EvidenceItem.number)
        .options(selectinload(EvidenceItem.links).selectinload(EvidenceLink.incident))
    )
    marks = []
    for item in session.scalars(stmt):
        position = consistency.gps(item)
        if position is None:
            continue
        linked: dict[uuid.UUID, Incident] = {}
        for link in item.links:
            if link.incident is not None:
                linked.setdefault(link.incident.id, link.incident)
        types = sorted({str(code) for incident in linked.values() for code in incident.violation_types or []})
        if flt.violation_type and flt.violation_type not in types:
            continue
        day, source = item_date(item)
        if not _within(day, flt):
            continue
        marks.append(
            EvidenceMark(
                item,
                position[0],
                position[1],
                day,
                source,
                list(linked.values()),
                types,
                consistency.flags(item),
                url_for("evidence.show", item_id=item.id),
            )
        )
    return marks


def _within(day: date | None, flt: MapFilter) -> bool:
    if flt.start is None and flt.end is None:
        return True
    if day is None:
        return False
    return (flt.start is None or day >= flt.start) and (flt.end is None or day <= flt.end)


def _point(latitude: float, longitude: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [longitude, latitude]}  # GeoJSON: longitude first


def incident_feature(mark: IncidentMark) -> dict[str, Any]:
    incident = mark.incident
    return {
        "type": "Feature",
        "id": str(incident.id),
        "geometry": _point(mark.latitude, mark.longitude),
        "properties": {
            "kind": "incident",
            "id": str(incident.id),
            "title": incident.title,
            "place_name": incident.place_name,
            "location_precision": incident.location_precision.value,
            "radius_m": mark.radius_m,
            "start_date": incident.start_date.isoformat() if incident.start_date else None,
            "end_date": incident.end_date.isoformat() if incident.end_date else None,
            "date_precision": incident.date_precision.value,
            "date_display": format_incident_date(incident),
            "violation_types": [str(code) for code in incident.violation_types or []],
            "url": mark.url,
        },
    }


def evidence_feature(mark: EvidenceMark) -> dict[str, Any]:
    item = mark.item
    return {
        "type": "Feature",
        "id": str(item.id),
        "geometry": _point(mark.latitude, mark.longitude),
        "properties": {
            "kind": "evidence",
            "id": str(item.id),
            "ern": item.ern,
            "title": item.title,
            "evidence_kind": item.kind.value,
            "date": mark.day.isoformat() if mark.day else None,
            "date_source": mark.day_source,
            "date_display": mark.day_display,
            "incident_ids": [str(incident.id) for incident in mark.incidents],
            "violation_types": mark.violation_types,
            "flagged": bool(mark.flags),
            "flags": [
                {"kind": f.kind, "incident_id": str(f.incident.id), "amount": f.amount, "allowed": f.allowed}
                for f in mark.flags
            ],
            "url": mark.url,
        },
    }


def feature_collection(found: CaseMap) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [incident_feature(m) for m in found.incidents] + [evidence_feature(m) for m in found.evidence],
        # A foreign member (RFC 7946 § 6.1): matching incidents that no map can show.
        "unplaced_incidents": found.unplaced_incidents,
    }
