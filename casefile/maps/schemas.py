"""JSON Schemas of the case map's GeoJSON (RFC 7946), for the OpenAPI document and the tests."""

from __future__ import annotations

from typing import Any

from casefile.api.schemas import DATE, UUID, enum_of, nullable, obj, string
from casefile.cases.models import DatePrecision, LocationPrecision
from casefile.cases.schemas import VIOLATION_TYPE
from casefile.evidence.models import EvidenceKind

POINT = obj(
    {
        "type": {"const": "Point"},
        # Longitude, then latitude (WGS 84), as GeoJSON orders them.
        # (Described as two numbers, not as prefixItems: schemathesis turns a tuple into draft-4 `items` and then
        # refuses its own result.)
        "coordinates": {
            "type": "array",
            "items": {"type": "number", "minimum": -180, "maximum": 180},
            "minItems": 2,
            "maxItems": 2,
            "description": "[longitude, latitude] in degrees (WGS 84)",
        },
    }
)

INCIDENT_PROPERTIES = obj(
    {
        "kind": {"const": "incident"},
        "id": UUID,
        "title": string(),
        "place_name": string(),
        "location_precision": enum_of(LocationPrecision),
        # The area the place is known to within, drawn as a circle; null when the precision is unknown.
        "radius_m": nullable({"type": "integer", "minimum": 0}),
        "start_date": nullable(DATE),
        "end_date": nullable(DATE),
        "date_precision": enum_of(DatePrecision),
        "date_display": string(),
        "violation_types": {"type": "array", "items": VIOLATION_TYPE},
        "url": string(description="the incident's page"),
    }
)

FLAG = obj(
    {
        "kind": {"type": "string", "enum": ["position", "time"]},
        "incident_id": UUID,
        # Kilometres beyond the incident's area (position) or days outside its period (time).
        "amount": {"type": "integer"},
        "allowed": {"type": "number"},
    }
)

EVIDENCE_PROPERTIES = obj(
    {
        "kind": {"const": "evidence"},
        "id": UUID,
        "ern": string(),
        "title": string(),
        "evidence_kind": enum_of(EvidenceKind),
        # The camera's capture date (EXIF), or else the date the item was collected.
        "date": nullable(DATE),
        "date_source": nullable({"type": "string", "enum": ["camera", "collected"]}),
        "date_display": string(),
        "incident_ids": {"type": "array", "items": UUID},
        "violation_types": {"type": "array", "items": VIOLATION_TYPE},
        # Its GPS position or capture date disagrees with an incident it is linked to.
        "flagged": {"type": "boolean"},
        "flags": {"type": "array", "items": FLAG},
        "url": string(description="the item's page"),
    }
)

FEATURE = obj(
    {
        "type": {"const": "Feature"},
        "id": UUID,
        "geometry": POINT,
        "properties": {"oneOf": [INCIDENT_PROPERTIES, EVIDENCE_PROPERTIES]},
    }
)

CASE_MAP: dict[str, Any] = {
    **obj(
        {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": FEATURE},
            "unplaced_incidents": {"type": "integer", "minimum": 0},
        }
    ),
    "x-content-type": "application/geo+json",
}
