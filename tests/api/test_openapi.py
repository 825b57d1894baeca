"""The OpenAPI document at /api/v1/openapi.json is generated from the same declarations that register the
routes; these tests prove the two agree, rule for rule and method for method, so the spec cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

PREFIX = "/api/v1"
SPEC_URL = PREFIX + "/openapi.json"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get(SPEC_URL)  # no token: the spec is public
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.is_json
    return response.get_json()


def rule_template(rule: str) -> str:
    """Flask's /api/v1/cases/<id> (or <string:id>) as the spec's /cases/{id}."""
    assert rule.startswith(PREFIX + "/"), rule
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.removeprefix(PREFIX))


def api_rules(app: Flask) -> dict[str, set[str]]:
    """Every API route except the spec itself, as {path template: {methods}}."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        # HEAD and Flask's automatic OPTIONS are not operations; an OPTIONS the API answers itself (tus) is.
        automatic = getattr(rule, "provide_automatic_options", True)
        methods = {m.lower() for m in (rule.methods or set())} - {"head"} - ({"options"} if automatic else set())
        routes.setdefault(rule_template(rule.rule), set()).update(methods)
    return routes


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def schemas_in(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object of the document, with where it was found."""
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        for param in op.get("parameters", []):
            yield f"{where} parameter {param['name']}", param["schema"]
        for media, content in op.get("requestBody", {}).get("content", {}).items():
            yield f"{where} request {media}", content["schema"]
        for status, response in op["responses"].items():
            for media, content in response.get("content", {}).items():
                yield f"{where} response {status} {media}", content["schema"]
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield f"components.schemas.{name}", schema


def test_spec_is_public_openapi_3_1(client: FlaskClient, spec: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    assert spec["servers"] == [{"url": PREFIX}]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]
    # A bad or expired token does not hide the spec either.
    assert client.get(SPEC_URL, headers={"Authorization": "Bearer cf_forged"}).status_code == 200


def test_every_api_rule_is_in_the_spec_and_nothing_else(app: Flask, spec: dict[str, Any]) -> None:
    routes = api_rules(app)
    assert routes, "no API routes registered"
    documented = {path: {m for m in item if m in HTTP_METHODS} for path, item in spec["paths"].items()}
    missing = {p: sorted(m - documented.get(p, set())) for p, m in routes.items() if m - documented.get(p, set())}
    assert not missing, f"routes missing from the spec: {missing}"
    phantom = {p: sorted(m - routes.get(p, set())) for p, m in documented.items() if m - routes.get(p, set())}
    assert not phantom, f"spec operations without a route: {phantom}"
    assert documented == routes
    assert "/openapi.json" not in spec["paths"]


def test_operations_are_well_formed(spec: dict[str, Any]) -> None:
    operation_ids = []
    for path, method, op in operations(spec):
        where = f"{method.upper()} {path}"
        operation_ids.append(op["operationId"])
        assert op["summary"] and op["tags"], where
        # Every path parameter is declared, required, and nothing else claims to be in the path.
        in_path = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, where
        assert all(p["required"] is True for p in op.get("parameters", []) if p["in"] == "path"), where
        names = [(p["name"], p["in"]) for p in op.get("parameters", [])]
        assert len(names) == len(set(names)), f"{where}: duplicate parameters"
        statuses = {int(s) for s in op["responses"]}
        assert any(200 <= s < 300 for s in statuses), f"{where}: no success response"
        assert 401 in statuses, f"{where}: every API route needs a token, so 401 must be documented"
        for status, response in op["responses"].items():
            assert response["description"], (where, status)
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema["properties"]["error"]["required"] == ["code", "message"], (where, status)
        if method in ("get", "delete"):
            assert "requestBody" not in op, where
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"


def test_paginated_operations_declare_page_parameters(spec: dict[str, Any]) -> None:
    for path, method, op in operations(spec):
        ok = next(r for s, r in op["responses"].items() if 200 <= int(s) < 300)
        schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
        if set(schema.get("properties", {})) >= {"items", "page", "per_page", "total"}:
            query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert {"page", "per_page"} <= query, f"{method.upper()} {path}"
            # A page number or size that is not a whole number is refused with 422: the spec says so.
            assert "422" in op["responses"], f"{method.upper()} {path} does not document its 422"


def test_every_schema_is_valid_json_schema(spec: dict[str, Any]) -> None:
    found = list(schemas_in(spec))
    assert len(found) > len(spec["paths"])
    for where, schema in found:
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as error:
            pytest.fail(f"{where}: {error}")
