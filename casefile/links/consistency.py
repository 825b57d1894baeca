"""Consistency flags: where a file's own metadata disagrees with the incidents it is linked to. Never blocking, never
a verdict (cameras' clocks are wrong, photographs are forwarded): a reason to look.

- Position: the file's EXIF GPS position lies farther from an incident's place than that place's precision allows
  (exact: 1 km, vicinity: 10 km, locality: 25 km; an unknown place is not compared).
- Time: the camera's capture date falls outside an incident's period, taken as precisely as it is known (a month-only
  date covers the month, a year-only date the year, an approximate one a year either side).
"""

from __future__ import annotations

import calendar
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from casefile.cases.models import DatePrecision, Incident, LocationPrecision
from casefile.evidence.models import EvidenceItem
from casefile.links.models import EvidenceLink

RADIUS_KM = {LocationPrecision.EXACT: 1.0, LocationPrecision.VICINITY: 10.0, LocationPrecision.LOCALITY: 25.0}
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Flag:
    kind: str  # "position" | "time"
    incident: Incident
    amount: int  # kilometres beyond the place, or days outside the period
    allowed: float  # the place's radius (position) or 0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def period(incident: Incident) -> tuple[date, date] | None:
    """The incident's dates widened to what their precision covers."""
    start = incident.start_date
    if start is None:
        return None
    end = incident.end_date or start
    precision = incident.date_precision
    if precision is DatePrecision.MONTH:
        return start.replace(day=1), end.replace(day=calendar.monthrange(end.year, end.month)[1])
    if precision is DatePrecision.YEAR:
        return start.replace(month=1, day=1), end.replace(month=12, day=31)
    if precision is DatePrecision.APPROXIMATE:
        return start - timedelta(days=365), end + timedelta(days=365)
    return start, end


def capture_date(item: EvidenceItem) -> date | None:
    exif = (item.extracted or {}).get("exif") or {}
    raw = exif.get("capture_time")
    try:
        return datetime.fromisoformat(raw).date() if isinstance(raw, str) else None
    except ValueError:
        return None


def gps(item: EvidenceItem) -> tuple[float, float] | None:
    found: Any = (item.extracted or {}).get("gps")
    if not isinstance(found, dict):
        return None
    lat, lon = found.get("latitude"), found.get("longitude")
    return (float(lat), float(lon)) if isinstance(lat, int | float) and isinstance(lon, int | float) else None


def flags(item: EvidenceItem) -> list[Flag]:
    """The item's disagreements with the incidents it is linked to (its links and their incidents loaded)."""
    incidents = [link.incident for link in item.links if link.incident is not None]
    if not incidents:
        return []
    out: list[Flag] = []
    position, captured = gps(item), capture_date(item)
    for incident in incidents:
        radius = RADIUS_KM.get(incident.location_precision)
        if position and radius and incident.latitude is not None and incident.longitude is not None:
            away = distance_km(position[0], position[1], incident.latitude, incident.longitude)
            if away > radius:
                out.append(Flag("position", incident, round(away), radius))
        span = period(incident)
        if captured and span:
            gap = (span[0] - captured).days if captured < span[0] else (captured - span[1]).days
            if gap > 0:
                out.append(Flag("time", incident, gap, 0))
    return out


def flagged(session: Session, item_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Which of the items are flagged, their incident links read in one query (the element matrix)."""
    wanted = set(item_ids)
    if not wanted:
        return set()
    items = session.scalars(
        select(EvidenceItem)
        .where(EvidenceItem.id.in_(wanted))
        .options(selectinload(EvidenceItem.links).selectinload(EvidenceLink.incident))
    )
    return {item.id for item in items if flags(item)}
