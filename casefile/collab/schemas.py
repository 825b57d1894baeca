"""JSON Schemas of assignments and notifications in the API."""

from __future__ import annotations

from casefile.api.schemas import DATETIME, UUID, enum_of, nullable, obj, string
from casefile.collab.models import AssignedKind, CommentedKind, NotificationKind

ASSIGNMENT = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "target_type": enum_of(AssignedKind),
        "target_id": UUID,
        "target_label": string(),
        "assignee": string(),
        "assignee_id": UUID,
        "due_on": nullable(string(format="date")),
        "note": string(),
        "created_by": string(),
        "created_at": DATETIME,
        "done_at": nullable(DATETIME),
    }
)
ASSIGNMENT_CREATE = {
    "type": "object",
    "required": ["target_type", "target_id", "assignee_id"],
    "properties": {
        "target_type": enum_of(AssignedKind),
        "target_id": UUID,
        "assignee_id": UUID,
        "due_on": nullable(string(format="date")),
        "note": {"type": "string", "maxLength": 2000},
    },
    "additionalProperties": False,
}
COMMENT = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "target_type": enum_of(CommentedKind),
        "target_id": UUID,
        "author": string(),
        "body": string(),
        "created_at": DATETIME,
        "edited_at": nullable(DATETIME),
        "history": {
            "type": "array",
            "items": obj({"body": string(), "replaced_at": DATETIME}),
            "description": "the text before each edit, oldest first",
        },
    }
)
COMMENT_CREATE = {
    "type": "object",
    "required": ["target_type", "target_id", "body"],
    "properties": {
        "target_type": enum_of(CommentedKind),
        "target_id": UUID,
        "body": {"type": "string", "minLength": 1, "maxLength": 10000, "description": "plain text; @name mentions"},
    },
    "additionalProperties": False,
}
COMMENT_EDIT = {
    "type": "object",
    "required": ["body"],
    "properties": {"body": {"type": "string", "minLength": 1, "maxLength": 10000}},
    "additionalProperties": False,
}
NOTIFICATION = obj(
    {
        "id": UUID,
        "case_id": UUID,
        "case_reference": string(),
        "kind": enum_of(NotificationKind),
        "text": string(),
        "link": string(),
        "created_at": DATETIME,
        "read_at": nullable(DATETIME),
    }
)
