"""JSON Schemas of evidence items, uploads and edits in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.evidence.models import Classification, Derivation, DerivedStatus, EvidenceKind, OnDuplicate
from casefile.links.schemas import LINK
from casefile.provenance.schemas import PROVENANCE_LIST

# How much of collected_at is known; null: as precise as written.
PRECISION = nullable({"type": "string", "enum": ["day", "month", "year"]})
GRADING = {
    "source_reliability": nullable({"type": "string", "enum": ["A", "B", "C", "D", "E", "F"]}),
    "info_credibility": nullable({"type": "integer", "minimum": 1, "maximum": 6}),
}

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
        "collected_precision": PRECISION,
        "collected_by": string(),
        "collection_place": string(),
        "original_filename": string(),
        "media_type": string(),
        "size": {"type": "integer"},
        "sha256": string(pattern="^[0-9a-f]{64}$"),
        "metadata": {"type": "object"},
        "metadata_status": string(),
        "derived_status": {
            **enum_of(DerivedStatus),
            "description": "the data derived from the file (metadata, text for search, preview): pending while a "
            "job makes it after the upload (a PDF's text, a large image's metadata and preview; shown as "
            "processing), then done; failed if that job failed (the file itself is unaffected)",
        },
        "classification": enum_of(Classification),
        "graphic": {"type": "boolean"},
        "parent_id": nullable(UUID),
        "derivation": nullable(enum_of(Derivation)),
        "copy_of_id": nullable({**UUID, "description": "kept as a separate copy of this item (same SHA-256)"}),
        "links": {"type": "array", "items": LINK},
        "created_at": DATETIME,
    }
)

SAME_FILE = obj(
    {
        "id": UUID,
        "ern": string(),
        "case_id": UUID,
        "case_reference": string(),
    }
)

EVIDENCE_DETAIL = {
    **EVIDENCE,
    "properties": {
        **EVIDENCE["properties"],
        "same_file": {
            "type": "array",
            "items": SAME_FILE,
            "description": "other items with the same SHA-256 (copies in this case, the same file in other cases), "
            "in the cases you are a member of only",
        },
        "provenance": {
            **PROVENANCE_LIST,
            "description": "what signed provenance came with the file (C2PA Content Credentials read at ingest, a "
            "ProofMode proof checked at import): what was signed, by which key, when, and whether it verifies",
        },
    },
    "required": [*EVIDENCE["required"], "same_file", "provenance"],
}

_EVIDENCE_FORM = {
    "kind": enum_of(EvidenceKind),
    "title": string(maxLength=300),
    "description": string(maxLength=50000),
    "collected_at": string(description="ISO 8601; UTC when no zone is given"),
    "collected_precision": {"type": "string", "enum": ["day", "month", "year"]},
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
    "properties": {
        "file": {"type": "string", "format": "binary"},
        **_EVIDENCE_FORM,
        "on_duplicate": {
            **enum_of(OnDuplicate),
            "description": "when the file's SHA-256 is already in the case: ask (default: 409 naming the existing "
            "item), acquisition (no new item: 200 with the existing item, the new arrival recorded in its custody "
            "trail), copy (201: a separate item marked as a copy)",
        },
        "statement_text": string(
            maxLength=200000,
            description="instead of `file`, with `witness_id`: a statement typed in, recorded as a UTF-8 text file",
        ),
    },
    "description": "`file`, or `statement_text` with `witness_id`",
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
        "collected_precision": PRECISION,
        "collected_by": string(maxLength=200),
        "collection_place": string(maxLength=300),
        "classification": enum_of(Classification),
        "graphic": {"type": "boolean"},
    },
    "additionalProperties": False,
}

SIMILAR = obj(
    {
        "id": UUID,
        "ern": string(),
        "title": string(),
        "pdq_distance": {"type": "integer", "description": "bits of 256 (over the image's rotations and mirrorings)"},
        "phash_distance": {"type": "integer", "description": "bits of 64"},
        "same": nullable({"type": "boolean", "description": "the latest decision; null: not decided"}),
    }
)

SIMILAR_DECISION = {
    "type": "object",
    "properties": {"other_id": UUID, "same": {"type": "boolean"}},
    "required": ["other_id", "same"],
    "additionalProperties": False,
}
