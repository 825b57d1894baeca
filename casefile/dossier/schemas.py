"""JSON Schemas of dossiers and their plans in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.dossier.models import DossierStatus
from casefile.jobs.schemas import JOB

# -- dossiers ----------------------------------------------------------------------------------------
_ITEM_REF = {"type": "object", "properties": {"ern": string(), "sha256": string()}, "required": ["ern", "sha256"]}

_EXCLUDED = {
    "type": "object",
    "properties": {
        "ern": string(),
        "title": string(),
        "reasons": {"type": "array", "items": string()},
        "withheld": {
            "type": "boolean",
            "description": "kept out by the profile's rules (classification, consent), not merely outside the "
            "default selection",
        },
    },
    "required": ["ern", "title", "reasons"],
}

DOSSIER = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "status": {
            **enum_of(DossierStatus),
            "description": "building: its job is queued or running (follow `job_id` at GET /jobs/{id}); ready: "
            "built, and once a second legal member has approved it (`released`) may be downloaded; failed: `error` "
            "says why",
        },
        "profile": string(),
        "title": string(),
        "bag_name": string(),
        "sha256": nullable(string(pattern="^[0-9a-f]{64}$")),
        "size": nullable({"type": "integer"}),
        "tree_size": nullable({"type": "integer"}),
        "included": {"type": "array", "items": _ITEM_REF},
        "excluded": {"type": "array", "items": _EXCLUDED},
        "job_id": nullable(UUID),
        "error": nullable(string()),
        "created_at": DATETIME,
        "approved_by_id": nullable(UUID),
        "approved_at": nullable(DATETIME),
        "released": {"type": "boolean", "description": "built and approved by a second legal member"},
    }
)

# The answer to a build request (202): the dossier, building, and the job that builds it.
DOSSIER_ACCEPTED = obj({**DOSSIER["properties"], "job": JOB})

DOSSIER_CREATE = {
    "type": "object",
    "description": "Without `evidence_ids`, every evidence item of the case is considered and the default "
    "selection is taken: each item linked to an incident, actor, actor relation, involvement or charge element, and "
    "each witness statement. Every considered item ends up in `included` or in `excluded` with its reasons in "
    "words: outside the default selection (linked to nothing), a classification the profile does not allow, or no "
    "current consent of the witness to the profile's purpose. With `evidence_ids`, exactly those items are "
    "considered, under the same profile rules.",
    "properties": {
        "profile": string(maxLength=40),
        "title": string(maxLength=300),
        "evidence_ids": {
            "type": "array",
            "items": UUID,
            "description": "the items to consider; when absent, the default selection described above",
        },
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
