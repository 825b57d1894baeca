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
        "target_ids": {"type": "array", "items": UUID},
        "charge_ids": {"type": "array", "items": UUID},
        "analysis": {"type": "boolean"},
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
    "description": "With `target_ids`, the dossier is about those actors: every evidence item that supports or "
    "contradicts them (linked to a target, to a relation or involvement of one, to a chosen charge, or to an incident "
    "of those) is considered, plus the items of `evidence_ids`; items that contradict them are exculpatory and are "
    "labelled. `charge_ids` chooses the charges or designation criteria (when absent: every charge against the "
    "targets under the profile's frameworks; a charge of another framework, or against someone who is not a target, "
    "is refused). Without targets: without `evidence_ids`, every evidence item of the case is considered and the "
    "default selection is taken: each item linked to an incident, actor, actor relation, involvement or charge "
    "element, and each witness statement; with `evidence_ids`, exactly those items are considered. Every considered "
    "item ends up in `included` or in `excluded` with its reasons in words: outside the default selection (linked "
    "to nothing), a classification the profile does not allow, or no current consent of the witness to the "
    "profile's purpose.",
    "properties": {
        "profile": string(maxLength=40),
        "title": string(maxLength=300),
        "evidence_ids": {
            "type": "array",
            "items": UUID,
            "description": "the items to consider (added to the targets' evidence); when absent, as described above",
        },
        "target_ids": {"type": "array", "items": UUID, "description": "the actors the dossier is about"},
        "charge_ids": {"type": "array", "items": UUID, "description": "the charges or designation criteria"},
        "analysis": {
            "type": "boolean",
            "description": "add the analysis annex: elements without supporting evidence (gaps) and contested ones; "
            "no dossier shows gap counts otherwise",
        },
        "cover_letter": string(maxLength=50000, description="Markdown, rendered sanitised"),
        "narrative": string(maxLength=50000, description="the narrative summary; Markdown, rendered sanitised"),
        "language": {"type": "string", "enum": ["en", "ar"], "description": "of the PDF's headings and labels"},
    },
    "required": ["profile"],
    "additionalProperties": False,
}

DOSSIER_PLAN = obj(
    {
        "profile": {"type": "object"},
        "targets": {"type": "array", "items": obj({"id": UUID, "name": string()})},
        "charges": {"type": "array", "items": obj({"id": UUID, "suspect": string(), "offence_code": string()})},
        "included": {
            "type": "array",
            "items": obj({"id": UUID, "ern": string(), "title": string(), "exculpatory": {"type": "boolean"}}),
        },
        "excluded": {
            "type": "array",
            "items": obj(
                {"id": UUID, "ern": string(), "title": string(), "reasons": {"type": "array", "items": string()}}
            ),
        },
    }
)
