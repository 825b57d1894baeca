"""The case's evidence list pages by cursor (a seek on the ERN number, not an OFFSET) and counts no further than a
cap: cursors walk the filtered list exactly once in order, both ways, on the page and in the API; a cursor that is
not ours is refused clearly; a long list says "more than"; each page costs the same number of queries."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile import paging
from casefile.evidence import views

from support import Account, Api, counting_queries

JSON = {"Accept": "application/json"}
ERN = re.compile(r'<a href="/evidence/[0-9a-f-]+">([A-Z]+-\d{5})</a>')


def upload(client: FlaskClient, case_id: uuid.UUID, count: int, start: int, classification: str) -> None:
    files = [(BytesIO(f"statement {n}\n".encode()), f"s{n}.txt") for n in range(start, start + count)]
    response = client.post(
        f"/cases/{case_id}/evidence/upload",
        data={"classification": classification, "file": files},
        content_type="multipart/form-data",
        headers=JSON,
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:500]


@pytest.fixture
def investigator(logged_in: Callable[..., Account]) -> Account:
    return logged_in("investigator")


@pytest.fixture
def api(investigator: Account, api_for: Callable[..., tuple[Api, Account]]) -> Api:
    return api_for(account=investigator)[0]


@pytest.fixture
def case_id(client: FlaskClient, investigator: Account, make_case: Callable[..., uuid.UUID]) -> uuid.UUID:
    """A case of 17 items, PAG-00001…17, interleaved: 10 confidential and 7 public."""
    case_id = make_case(investigator, "PAG")
    for start, count, classification in ((0, 4, "confidential"), (4, 3, "public"), (7, 6, "confidential")):
        upload(client, case_id, count, start, classification)
    upload(client, case_id, 4, 13, "public")
    return case_id


CONFIDENTIAL = [f"PAG-{n:05d}" for n in (1, 2, 3, 4, 8, 9, 10, 11, 12, 13)]
EVERYTHING = [f"PAG-{n:05d}" for n in range(1, 18)]


def api_page(api: Api, url: str) -> dict[str, Any]:
    response = api.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


# --- the API -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("filtered", [False, True])
def test_api_cursors_walk_the_filtered_list_once_in_order_both_ways(
    api: Api, case_id: uuid.UUID, filtered: bool
) -> None:
    url = f"/cases/{case_id}/evidence?per_page=3" + ("&classification=confidential" if filtered else "")
    expected = CONFIDENTIAL if filtered else EVERYTHING

    first = api_page(api, url)
    assert first["page"] == 1 and first["previous"] is None and first["total"] == len(expected)
    assert first["total_is_lower_bound"] is False
    pages, body = [first], first
    while body["next"] is not None:
        body = api_page(api, f"{url}&after={body['next']}")
        assert body["page"] is None and body["total"] == len(expected) and body["previous"] is not None
        pages.append(body)
    forward = [item["ern"] for page in pages for item in page["items"]]
    assert forward == expected
    assert all(1 <= len(page["items"]) <= 3 for page in pages)

    # Back from the last page, following `previous` until there is none.
    backward, body = [pages[-1]["items"]], pages[-1]
    while body["previous"] is not None:
        body = api_page(api, f"{url}&before={body['previous']}")
        assert body["next"] is not None
        backward.insert(0, body["items"])
    assert [item["ern"] for items in backward for item in items] == expected


def test_api_page_numbers_still_work_and_give_cursors_too(api: Api, case_id: uuid.UUID) -> None:
    url = f"/cases/{case_id}/evidence?per_page=5"
    second = api_page(api, f"{url}&page=2")
    assert [i["ern"] for i in second["items"]] == EVERYTHING[5:10] and second["page"] == 2
    # From a page by number on, a client can continue by cursor, either way.
    assert [i["ern"] for i in api_page(api, f"{url}&after={second['next']}")["items"]] == EVERYTHING[10:15]
    assert [i["ern"] for i in api_page(api, f"{url}&before={second['previous']}")["items"]] == EVERYTHING[:5]
    assert api_page(api, f"{url}&page=4")["next"] is None
    assert api_page(api, f"{url}&page=9")["items"] == []


def test_api_refuses_a_cursor_that_is_not_its_own(api: Api, case_id: uuid.UUID) -> None:
    url = f"/cases/{case_id}/evidence?per_page=3"
    real = api_page(api, url)["next"]
    tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
    for query in (
        "after=garbage",
        "after=",
        f"after={tampered}",
        f"before={tampered}",
        "after=" + "x" * 5000,
        "after=%F0%9F%92%A3",
        f"after={real}&before={real}",
        f"after={real}&page=2",
    ):
        response = api.get(f"{url}&{query}")
        assert response.status_code == 422, (query, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed" and error["message"], query
    message = api.get(f"{url}&after=garbage").get_json()["error"]["message"]
    assert "cursor" in message and "first page" in message


def test_another_cases_cursor_shows_nothing_of_that_case(
    client: FlaskClient, api: Api, case_id: uuid.UUID, investigator: Account, make_case: Callable[..., uuid.UUID]
) -> None:
    other = make_case(investigator, "OTH")
    upload(client, other, 2, 100, "public")
    cursor = api_page(api, f"/cases/{case_id}/evidence?per_page=1")["next"]  # just after PAG-00001
    body = api_page(api, f"/cases/{other}/evidence?after={cursor}")
    # Only a position: the other case's own items after number 1, and not one item of the first case.
    assert [i["ern"] for i in body["items"]] == ["OTH-00002"]
    assert {i["case_id"] for i in body["items"]} == {str(other)}


def test_api_total_is_a_lower_bound_past_the_cap(api: Api, case_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "COUNT_CAP", 10)
    body = api_page(api, f"/cases/{case_id}/evidence")
    assert body["total"] == 10 and body["total_is_lower_bound"] is True and len(body["items"]) == 17
    body = api_page(api, f"/cases/{case_id}/evidence?classification=confidential")
    assert body["total"] == 10 and body["total_is_lower_bound"] is False


def test_api_queries_per_page_do_not_depend_on_the_depth(app: Flask, api: Api, case_id: uuid.UUID) -> None:
    url = f"/cases/{case_id}/evidence?per_page=3"

    def statements(query: str) -> int:
        api.get(url + query)  # warm up
        with counting_queries(app) as found:
            assert api.get(url + query).status_code == 200
        return len(found)

    first = api_page(api, url)
    deep = api_page(api, f"{url}&page=5")
    assert statements("") == statements(f"&after={first['next']}") == statements(f"&before={deep['previous']}")


def test_openapi_documents_the_cursor(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/cases/{id}/evidence"]["get"]
    query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
    assert {"page", "per_page", "after", "before"} <= query
    envelope = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert {"next", "previous", "total_is_lower_bound"} <= set(envelope)
    assert "null" in envelope["next"]["type"] and "null" in envelope["page"]["type"]
    assert "422" in op["responses"]
    # Every other list says whether its total is exact too, and takes no cursor it does not honour.
    jobs = spec["paths"]["/jobs"]["get"]
    assert "total_is_lower_bound" in jobs["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert "after" not in {p["name"] for p in jobs["parameters"]}


# --- the page ----------------------------------------------------------------------------------------------


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize("filtered", [False, True])
def test_page_links_walk_the_filtered_list_once_in_order_both_ways(
    client: FlaskClient, case_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch, filtered: bool
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 4)
    url = f"/cases/{case_id}/evidence" + ("?classification=confidential" if filtered else "")
    expected = CONFIDENTIAL if filtered else EVERYTHING

    html = client.get(url).get_data(as_text=True)
    assert link(html, "prev") is None and link(html, "first") is None
    assert f"({len(expected)})" in html
    seen = [ERN.findall(html)]
    while (following := link(html, "next")) is not None:
        assert ("classification=confidential" in following) == filtered and "page=" not in following
        html = client.get(following).get_data(as_text=True)
        seen.append(ERN.findall(html))
    assert [ern for page in seen for ern in page] == expected
    assert link(html, "last") is None and link(html, "first") is not None

    # From the first page's "Last", back with "Previous" to the start.
    last = link(client.get(url).get_data(as_text=True), "last")
    assert last is not None
    html = client.get(last).get_data(as_text=True)
    back = [ERN.findall(html)]
    assert back[0] == expected[-4:]
    while (previous := link(html, "prev")) is not None:
        assert ("classification=confidential" in previous) == filtered
        html = client.get(previous).get_data(as_text=True)
        back.insert(0, ERN.findall(html))
    assert [ern for page in back for ern in page] == expected


def test_page_with_a_bad_cursor_says_so_and_shows_the_first_page(client: FlaskClient, case_id: uuid.UUID) -> None:
    for query in ("after=garbage", "before=nonsense.x", "after=a&before=b"):
        response = client.get(f"/cases/{case_id}/evidence?{query}")
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert "That page link is not valid" in html, query
        assert ERN.findall(html)[:1] == ["PAG-00001"], query


def test_page_says_more_than_the_cap(client: FlaskClient, case_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paging, "COUNT_CAP", 10)
    html = client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    assert "(more than 10)" in html
    assert "(7)" in client.get(f"/cases/{case_id}/evidence?classification=public").get_data(as_text=True)


def test_old_page_number_links_still_open_their_page(
    client: FlaskClient, case_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 5)
    html = client.get(f"/cases/{case_id}/evidence?page=2").get_data(as_text=True)
    assert ERN.findall(html) == EVERYTHING[5:10] and link(html, "prev") and link(html, "next")


def test_page_queries_do_not_depend_on_the_depth(
    app: Flask, client: FlaskClient, case_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PER_PAGE", 4)
    url = f"/cases/{case_id}/evidence"
    first = client.get(url).get_data(as_text=True)
    deep = client.get(link(first, "last") or "").get_data(as_text=True)

    def statements(target: str) -> int:
        client.get(target)  # warm up
        with counting_queries(app) as found:
            assert client.get(target).status_code == 200
        return len(found)

    assert statements(url) == statements(link(first, "next") or "") == statements(link(deep, "prev") or "")
