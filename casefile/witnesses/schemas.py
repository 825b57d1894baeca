"""JSON Schemas of witnesses, consent and statements in the API."""

from __future__ import annotations

from casefile.api.schemas import DATE, DATETIME, UUID, enum_of, nullable, obj, string
from casefile.witnesses.models import ConsentPurpose, RiskLevel

CONSENT = obj(
    {
        "id": UUID,
        "purpose": enum_of(ConsentPurpose),
        "granted": {"type": "boolean"},
        "recorded_on": DATE,
        "how_recorded": string(),
        "note": string(),
        "created_at": DATETIME,
    }
)

STATEMENT = obj(
    {
        "evidence_id": UUID,
        "ern": string(),
        "title": string(),
        "interview_date": nullable(DATE),
        "interview_place": string(),
        "interviewer": string(),
        "language": string(),
        "interpreter": string(),
    }
)

# Who saw the protected identity, when and why (from the custody ledger; `seq` names the entry there).
REVEAL = obj({"at": DATETIME, "by": string(), "reason": string(), "seq": {"type": "integer"}})

IDENTITY = obj(
    {
        "full_name": string(),
        "other_names": string(),
        "date_of_birth": string(),
        "contact": string(),
        "address": string(),
        "notes": string(),
    }
)

WITNESS = {
    "type": "object",
    "properties": {
        "id": UUID,
        "case_id": UUID,
        "code": string(),
        "risk_level": enum_of(RiskLevel),
        "consent": {"type": "object", "additionalProperties": nullable({"type": "boolean"})},
        "consent_history": {"type": "array", "items": CONSENT},
        "statements": {"type": "array", "items": STATEMENT},
        "reveals": {
            "type": "array",
            "items": REVEAL,
            "description": "Only on GET /witnesses/{id}: the identity reveals, newest first (at most 200), "
            "each with who, when and the reason given; never the identity itself.",
        },
        "created_at": DATETIME,
        "identity": IDENTITY,
    },
    "required": ["id", "case_id", "code", "risk_level", "consent", "consent_history", "statements", "created_at"],
}

WITNESS_CREATE = {
    "type": "object",
    "properties": {
        "full_name": string(minLength=1, maxLength=300),
        "other_names": string(maxLength=500),
        "date_of_birth": string(format="date"),
        "contact": string(maxLength=500),
        "address": string(maxLength=1000),
        "notes": string(maxLength=5000),
        "risk_level": enum_of(RiskLevel),
    },
    "required": ["full_name"],
    "additionalProperties": False,
}

CONSENT_CREATE = {
    "type": "object",
    "properties": {
        "purpose": enum_of(ConsentPurpose),
        "granted": {"type": "boolean"},
        "recorded_on": string(format="date"),
        "how_recorded": string(minLength=1, maxLength=300),
        "note": string(maxLength=5000),
    },
    "required": ["purpose", "granted", "how_recorded"],
    "additionalProperties": False,
}
