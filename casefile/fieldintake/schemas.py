"""JSON Schemas of field intake in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.fieldintake.models import SubmissionState
from casefile.jobs.schemas import JOB

FORM = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "form_id": string(),
        "version": string(),
        "title": string(),
        "standard": {"type": "boolean"},
        "encrypted": {"type": "boolean"},
        "source_name": nullable(string()),
        "source_sha256": nullable(string()),
        "active": {"type": "boolean"},
        "created_at": DATETIME,
    }
)
FORM_CREATE = {
    "type": "object",
    "properties": {
        "xlsform": {
            "type": "string",
            "format": "binary",
            "description": "the case's own XLSForm (.xlsx, .xls, .csv, .md); without it, Casefile's field report",
        },
        "encrypted": {"type": "string", "enum": ["true", "false"], "description": "encrypt on the phone (default)"},
    },
}
CREDENTIAL = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "label": string(),
        "username": string(),
        "server_url": string(),
        "created_at": DATETIME,
        "last_used_at": nullable(DATETIME),
        "revoked_at": nullable(DATETIME),
    }
)
# The answer that made the credential: the only one with its password.
CREDENTIAL_CREATED = {
    **CREDENTIAL,
    "properties": {**CREDENTIAL["properties"], "password": string()},
    "required": [*CREDENTIAL["required"], "password"],
}
CREDENTIAL_CREATE = {
    "type": "object",
    "required": ["label"],
    "properties": {"label": {"type": "string", "minLength": 1, "maxLength": 100}},
    "additionalProperties": False,
}
FILE = obj(
    {
        "name": string(),
        "role": {"type": "string", "enum": ["attachment", "form"]},
        "received_sha256": string(),
        "received_size": {"type": "integer"},
        "sha256": nullable(string()),
        "size": nullable({"type": "integer"}),
        "evidence_id": nullable(UUID),
    }
)
SUBMISSION = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "form": obj({"id": UUID, "form_id": string(), "version": string()}),
        "instance_id": string(),
        "state": enum_of(SubmissionState),
        "encrypted": {"type": "boolean"},
        "device": string(),
        "credential": nullable(string()),
        "submitted_by": nullable(string()),
        "received_at": DATETIME,
        "completed_at": nullable(DATETIME),
        "submission_sha256": string(),
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "files": {"type": "array", "items": FILE},
        "error": nullable(string()),
        "reason": nullable(string()),
        "reviewed_by": nullable(string()),
        "reviewed_at": nullable(DATETIME),
        "job_id": nullable(UUID),
    }
)
SUBMISSION_ACCEPTED = {**SUBMISSION, "properties": {**SUBMISSION["properties"], "job": JOB}}
REJECT = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
    "additionalProperties": False,
}
