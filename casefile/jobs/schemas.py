"""JSON Schemas of jobs in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.jobs.models import JobState

JOB = obj(
    {
        "id": UUID,
        "kind": string(description="what the job does, e.g. custody.verify"),
        "title": string(description="the kind in words"),
        "case_id": nullable(UUID),
        "requested_by_id": nullable(UUID),
        "state": enum_of(JobState),
        "progress": obj(
            {
                "done": {"type": "integer", "minimum": 0},
                "total": nullable({"type": "integer"}),
                "message": string(),
            }
        ),
        "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"},
        "result": nullable({"type": "object", "description": "what the job made; members of its case only"}),
        "error": nullable(string()),
        "cancel_requested": {"type": "boolean"},
        "created_at": DATETIME,
        "started_at": nullable(DATETIME),
        "finished_at": nullable(DATETIME),
        "heartbeat_at": DATETIME,
        "url": string(description="the job's page"),
        "api_url": string(),
    }
)

JOB_PARAMS = [
    {"name": "case_id", "in": "query", "required": False, "schema": UUID},
    {"name": "state", "in": "query", "required": False, "schema": enum_of(JobState)},
]
