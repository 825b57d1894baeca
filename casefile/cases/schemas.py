"""JSON Schemas of cases, members and incidents in the API."""

from __future__ import annotations

from casefile.api.schemas import DATE, DATETIME, UUID, enum_of, nullable, obj, string
from casefile.auth.models import CaseRole
from casefile.cases.models import CaseStatus, DatePrecision, LocationPrecision
from casefile.cases.thesaurus import VIOLATION_TYPES

CASE = obj(
    {
        "id": UUID,
        "reference": string(),
        "title": string(),
        "summary": string(),
        "situation": string(),
        "status": enum_of(CaseStatus),
        "created_at": DATETIME,
    }
)

CASE_CREATE = {
    "type": "object",
    "properties": {
        "reference": string(pattern="^[A-Z0-9-]{2,16}$"),
        "title": string(maxLength=300),
        "summary": string(maxLength=20000),
        "situation": string(maxLength=300),
    },
    "required": ["reference", "title"],
    "additionalProperties": False,
}

CASE_PATCH = {
    "type": "object",
    "properties": {
        "title": string(minLength=1, maxLength=300),
        "summary": string(maxLength=20000),
        "situation": string(maxLength=300),
        "status": enum_of(CaseStatus),
    },
    "additionalProperties": False,
}

MEMBER_CREATE = {
    "type": "object",
    "properties": {
        "email": string(format="email"),
        "role": enum_of(CaseRole),
        "can_view_identities": {"type": "boolean"},
        "lead": {"type": "boolean", "description": "manages the case's members (kept as it is when absent)"},
    },
    "required": ["email", "role"],
    "additionalProperties": False,
}

MEMBER = obj(
    {
        "user_id": UUID,
        "email": string(),
        "name": string(),
        "role": enum_of(CaseRole),
        "can_view_identities": {"type": "boolean"},
        "lead": {"type": "boolean"},
    }
)

VIOLATION_TYPE = {"type": "string", "enum": list(VIOLATION_TYPES)}

_INCIDENT_FIELDS = {
    "title": string(minLength=1, maxLength=300),
    "description": string(maxLength=50000),
    "start_date": nullable(DATE),
    "end_date": nullable(DATE),
    "date_precision": enum_of(DatePrecision),
    "place_name": string(maxLength=300),
    "latitude": nullable({"type": "number", "minimum": -90, "maximum": 90}),
    "longitude": nullable({"type": "number", "minimum": -180, "maximum": 180}),
    "location_precision": enum_of(LocationPrecision),
    "violation_types": {"type": "array", "items": VIOLATION_TYPE},
    "victim_count": nullable({"type": "integer", "minimum": 0}),
    "victim_count_source": string(maxLength=500),
}

INCIDENT_CREATE = {
    "type": "object",
    "properties": _INCIDENT_FIELDS,
    "required": ["title"],
    "additionalProperties": False,
}

INCIDENT_PATCH = {"type": "object", "properties": _INCIDENT_FIELDS, "additionalProperties": False}

INCIDENT = obj({"id": UUID, "case_id": UUID, **_INCIDENT_FIELDS, "date_display": string()})
