"""JSON Schemas of the API's resources: the OpenAPI document and the response tests both use these."""

from __future__ import annotations

from typing import Any

from casefile.auth.models import CaseRole
from casefile.cases.models import CaseStatus, DatePrecision, LocationPrecision
from casefile.cases.thesaurus import VIOLATION_TYPES


def string(**kw: Any) -> dict[str, Any]:
    return {"type": "string", **kw}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    out = {**schema, "type": [*types, "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def enum_of(cls: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in cls]}


UUID = string(format="uuid")
DATETIME = string(format="date-time")
DATE = string(format="date")


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


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
    },
    "required": ["email", "role"],
    "additionalProperties": False,
}
MEMBER = obj(
    {
        "user_id": UUID,
        "email": string(),
        "role": enum_of(CaseRole),
        "can_view_identities": {"type": "boolean"},
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

ERROR = obj(
    {
        "error": obj({"code": string(), "message": string()}, ["code", "message"]),
    }
)


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return obj(
        {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        }
    )


# -- evidence and custody ------------------------------------------------------------------------
from casefile.evidence.models import Classification, Derivation, EvidenceKind, Stance  # noqa: E402

GRADING = {
    "source_reliability": nullable({"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]}),
    "info_credibility": nullable({"type": "integer", "minimum": 1, "maximum": 6}),
}
LINK_TARGET = {"type": "string", "enum": ["incident", "actor", "actor_relation", "involvement", "charge_element"]}
LINK = obj(
    {
        "id": UUID,
        "target_type": LINK_TARGET,
        "target_id": UUID,
        "stance": enum_of(Stance),
        "note": string(),
        "element_code": nullable(string()),
        "target_label": string(),
    }
)
EVIDENCE = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "ern": string(),
        "kind": enum_of(EvidenceKind),
        "title": string(),
        "description": string(),
        "source": string(),
        **GRADING,
        "collected_at": nullable(DATETIME),
        "collected_by": string(),
        "collection_place": string(),
        "original_filename": string(),
        "media_type": string(),
        "size": {"type": "integer"},
        "sha256": string(pattern="^[0-9a-f]{64}$"),
        "metadata": {"type": "object"},
        "metadata_status": string(),
        "classification": enum_of(Classification),
        "graphic": {"type": "boolean"},
        "parent_id": nullable(UUID),
        "derivation": nullable(enum_of(Derivation)),
        "links": {"type": "array", "items": LINK},
        "created_at": DATETIME,
    }
)
_EVIDENCE_FORM = {
    "kind": enum_of(EvidenceKind),
    "title": string(maxLength=300),
    "description": string(maxLength=50000),
    "collected_at": string(description="ISO 8601; UTC when no zone is given"),
    "collected_by": string(maxLength=200),
    "collection_place": string(maxLength=300),
    "source": string(maxLength=500),
    "source_reliability": {"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]},
    "info_credibility": {"type": "string", "enum": ["1", "2", "3", "4", "5", "6"]},
    "classification": enum_of(Classification),
    "graphic": {"type": "string", "enum": ["true", "false"]},
    "sha256": string(pattern="^[0-9a-fA-F]{64}$", description="if given, the upload must hash to it"),
    "incident_ids": string(description="comma-separated incident ids of this case"),
    "witness_id": string(format="uuid", description="makes the file a statement (testimony) of this witness"),
    "interview_date": string(format="date"),
    "interview_place": string(maxLength=300),
    "interviewer": string(maxLength=200),
    "language": string(maxLength=100),
    "interpreter": string(maxLength=200),
}
EVIDENCE_UPLOAD = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary"}, **_EVIDENCE_FORM},
    "required": ["file"],
}
DERIVATIVE_UPLOAD = {
    "type": "object",
    "properties": {"file": {"type": "string", "format": "binary"}, "derivation": enum_of(Derivation), **_EVIDENCE_FORM},
    "required": ["file", "derivation"],
}
EVIDENCE_PATCH = {
    "type": "object",
    "properties": {
        "kind": enum_of(EvidenceKind),
        "title": string(minLength=1, maxLength=300),
        "description": string(maxLength=50000),
        "source": string(maxLength=500),
        **GRADING,
        "collected_at": nullable(DATETIME),
        "collected_by": string(maxLength=200),
        "collection_place": string(maxLength=300),
        "classification": enum_of(Classification),
        "graphic": {"type": "boolean"},
    },
    "additionalProperties": False,
}
LINK_CREATE = {
    "type": "object",
    "properties": {
        "target_type": LINK_TARGET,
        "target_id": UUID,
        "stance": enum_of(Stance),
        "note": string(maxLength=5000),
        "element_code": string(maxLength=60, description="the element, for target_type charge_element"),
    },
    "required": ["target_type", "target_id"],
    "additionalProperties": False,
}
CUSTODY_ENTRY = obj(
    {
        "seq": {"type": "integer"},
        "at": DATETIME,
        "actor": string(),
        "action": string(),
        "case_id": nullable(UUID),
        "evidence_id": nullable(UUID),
        "sha256": nullable(string()),
        "details": {"type": "object"},
        "prev_hash": string(),
        "entry_hash": string(),
    }
)
TRANSFER_CREATE = {
    "type": "object",
    "properties": {
        "from_party": string(minLength=1, maxLength=500),
        "to_party": string(minLength=1, maxLength=500),
        "purpose": string(minLength=1, maxLength=500),
        "location": string(maxLength=500),
        "note": string(maxLength=500),
    },
    "required": ["from_party", "to_party", "purpose"],
    "additionalProperties": False,
}
PROBLEM = {
    "type": "object",
    "properties": {
        "kind": string(),
        "message": string(),
        "seq": nullable({"type": "integer"}),
        "ern": nullable(string()),
        "expected": nullable(string()),
        "found": nullable(string()),
    },
    "required": ["kind", "message"],
}
VERIFY_REPORT = obj(
    {
        "ok": {"type": "boolean"},
        "checked": {"type": "integer"},
        "items_checked": {"type": "integer"},
        "checkpoints_checked": {"type": "integer"},
        "problems": {"type": "array", "items": PROBLEM},
    }
)

# -- witnesses -------------------------------------------------------------------------------------
from casefile.witnesses.models import ConsentPurpose, RiskLevel  # noqa: E402

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

# -- actors, relations, involvements, legal ----------------------------------------------------------
from casefile.actors.models import ActorKind, Confidence, Degree, InvolvementStatus, RelationType  # noqa: E402

IDENTIFIER = obj({"type": string(), "value": string()})
ACTOR = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "kind": enum_of(ActorKind),
        "name": string(),
        "aliases": {"type": "array", "items": string()},
        "description": string(),
        "date_of_birth": string(),
        "nationality": string(),
        "identifiers": {"type": "array", "items": IDENTIFIER},
        "merged_into_id": nullable(UUID),
        "created_at": DATETIME,
        "possible_duplicates": {
            "type": "array",
            "items": obj({"id": UUID, "name": string(), "score": {"type": "number"}, "matched": string()}),
        },
    }
)
_ACTOR_FIELDS = {
    "kind": enum_of(ActorKind),
    "name": string(minLength=1, maxLength=300),
    "aliases": {"type": "array", "items": string(maxLength=300), "maxItems": 100},
    "description": string(maxLength=20000),
    "date_of_birth": string(maxLength=40),
    "nationality": string(maxLength=100),
    "identifiers": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"type": string(maxLength=100), "value": string(minLength=1, maxLength=200)},
            "required": ["value"],
        },
    },
}
ACTOR_CREATE = {
    "type": "object",
    "properties": _ACTOR_FIELDS,
    "required": ["kind", "name"],
    "additionalProperties": False,
}
ACTOR_PATCH = {"type": "object", "properties": _ACTOR_FIELDS, "additionalProperties": False}
RELATION = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "source_actor_id": UUID,
        "target_actor_id": UUID,
        "relation": enum_of(RelationType),
        "valid_from": nullable(DATE),
        "valid_to": nullable(DATE),
        "confidence": enum_of(Confidence),
        "note": string(),
    }
)
RELATION_CREATE = {
    "type": "object",
    "properties": {
        "source_actor_id": UUID,
        "target_actor_id": UUID,
        "relation": enum_of(RelationType),
        "valid_from": nullable(DATE),
        "valid_to": nullable(DATE),
        "confidence": enum_of(Confidence),
        "note": string(maxLength=5000),
    },
    "required": ["source_actor_id", "target_actor_id", "relation"],
    "additionalProperties": False,
}
INVOLVEMENT = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "incident_id": UUID,
        "actor_id": UUID,
        "degree": enum_of(Degree),
        "mode_of_liability": string(),
        "status": enum_of(InvolvementStatus),
        "note": string(),
    }
)
INVOLVEMENT_CREATE = {
    "type": "object",
    "properties": {
        "incident_id": UUID,
        "actor_id": UUID,
        "degree": enum_of(Degree),
        "mode_of_liability": string(maxLength=40),
        "status": enum_of(InvolvementStatus),
        "note": string(maxLength=5000),
    },
    "required": ["incident_id", "actor_id", "degree"],
    "additionalProperties": False,
}
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
_EVIDENCE_REF = obj({"evidence_id": UUID, "ern": string(), "title": string(), "note": string()})
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
                    "supporting": {"type": "array", "items": _EVIDENCE_REF},
                    "contradicting": {"type": "array", "items": _EVIDENCE_REF},
                    "context": {"type": "array", "items": _EVIDENCE_REF},
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

