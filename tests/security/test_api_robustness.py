"""Input that fuzzing (.ci/security: schemathesis, sqlmap) showed can crash the app, pinned as plain tests.

A request with a wrong type or an absurd number is the client's mistake: the answer is a 4xx that says so,
never a 500 (which also leaves a traceback in the log for every such request). Each test sweeps the declared
API operations (casefile.api.core.OPERATIONS, the source of the OpenAPI document) so new routes are covered.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from casefile.api.core import OPERATIONS

from support import Account, Api, login

HUGE = str(10**20)  # far past any 64-bit OFFSET once multiplied by per_page
# What a JSON client can send where the schema says otherwise (a string, a number, a list of ids …).
WRONG_TYPES: tuple[Any, ...] = ({}, [], [{}], True, 1.5, None, "x" * 5000)
SEGMENT_OBJECT = {
    "cases": "case",
    "incidents": "incident",
    "evidence": "item",
    "witnesses": "witness",
    "actors": "actor",
    "charges": "charge",
    "dossiers": "dossier",
    "field-forms": "filler",
    "field-submissions": "filler",
    "device-credentials": "filler",
    "comments": "filler",
    "assignments": "filler",
    "notifications": "filler",
}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 20, 30)).save(out, "JPEG")
    return out.getvalue()


def _made(response: Any) -> str:
    body = response.get_json(silent=True)
    response.close()
    assert response.status_code == 201, body
    return body["id"]


@pytest.fixture
def world(api_for: Callable[..., tuple[Api, Account]]) -> tuple[Api, Account, dict[str, str]]:
    api, account = api_for("investigator")
    ids = {"case": _made(api.post("/cases", {"reference": "FUZ", "title": "Fuzz"}))}
    case = ids["case"]
    ids["incident"] = _made(api.post(f"/cases/{case}/incidents", {"title": "An incident"}))
    upload = api.post(
        f"/cases/{case}/evidence", data={"file": (io.BytesIO(_jpeg()), "p.jpg")}, content_type="multipart/form-data"
    )
    upload.request.input_stream.close()
    ids["item"] = _made(upload)
    ids["witness"] = _made(api.post(f"/cases/{case}/witnesses", {"full_name": "A witness"}))
    ids["actor"] = _made(api.post(f"/cases/{case}/actors", {"kind": "person", "name": "Ahmad Zaid"}))
    ids["charge"] = _made(
        api.post(f"/cases/{case}/charges", {"suspect_id": ids["actor"], "offence_code": "rome-7-1-a"})
    )
    ids["dossier"] = "00000000-0000-4000-8000-000000000000"  # no dossier needed: the id is only a path filler
    ids["filler"] = ids["dossier"]
    return api, account, ids


def _path(template: str, ids: dict[str, str]) -> str:
    parts = template.split("/")
    return "/".join(ids[SEGMENT_OBJECT[parts[i - 1]]] if p == "{id}" else p for i, p in enumerate(parts))


def _status(response: Any) -> int:
    response.close()
    return response.status_code


def test_huge_page_numbers_are_refused_not_crashing(
    app: Flask, world: tuple[Api, Account, dict[str, str]], make_user: Callable[..., Account]
) -> None:
    api, account, ids = world
    failures = []
    for op in OPERATIONS:
        if op.paginated:
            status = _status(api.get(_path(op.path, ids) + f"?page={HUGE}"))
            if status >= 500:
                failures.append(f"GET /api/v1{op.path}?page={HUGE}: {status}")
    client = app.test_client()
    login(client, account)
    for page in (f"/cases/{ids['case']}/evidence", f"/evidence/{ids['item']}/custody"):
        status = _status(client.get(f"{page}?page={HUGE}"))
        if status >= 500:
            failures.append(f"GET {page}?page={HUGE}: {status}")
    reviewer = make_user("reviewer")
    auditor = app.test_client()
    login(auditor, reviewer)
    if "account.audit" in app.view_functions:
        status = _status(auditor.get(f"/admin/audit?page={HUGE}"))
        if status >= 500:
            failures.append(f"GET /admin/audit?page={HUGE}: {status}")
    assert not failures, "a huge page number crashes the list (expected a 4xx or an empty page):\n" + "\n".join(
        failures
    )


def test_wrong_json_types_are_refused_not_crashing(world: tuple[Api, Account, dict[str, str]]) -> None:
    api, _account, ids = world
    failures = []
    for op in OPERATIONS:
        if op.request is None or op.request_kind != "json" or op.method not in ("post", "patch"):
            continue
        for name in op.request.get("properties", {}):
            for wrong in WRONG_TYPES:
                send = api.post if op.method == "post" else api.patch
                status = _status(send(_path(op.path, ids), {name: wrong}))
                if status >= 500:
                    failures.append(f"{op.method.upper()} /api/v1{op.path} {{{name!r}: {str(wrong)[:20]!r}}}: {status}")
    assert not failures, "a wrongly typed JSON field crashes the API (expected 422):\n" + "\n".join(failures)


def test_deeply_nested_json_and_lone_surrogates_are_refused_on_every_json_route(
    world: tuple[Api, Account, dict[str, str]],
) -> None:
    """A hundred thousand nested brackets overflowed Python's JSON parser, and a \\udXXX escape for a lone surrogate
    reached the database: both were 500s. Every JSON route now answers 400 or 422 in the error format."""
    api, _account, ids = world
    bodies = {
        "nested": "[" * 100_000 + "]" * 100_000,
        "nested object": '{"a":' * 50_000 + "1" + "}" * 50_000,
        "lone surrogate": '{"title": "Graves \\udcff", "reference": "X\\ud800", "email": "a\\udfff@example.org"}',
    }
    failures = []
    for op in OPERATIONS:
        if op.request is None or op.request_kind != "json" or op.method not in ("post", "patch"):
            continue
        for what, body in bodies.items():
            response = api.client.open(
                "/api/v1" + _path(op.path, ids),
                method=op.method.upper(),
                data=body,
                headers={**api.headers, "Content-Type": "application/json"},
            )
            error = (response.get_json(silent=True) or {}).get("error", {})
            if response.status_code >= 500 or not error.get("message"):
                failures.append(f"{op.method.upper()} /api/v1{op.path} ({what}): {response.status_code}")
    assert not failures, "\n".join(failures)
