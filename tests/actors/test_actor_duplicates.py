"""Likely duplicate actors (issue 12, issue 22 item 4): one rule for the page and the API. An actor that reads like
one already in the case is created only when the creator confirms it is a different actor; otherwise nothing is
created and the answer is 409 with the candidates. An actor's possible duplicates are in the API as on its page."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.actors.schemas import ACTOR

from support import Api, login, validate


def _case(api: Api, reference: str = "DUP") -> str:
    return api.post("/cases", json={"reference": reference, "title": "Duplicates"}).get_json()["id"]


def _post(api: Api, cid: str, name: str, **extra: Any) -> Any:
    return api.post(f"/cases/{cid}/actors", json={"kind": "person", "name": name, **extra})


def _names(api: Api, cid: str) -> list[str]:
    return sorted(a["name"] for a in api.get(f"/cases/{cid}/actors").get_json()["items"])


@pytest.fixture
def kani(api_for) -> tuple[Api, Any, str, dict[str, Any]]:
    api, account = api_for("investigator")
    cid = _case(api)
    created = _post(api, cid, "Mohamed al-Kani", aliases=["al-Kana"])
    assert created.status_code == 201
    assert created.get_json()["possible_duplicates"] == []
    return api, account, cid, created.get_json()


def test_api_refuses_a_likely_duplicate_without_confirmation(kani) -> None:
    api, _, cid, first = kani
    refused = _post(api, cid, "محمد الكاني")
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "likely_duplicates"
    assert [c["id"] for c in error["possible_duplicates"]] == [first["id"]]
    assert error["possible_duplicates"][0]["name"] == "Mohamed al-Kani"
    assert _names(api, cid) == ["Mohamed al-Kani"], "nothing may be created on a 409"
    # An explicit "no" is the same as not saying.
    assert _post(api, cid, "محمد الكاني", confirm_new=False).status_code == 409
    assert _names(api, cid) == ["Mohamed al-Kani"]


def test_api_creates_a_confirmed_different_actor_and_reports_the_candidates(kani) -> None:
    api, _, cid, first = kani
    created = _post(api, cid, "محمد الكاني", confirm_new=True)
    assert created.status_code == 201
    body = created.get_json()
    validate(ACTOR, body)
    assert [c["id"] for c in body["possible_duplicates"]] == [first["id"]]
    assert "confirm_new" not in body
    assert _names(api, cid) == sorted(["Mohamed al-Kani", "محمد الكاني"])


def test_an_unrelated_actor_needs_no_confirmation(kani) -> None:
    api, _, cid, _ = kani
    created = _post(api, cid, "Khalifa Haftar")
    assert created.status_code == 201
    assert created.get_json()["possible_duplicates"] == []


@pytest.mark.parametrize("value", ["yes", 1, "true", [], {}])
def test_confirmation_must_be_a_boolean(kani, value: Any) -> None:
    api, _, cid, _ = kani
    response = _post(api, cid, "محمد الكاني", confirm_new=value)
    assert response.status_code == 422, value
    assert "confirm_new" in response.get_json()["error"]["fields"]
    assert _names(api, cid) == ["Mohamed al-Kani"]


def test_get_actor_lists_its_possible_duplicates_as_its_page_does(app: Flask, client: FlaskClient, kani) -> None:
    """Creating محمد الكاني proposes al-Kani; afterwards al-Kani's own record must name محمد الكاني too."""
    api, account, cid, first = kani
    second = _post(api, cid, "محمد الكاني", confirm_new=True).get_json()
    body = api.get(f"/actors/{first['id']}").get_json()
    validate(ACTOR, body)
    assert [(c["id"], c["name"]) for c in body["possible_duplicates"]] == [(second["id"], "محمد الكاني")]
    assert body["possible_duplicates"][0]["score"] >= 0.8
    assert [c["id"] for c in api.get(f"/actors/{second['id']}").get_json()["possible_duplicates"]] == [first["id"]]
    # The page shows the same candidate.
    login(client, account)
    page = client.get(f"/actors/{first['id']}").get_data(as_text=True)
    assert 'id="possible-duplicates"' in page and "محمد الكاني" in page

    # Once merged, neither lists the other: the duplicate is folded away.
    assert api.post(f"/actors/{first['id']}/merge", json={"duplicate_id": second["id"]}).status_code == 200
    assert api.get(f"/actors/{first['id']}").get_json()["possible_duplicates"] == []
    assert api.get(f"/actors/{second['id']}").get_json()["possible_duplicates"] == []


def test_patch_reports_the_duplicates_a_new_alias_creates(kani) -> None:
    api, _, cid, first = kani
    haftar = _post(api, cid, "Khalifa Haftar").get_json()
    patched = api.patch(f"/actors/{haftar['id']}", json={"aliases": ["Mohammed Al Kani"]})
    assert patched.status_code == 200
    assert [c["id"] for c in patched.get_json()["possible_duplicates"]] == [first["id"]]


def test_the_form_follows_the_same_rule(client: FlaskClient, kani) -> None:
    api, account, cid, first = kani
    login(client, account)
    refused = client.post(f"/cases/{cid}/actors/new", data={"kind": "person", "name": "Mohammed Al Kani"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert 'id="duplicates"' in page and f"/actors/{first['id']}" in page
    assert 'name="confirm_new"' in page  # "create anyway" is offered
    assert _names(api, cid) == ["Mohamed al-Kani"]
    confirmed = client.post(
        f"/cases/{cid}/actors/new", data={"kind": "person", "name": "Mohammed Al Kani", "confirm_new": "y"}
    )
    assert confirmed.status_code == 302
    assert _names(api, cid) == ["Mohamed al-Kani", "Mohammed Al Kani"]


def test_openapi_documents_the_confirmation_and_the_409(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/cases/{id}/actors"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["confirm_new"]["type"] == "boolean"
    assert "409" in operation["responses"]


def test_a_person_is_never_proposed_as_the_duplicate_of_a_body(kani) -> None:
    """al-Kani and his militia, the Kaniyat, read alike but are different kinds of actor: no confirmation needed."""
    api, _, cid, first = kani
    militia = api.post(f"/cases/{cid}/actors", json={"kind": "armed_group", "name": "Kaniyat"})
    assert militia.status_code == 201, militia.get_data(as_text=True)
    assert militia.get_json()["possible_duplicates"] == []
    # Two bodies still are compared: the same militia entered again under another spelling and kind.
    again = api.post(f"/cases/{cid}/actors", json={"kind": "unit", "name": "Kaniyet"})
    assert again.status_code == 409
    assert [c["id"] for c in again.get_json()["error"]["possible_duplicates"]] == [militia.get_json()["id"]]
    assert first["id"] not in [c["id"] for c in again.get_json()["error"]["possible_duplicates"]]
