"""JSON Schemas of evidence links in the API."""

from __future__ import annotations

from casefile.api.schemas import UUID, enum_of, nullable, obj, string
from casefile.links.models import TARGET_COLUMNS, Stance

LINK_TARGET = {"type": "string", "enum": list(TARGET_COLUMNS)}

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

LINK_TARGET_CHOICE = obj(
    {
        "value": string(description="the item page's form value: target_type:target_id, and :element_code"),
        "target_type": LINK_TARGET,
        "target_id": UUID,
        "element_code": nullable(string()),
        "group": string(description="what the target is listed under, e.g. Incidents, or the charge"),
        "text": string(description="the target in words, in full (an element with its whole text)"),
    }
)
