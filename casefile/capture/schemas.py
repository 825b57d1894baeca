"""JSON Schemas of web captures in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.capture.models import CaptureState
from casefile.jobs.schemas import JOB

ITEM = obj(
    {
        "id": UUID,
        "ern": string(),
        "title": string(),
        "sha256": string(),
        "size": {"type": "integer"},
        "media_type": string(),
        "derivation": nullable(string()),
    }
)
TOKEN = obj(
    {
        "tsa_url": string(),
        "tsa_name": string(),
        "gen_time": DATETIME,
        "serial": string(),
        "message_sha256": string(),
        "token_base64": {"type": "string", "description": "the DER TimeStampResp (RFC 3161), base64"},
    }
)
CAPTURE = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "url": string(),
        "note": string(),
        "incident_ids": {"type": "array", "items": UUID},
        "state": enum_of(CaptureState),
        "error": nullable(string()),
        "final_url": nullable(string()),
        "http_status": nullable({"type": "integer"}),
        "title": string(),
        "tls": nullable({"type": "object"}),
        "browser": nullable(string()),
        "refused": {"type": "array", "items": string()},
        "manifest_sha256": nullable(string()),
        "job_id": nullable(UUID),
        "created_at": DATETIME,
        "captured_at": nullable(DATETIME),
        "finished_at": nullable(DATETIME),
        "web_archive": nullable(ITEM),
        "artefacts": {"type": "array", "items": ITEM},
        "timestamps": {"type": "array", "items": TOKEN},
    }
)
CAPTURE_ACCEPTED = {**CAPTURE, "properties": {**CAPTURE["properties"], "job": JOB}}
CAPTURE_CREATE = {
    "type": "object",
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "maxLength": 2000, "description": "an http(s) address on a public network"},
        "incident_ids": {"type": "array", "items": UUID},
        "note": {"type": "string", "maxLength": 5000},
        "cookies": {
            "type": "string",
            "maxLength": 8000,
            "description": "a session for this capture only, as a Cookie header (name=value; …); stored encrypted "
            "and erased when the capture ends",
        },
    },
    "additionalProperties": False,
}
