"""JSON Schemas of charges, the element matrix and the legal catalogue in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, obj, string

CHARGE = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "suspect_id": UUID,
        "offence_code": string(),
        "mode_code": string(),
        "incident_ids": {"type": "array", "items": UUID},
        "note": string(),
        "created_at": DATETIME,
    }
)

CHARGE_CREATE = {
    "type": "object",
    "properties": {
        "suspect_id": UUID,
        "offence_code": string(maxLength=40),
        "mode_code": string(maxLength=40),
        "incident_ids": {"type": "array", "items": UUID},
        "note": string(maxLength=5000),
    },
    "required": ["suspect_id", "offence_code"],
    "additionalProperties": False,
}

_EVIDENCE_REF = obj(
    {"evidence_id": UUID, "ern": string(), "title": string(), "note": string(), "verification_status": string()}
)

MATRIX = obj(
    {
        "charge": CHARGE,
        "elements": {
            "type": "array",
            "items": obj(
                {
                    "code": string(),
                    "group": {"type": "string", "enum": ["contextual", "offence", "mode"]},
                    "text": string(),
                    "reference": string(),
                    "status": {"type": "string", "enum": ["gap", "supported", "contested"]},
                    "verified_supporting": {
                        "type": "integer",
                        "description": "how many of the supporting items are verified (casefile/verification)",
                    },
                    "counts": obj(
                        {
                            "supporting": {"type": "integer"},
                            "contradicting": {"type": "integer"},
                            "context": {"type": "integer"},
                        }
                    ),
                    "supporting": {
                        "type": "array",
                        "items": _EVIDENCE_REF,
                        "description": "the first 100 (oldest first); counts.supporting gives them all",
                    },
                    "contradicting": {"type": "array", "items": _EVIDENCE_REF, "description": "the first 100"},
                    "context": {"type": "array", "items": _EVIDENCE_REF, "description": "the first 100"},
                }
            ),
        },
        "gaps": {"type": "integer"},
        "paths": {
            "type": "array",
            "items": obj(
                {
                    "established": {"type": "boolean"},
                    "hops": {
                        "type": "array",
                        "items": obj(
                            {
                                "kind": string(),
                                "label": string(),
                                "from": string(),
                                "to": string(),
                                "supporting": {"type": "integer"},
                                "contradicting": {"type": "integer"},
                                "supported": {"type": "boolean"},
                            }
                        ),
                    },
                }
            ),
        },
    }
)

FRAMEWORKS = {"type": "object", "properties": {"frameworks": {"type": "array"}}, "required": ["frameworks"]}
