"""JSON Schemas of verification in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, obj, string
from casefile.verification.models import CheckArea, CheckOutcome, VerificationStatus

CHECK = obj(
    {
        "id": UUID,
        "phase": {"type": "string", "enum": ["source_analysis", "technical_analysis", "content_analysis"]},
        "area": enum_of(CheckArea),
        "outcome": enum_of(CheckOutcome),
        "method": string(),
        "notes": string(),
        "checked_by": string(),
        "checked_at": DATETIME,
    }
)
VERIFICATION = obj(
    {
        "evidence_id": UUID,
        "status": enum_of(VerificationStatus),
        "may_verify": {"type": "boolean"},
        "moves": {
            "type": "array",
            "items": enum_of(VerificationStatus),
            "description": "the statuses you may move it to now",
        },
        "checks": {"type": "array", "items": CHECK},
    }
)
CHECK_CREATE = {
    "type": "object",
    "required": ["area", "outcome", "method"],
    "properties": {
        "area": enum_of(CheckArea),
        "outcome": enum_of(CheckOutcome),
        "method": {"type": "string", "minLength": 1, "maxLength": 500},
        "notes": {"type": "string", "maxLength": 20000},
    },
    "additionalProperties": False,
}
STATUS_CHANGE = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": enum_of(VerificationStatus),
        "reason": {"type": "string", "maxLength": 2000},
    },
    "additionalProperties": False,
}
