"""JSON Schemas of the case activity feed in the API."""

from __future__ import annotations

from casefile.activity.models import ActivityAction, SubjectKind
from casefile.api.schemas import DATE, DATETIME, UUID, enum_of, nullable, obj, string

# A stored value: a code, an ISO 8601 date or time, a number, a yes/no, a list, or null.
ANY_VALUE: dict[str, object] = {"description": "the value as stored (codes, ISO 8601 dates), or null"}
ACTIVITY = obj(
    {
        "id": UUID,
        "at": DATETIME,
        "user_id": nullable(UUID),
        "user": string(description="who made the change (Casefile itself for automatic work nobody asked for)"),
        "subject_type": enum_of(SubjectKind),
        "subject_id": UUID,
        "subject_label": string(description="the object's name as it was then"),
        "action": enum_of(ActivityAction),
        "changes": {
            "type": "array",
            "items": obj({"field": string(), "from": ANY_VALUE, "to": ANY_VALUE}),
        },
    }
)
FILTERS = [
    {"name": "type", "in": "query", "required": False, "schema": enum_of(SubjectKind)},
    {"name": "action", "in": "query", "required": False, "schema": enum_of(ActivityAction)},
    {"name": "user_id", "in": "query", "required": False, "schema": UUID},
    {"name": "subject_id", "in": "query", "required": False, "schema": UUID},
    {"name": "since", "in": "query", "required": False, "schema": DATE},
    {"name": "until", "in": "query", "required": False, "schema": DATE},
]
