"""JSON Schemas of actors, relations and involvements in the API."""

from __future__ import annotations

from casefile.actors.models import ActorKind, Confidence, Degree, InvolvementStatus, RelationType
from casefile.api.schemas import DATE, DATETIME, UUID, enum_of, nullable, obj, string

IDENTIFIER = obj({"type": string(), "value": string()})

# An actor of the case whose name or an alias reads like the given one (score 0–1, `matched` the name it matched).
CANDIDATE = obj({"id": UUID, "name": string(), "score": {"type": "number"}, "matched": string()})

ACTOR = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "kind": enum_of(ActorKind),
        "name": string(),
        "aliases": {"type": "array", "items": string()},
        "description": string(),
        "date_of_birth": string(),
        "place_of_birth": string(),
        "nationality": string(),
        "identifiers": {"type": "array", "items": IDENTIFIER},
        "merged_into_id": nullable(UUID),
        "created_at": DATETIME,
        "possible_duplicates": {"type": "array", "items": CANDIDATE},
    }
)

_ACTOR_FIELDS = {
    "kind": enum_of(ActorKind),
    "name": string(minLength=1, maxLength=300),
    "aliases": {"type": "array", "items": string(maxLength=300), "maxItems": 100},
    "description": string(maxLength=20000),
    "date_of_birth": string(maxLength=40),
    "place_of_birth": string(maxLength=200),
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
    "description": "An actor whose name or an alias reads like one already in the case (in any script or "
    "spelling) is created only with `confirm_new: true`; without it nothing is created and the answer is 409 "
    "`likely_duplicates` with the candidates in `error.possible_duplicates`. The web form follows the same rule.",
    "properties": {
        **_ACTOR_FIELDS,
        "confirm_new": {
            "type": "boolean",
            "description": "This is a different actor from the likely duplicates: create it anyway.",
        },
    },
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
