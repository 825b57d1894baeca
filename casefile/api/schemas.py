"""JSON Schema building blocks every capability's API shares: scalar types, objects, errors and pages."""

from __future__ import annotations

from typing import Any

from casefile.paging import COUNT_CAP


def string(**kw: Any) -> dict[str, Any]:
    return {"type": "string", **kw}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    out = {**schema, "type": [*types, "null"]}
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def enum_of(cls: Any) -> dict[str, Any]:
    return {"type": "string", "enum": [m.value for m in cls]}


UUID = string(format="uuid")

DATETIME = string(format="date-time")

DATE = string(format="date")


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


ERROR = obj(
    {
        "error": obj({"code": string(), "message": string()}, ["code", "message"]),
    }
)


def page_of(item: dict[str, Any], *, cursor: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "items": {"type": "array", "items": item},
        "page": {"type": "integer"},
        "per_page": {"type": "integer"},
        "total": {
            "type": "integer",
            "description": f"Exact up to a cap ({COUNT_CAP}; search: 1000); beyond it, the cap.",
        },
        "total_is_lower_bound": {"type": "boolean", "description": "True when the list has more rows than total."},
    }
    if cursor:
        properties |= {
            "page": {"type": ["integer", "null"], "description": "Null when the page was asked for by cursor."},
            "next": nullable(string(description="An opaque cursor: after= it, the following rows; null: none.")),
            "previous": nullable(string(description="An opaque cursor: before= it, the rows in front; null: none.")),
        }
    return obj(properties)
