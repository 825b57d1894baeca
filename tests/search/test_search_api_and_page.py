"""GET /api/v1/search and GET /search: declared and documented like every API route, responses valid against the
declared schema, bad input a clear 4xx (never a 500), and user text escaped on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.api.core import OPERATIONS
from casefile.api.schemas import ERROR, page_of
from casefile.search.api import SEARCH_RESULT

from search_support import Team
from support import login, validate

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def operation() -> Any:
    [op] = [op for op in OPERATIONS if op.path == "/search" and op.method == "get"]
    return op


def test_route_is_declared_and_in_the_openapi_document(client: FlaskClient) -> None:
    op = operation()
    assert op.paginated and op.response == SEARCH_RESULT and op.tag == "search"
    spec = client.get("/api/v1/openapi.json").get_json()
    described = spec["paths"]["/search"]["get"]
    params = {p["name"]: p for p in described["parameters"]}
    assert {"q", "case_id", "type", "page", "per_page"} <= set(params)
    assert params["q"]["required"] is True
    assert described["responses"]["200"]["content"]["application/json"]["schema"] == page_of(SEARCH_RESULT)
    assert {"401", "404", "422"} <= set(described["responses"])


def test_errors_are_clear_4xx_against_the_error_schema(team: Callable[..., Team], client: FlaskClient) -> None:
    t = team()
    t.incident("Tarhouna")
    other = team("OTHER")
    declared = operation().errors
    cases = [
        ({}, 422),
        ({"q": ""}, 422),
        ({"q": "   "}, 422),
        ({"q": "!!! ؟؟ ..."}, 422),
        ({"q": "ّ َ"}, 422),  # diacritics only: nothing left to search for
        ({"q": "x" * 201}, 422),
        ({"q": " ".join(f"w{n}" for n in range(40))}, 422),
        ({"q": "tarhuna", "type": "dossier"}, 422),
        ({"q": "tarhuna", "page": "0"}, 422),
        ({"q": "tarhuna", "page": "abc"}, 422),
        ({"q": "tarhuna", "page": str(10**30)}, 422),
        ({"q": "tarhuna", "per_page": "-1"}, 422),
        ({"q": "tarhuna", "case_id": "not-a-uuid"}, 404),
        ({"q": "tarhuna", "case_id": str(other.case_id)}, 404),
    ]
    for params, status in cases:
        response = t.api.get("/search", query_string=params)
        assert response.status_code == status, (params, response.get_data(as_text=True)[:300])
        assert response.status_code in declared
        validate(ERROR, response.get_json())
        assert response.get_json()["error"]["message"]
    response = client.get("/api/v1/search", query_string={"q": "tarhuna"})
    assert response.status_code == 401
    validate(ERROR, response.get_json())


def test_a_long_but_allowed_query_and_large_per_page_work(team: Callable[..., Team]) -> None:
    t = team()
    t.incident("Tarhouna")
    body = t.search("tarhuna " + "ت" * 150, per_page=500)  # per_page is capped like every list of the API
    assert body["total"] == 0 and body["per_page"] == 200
    validate(page_of(SEARCH_RESULT), body)


@pytest.fixture
def page_of_results(client: FlaskClient, team: Callable[..., Team]) -> Callable[..., tuple[int, str]]:
    t = team()
    t.incident(f"{SCRIPT} Tarhouna", description="ترهونة")
    t.actor("محمد الكاني")
    t.evidence("Photo of the Tarhouna grave")
    t.witness("Zubaida Qarawi")
    login(client, t.account)

    def get(**params: Any) -> tuple[int, str]:
        response = client.get("/search", query_string=params)
        return response.status_code, response.get_data(as_text=True)

    return get


def test_page_lists_results_by_type_with_links_and_escapes_user_text(
    page_of_results: Callable[..., tuple[int, str]],
) -> None:
    status, html = page_of_results(q="ترهونه")
    assert status == 200
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert re.search(r'<td dir="auto"><a href="/incidents/[0-9a-f-]{36}">&lt;script&gt;', html)
    # The found words are marked in the title too ("Tarhouna" found by ترهونه through its name key).
    photo = r'<a href="/evidence/[0-9a-f-]{36}">TRH-00001 — Photo of the <mark>Tarhouna</mark> grave</a>'
    assert re.search(photo, html)
    assert html.index("<h2>Incidents</h2>") < html.index("<h2>Evidence</h2>")
    assert 'value="ترهونه"' in html  # the query stays in the form

    status, html = page_of_results(q="al-Kani")
    assert re.search(r'<a href="/actors/[0-9a-f-]{36}">محمد <mark>الكاني</mark></a>', html)
    status, html = page_of_results(q="W-0001", type="witness")
    assert re.search(r'<a href="/witnesses/[0-9a-f-]{36}"><mark>W-0001</mark></a>', html)
    assert "<h2>Witnesses</h2>" in html and "<h2>Incidents</h2>" not in html


def test_page_handles_empty_odd_and_hostile_queries(page_of_results: Callable[..., tuple[int, str]]) -> None:
    status, html = page_of_results()
    assert status == 200 and 'name="q"' in html and "Nothing found" not in html
    status, html = page_of_results(q="Zubaida")
    assert status == 200 and "Nothing found in your cases." in html and "Zubaida Qarawi" not in html
    status, html = page_of_results(q="x" * 500)
    assert status == 422 and "The search is too long" in html
    status, html = page_of_results(q="!!!")
    assert status == 422 and "at least one letter or digit" in html
    status, html = page_of_results(q="tarhuna", type="bogus")
    assert status == 422 and "Unknown type" in html
    status, html = page_of_results(q=SCRIPT)
    assert status == 200 and "<script>alert" not in html
    status, html = page_of_results(q="tarhuna", page="-5")
    assert status == 200
    status, _html = page_of_results(q="tarhuna", case="00000000-0000-0000-0000-000000000000")
    assert status == 404


def test_page_requires_login(app: Flask) -> None:
    response = app.test_client().get("/search?q=tarhuna")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