# -- dossiers ----------------------------------------------------------------------------------------
_ITEM_REF = {"type": "object", "properties": {"ern": string(), "sha256": string()}, "required": ["ern", "sha256"]}
_EXCLUDED = {
    "type": "object",
    "properties": {"ern": string(), "title": string(), "reasons": {"type": "array", "items": string()}},
    "required": ["ern", "title", "reasons"],
}
DOSSIER = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "profile": string(),
        "title": string(),
        "bag_name": string(),
        "sha256": string(pattern="^[0-9a-f]{64}$"),
        "size": {"type": "integer"},
        "tree_size": {"type": "integer"},
        "included": {"type": "array", "items": _ITEM_REF},
        "excluded": {"type": "array", "items": _EXCLUDED},
        "created_at": DATETIME,
    }
)
DOSSIER_CREATE = {
    "type": "object",
    "properties": {
        "profile": string(maxLength=40),
        "title": string(maxLength=300),
        "evidence_ids": {"type": "array", "items": UUID},
        "language": {"type": "string", "enum": ["en", "ar"], "description": "of the PDF's headings"},
    },
    "required": ["profile"],
    "additionalProperties": False,
}
DOSSIER_PLAN = obj(
    {
        "profile": {"type": "object"},
        "included": {"type": "array", "items": obj({"id": UUID, "ern": string(), "title": string()})},
        "excluded": {
            "type": "array",
            "items": obj(
                {"id": UUID, "ern": string(), "title": string(), "reasons": {"type": "array", "items": string()}}
            ),
        },
    }
)
