"""The OpenAPI 3.1 document, assembled from the declarations in OPERATIONS."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from casefile.api import schemas as sc
from casefile.api.core import MAX_PAGE, OPERATIONS, Operation, api_bp

PAGE_PARAMS = [
    {
        "name": "page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    },
    {
        "name": "per_page",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
    },
]
# For lists that page by cursor: what seeks in constant time at any depth, where page= reads every row before it.
CURSOR_PARAMS = [
    {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", "maxLength": 512},
    }
    for name, description in (
        ("after", "The rows after this cursor (a previous answer's next); not with page."),
        ("before", "The rows in front of this cursor (a previous answer's previous); not with page."),
    )
]
ERROR_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Invalid input",
}


def build_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for op in OPERATIONS:
        error_ref = {"content": {"application/json": {"schema": sc.ERROR}}}
        response_schema = sc.page_of(op.response, cursor=op.cursor) if op.paginated and op.response else op.response
        ok: dict[str, Any] = {"description": "OK"}
        if response_schema is not None:
            ok["content"] = {op_content_type(op): {"schema": response_schema}}
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": f"{op.method}_{op.path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "tags": [op.tag],
            "parameters": op.params + (PAGE_PARAMS if op.paginated else []) + (CURSOR_PARAMS if op.cursor else []),
            "responses": {
                str(op.status): ok,
                **{str(code): {**ok, "description": text} for code, text in op.also.items()},
                **{str(code): {"description": ERROR_TEXT.get(code, "Error"), **error_ref} for code in op.errors},
            },
        }
        if op.request is not None:
            media = {"multipart": "multipart/form-data", "binary": "application/offset+octet-stream"}.get(
                op.request_kind, "application/json"
            )
            item["requestBody"] = {"required": True, "content": {media: {"schema": op.request}}}
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "Casefile API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def op_content_type(op: Operation) -> str:
    return op.response.get("x-content-type", "application/json") if op.response else "application/json"


@api_bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(build_spec())
