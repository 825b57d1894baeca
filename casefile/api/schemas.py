"""JSON Schema building blocks every capability's API shares: scalar types, objects, errors and pages."""

from __future__ import annotations

from typing import Any


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


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return obj(
        {
            "items": {"type": "array", "items": item},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        }
    )
