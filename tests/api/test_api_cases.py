"""The JSON API of cases, members and incidents (DESIGN §8).

Every JSON response these tests receive is checked against the schema the route declares in
casefile.api.core.OPERATIONS (the same declarations the OpenAPI document is built from), so the published
spec and the real responses cannot drift apart unnoticed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from casefile.api.schemas import ERROR, page_of
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.cases.models import Case, Incident
from casefile.db import session_scope

from support import Account, Api, login, operation_for, validate

PREFIX = "/api/v1"
# Dangerous text that must come back exactly as data, never as markup.
SCRIPT = "</textarea><script>alert(\"x\")</script><img src=x onerror='alert(1)'> & <b>bold</b>"


# --- response checking ------------------------------------------------------------------------------


def checked(app: Flask, method: str, path: str, response: Any) -> Any:
    """Assert the response is JSON matching the declared schema of its route (or the error schema)."""
    op = operation_for(app, method, path)
    assert response.is_json, (method, path, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    if response.status_code >= 400:
        assert response.status_code in op.errors, f"{method} {op.path}: {response.status_code} not declared"
        validate(ERROR, body)
    else:
        assert response.status_code == op.status, f"{method} {op.path}: {response.status_code} != {op.status}"
        assert op.response is not None
        validate(page_of(op.response) if op.paginated else op.response, body)
    return response


class CheckedApi:
    """support.Api whose every response is validated against the route's declared schema."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.app = api.client.application

    def get(self, path: str, **kw: Any) -> Any:
        return checked(self.app, "GET", path, self.api.get(path, **kw))

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return checked(self.app, "POST", path, self.api.post(path, json, **kw))

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return checked(self.app, "PATCH", path, self.api.patch(path, json, **kw))


ApiFactory = Callable[..., tuple[CheckedApi, Account]]


@pytest.fixture
def api(api_for: Callable[..., tuple[Api, Account]]) -> ApiFactory:
    def factory(role: str = "investigator", account: Account | None = None) -> tuple[CheckedApi, Account]:
        raw, acc = api_for(role, account)
        return CheckedApi(raw), acc

    return factory


def error_of(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return error


def new_case(client: CheckedApi, reference: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/cases", {"reference": reference, "title": f"Case {reference}", **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def new_incident(client: CheckedApi, case_id: str, **fields: Any) -> dict[str, Any]:
    response = client.post(f"/cases/{case_id}/incidents", {"title": "An incident", **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


# --- authentication ---------------------------------------------------------------------------------


def test_no_token_is_401_json(app: Flask, client: FlaskClient) -> None:
    for method, path in (("GET", "/cases"), ("POST", "/cases"), ("GET", f"/cases/{uuid.uuid4()}")):
        response = client.open(PREFIX + path, method=method, json={"reference": "AB", "title": "t"})
        checked(app, method, path, response)
        assert error_of(response, 401)["code"] == "unauthorized"


FORGED_HEADERS = {
    "forged": lambda: "Bearer cf_" + secrets.token_urlsafe(32),
    "no-prefix": lambda: "Bearer " + secrets.token_urlsafe(32),
    "empty": lambda: "Bearer ",
    "basic": lambda: "Basic dXNlcjpwYXNz",
    "oversized": lambda: "Bearer cf_" + "a" * 500,
}


@pytest.mark.parametrize("kind", sorted(FORGED_HEADERS))
def test_forged_or_malformed_token_is_401(app: Flask, client: FlaskClient, kind: str) -> None:
    response = client.get(PREFIX + "/cases", headers={"Authorization": FORGED_HEADERS[kind]()})
    checked(app, "GET", "/cases", response)
    error_of(response, 401, "unauthorized")


def test_token_of_deactivated_user_is_401(app: Flask, api: ApiFactory) -> None:
    client, account = api("investigator")
    assert client.get("/cases").status_code == 200
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        auth_services.set_active(s, user, False)
    error_of(client.get("/cases"), 401, "unauthorized")
    # Reactivating the account does not bring back its tokens: they were revoked.
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        auth_services.set_active(s, user, True)
    error_of(client.get("/cases"), 401, "unauthorized")


def test_session_cookie_does_not_authenticate_the_api(
    app: Flask, client: FlaskClient, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    account = make_user("investigator")
    case_id = make_case(account, "COOKIE")
    login(client, account)
    assert client.get(f"/cases/{case_id}").status_code == 200  # the cookie works for the web UI
    for method, path in (("GET", "/cases"), ("GET", f"/cases/{case_id}"), ("POST", "/cases")):
        response = client.open(PREFIX + path, method=method, json={"reference": "CSRF", "title": "forged"})
        checked(app, method, path, response)
        error_of(response, 401, "unauthorized")
    with app.app_context(), session_scope() as s:
        assert s.query(Case).filter_by(reference="CSRF").count() == 0


# --- cases --------------------------------------------------------------------------------------------


def test_create_case(api: ApiFactory) -> None:
    client, _ = api("investigator")
    response = client.post(
        "/cases", {"reference": "TRH-2", "title": "Tarhouna", "summary": "Mass graves.", "situation": "Libya"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert {k: body[k] for k in ("reference", "title", "summary", "situation", "status")} == {
        "reference": "TRH-2",
        "title": "Tarhouna",
        "summary": "Mass graves.",
        "situation": "Libya",
        "status": "open",
    }
    uuid.UUID(body["id"])
    assert datetime.fromisoformat(body["created_at"]).utcoffset() is not None
    assert client.get(f"/cases/{body['id']}").get_json() == body
    # The creator became a member and sees it in their list.
    assert [c["id"] for c in client.get("/cases").get_json()["items"]] == [body["id"]]
    # Only required fields: the optional ones default to empty text.
    minimal = new_case(client, "MIN")
    assert minimal["summary"] == "" and minimal["situation"] == ""


@pytest.mark.parametrize("reference", ["trh", "T RH", "A", "ABCDEFGHIJKLMNOPQ", "TRH/1", "", 12])
def test_invalid_reference_is_422_with_field(api: ApiFactory, reference: Any) -> None:
    client, _ = api("investigator")
    error = error_of(client.post("/cases", {"reference": reference, "title": "t"}), 422, "validation_failed")
    assert "reference" in error["fields"]
    assert client.get("/cases").get_json()["total"] == 0


def test_case_validation_errors(api: ApiFactory) -> None:
    client, _ = api("investigator")
    new_case(client, "DUP")
    error = error_of(client.post("/cases", {"reference": "DUP", "title": "again"}), 409, "conflict")
    assert "DUP" in error["message"]
    unknown = error_of(client.post("/cases", {"reference": "UNK", "title": "t", "owner": "me"}), 422)
    assert "owner" in unknown["message"] and "owner" in unknown["fields"]
    missing_title = error_of(client.post("/cases", {"reference": "NOTITLE"}), 422)
    assert "title" in missing_title["fields"]
    too_long = error_of(client.post("/cases", {"reference": "LONG", "title": "x" * 301}), 422)
    assert "title" in too_long["fields"]
    assert [c["reference"] for c in client.get("/cases").get_json()["items"]] == ["DUP"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("reference=NJ&title=t", "application/x-www-form-urlencoded"),
        ('{"reference": "NJ", "title": ', "application/json"),
        ('["reference", "NJ"]', "application/json"),
        ('"NJ"', "application/json"),
        ("", "application/json"),
        ('{"reference": "NJ", "title": "t"}', "text/plain"),
    ],
)
def test_non_json_body_is_422(api: ApiFactory, data: str, content_type: str) -> None:
    client, _ = api("investigator")
    error = error_of(client.post("/cases", data=data, content_type=content_type), 422, "validation_failed")
    assert "JSON" in error["message"]
    assert client.get("/cases").get_json()["total"] == 0


def test_reviewer_cannot_create_a_case(api: ApiFactory) -> None:
    client, _ = api("reviewer")
    error_of(client.post("/cases", {"reference": "REV", "title": "t"}), 403, "forbidden")
    assert client.get("/cases").get_json()["total"] == 0


def test_case_list_is_paginated_and_only_mine(
    api: ApiFactory, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID]
) -> None:
    client, _ = api("investigator")
    for reference in ("CC", "AA", "BB"):
        new_case(client, reference)
    make_case(make_user("investigator"), "OTHER")  # someone else's case

    everything = client.get("/cases").get_json()
    assert [c["reference"] for c in everything["items"]] == ["AA", "BB", "CC"]
    assert everything["total"] == 3 and everything["page"] == 1

    first = client.get("/cases?per_page=2").get_json()
    assert [c["reference"] for c in first["items"]] == ["AA", "BB"]
    assert (first["page"], first["per_page"], first["total"]) == (1, 2, 3)
    second = client.get("/cases?page=2&per_page=2").get_json()
    assert [c["reference"] for c in second["items"]] == ["CC"]
    assert (second["page"], second["per_page"], second["total"]) == (2, 2, 3)
    beyond = client.get("/cases?page=9&per_page=2").get_json()
    assert beyond["items"] == [] and beyond["total"] == 3
    assert client.get("/cases?per_page=100000").get_json()["per_page"] == 200  # capped

    for query in ("page=0", "per_page=abc", "per_page=0", "page=-1", "page=1.5"):
        error = error_of(client.get(f"/cases?{query}"), 422, "validation_failed")
        assert query.split("=")[0] in error["fields"]


def test_get_and_patch_case(api: ApiFactory) -> None:
    client, _ = api("investigator")
    case = new_case(client, "PAT")
    response = client.patch(f"/cases/{case['id']}", {"title": "New title", "summary": "Text", "status": "referred"})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["summary"], body["status"], body["reference"]) == (
        "New title",
        "Text",
        "referred",
        "PAT",
    )
    assert client.get(f"/cases/{case['id']}").get_json() == body

    # The reference is immutable: it is part of every ERN.
    error_of(client.patch(f"/cases/{case['id']}", {"reference": "NEW"}), 422)
    error_of(client.patch(f"/cases/{case['id']}", {"reference": "PAT", "title": "x"}), 422)
    error_of(client.patch(f"/cases/{case['id']}", {"title": ""}), 422)
    error_of(client.patch(f"/cases/{case['id']}", {"status": "deleted"}), 422)
    error_of(client.patch(f"/cases/{case['id']}", data="nope", content_type="text/plain"), 422)
    assert client.get(f"/cases/{case['id']}").get_json() == body


def test_non_member_gets_404_everywhere(api: ApiFactory) -> None:
    owner, _ = api("investigator")
    case = new_case(owner, "PRIV")
    incident = new_incident(owner, case["id"])
    for role in ("investigator", "admin"):  # admins read case content only as members
        stranger, _ = api(role)
        error_of(stranger.get(f"/cases/{case['id']}"), 404, "not_found")
        error_of(stranger.patch(f"/cases/{case['id']}", {"title": "mine"}), 404, "not_found")
        error_of(stranger.get(f"/cases/{case['id']}/incidents"), 404, "not_found")
        error_of(stranger.post(f"/cases/{case['id']}/incidents", {"title": "x"}), 404, "not_found")
        error_of(stranger.get(f"/incidents/{incident['id']}"), 404, "not_found")
        error_of(stranger.patch(f"/incidents/{incident['id']}", {"title": "x"}), 404, "not_found")
        assert stranger.get("/cases").get_json()["total"] == 0
    # A random or malformed id looks exactly like someone else's case.
    error_of(owner.get(f"/cases/{uuid.uuid4()}"), 404, "not_found")
    error_of(owner.get("/cases/not-a-uuid"), 404, "not_found")
    error_of(owner.get("/incidents/42"), 404, "not_found")
    assert owner.get(f"/cases/{case['id']}").get_json()["title"] == case["title"]


def test_reviewer_member_reads_but_cannot_write(api: ApiFactory, add_member: Callable[..., None]) -> None:
    owner, _ = api("investigator")
    case = new_case(owner, "RO")
    incident = new_incident(owner, case["id"])
    reviewer, account = api("reviewer")
    add_member(case["id"], account, "reviewer")
    assert reviewer.get(f"/cases/{case['id']}").status_code == 200
    assert reviewer.get(f"/cases/{case['id']}/incidents").get_json()["total"] == 1
    error_of(reviewer.patch(f"/cases/{case['id']}", {"title": "changed"}), 403, "forbidden")
    error_of(reviewer.post(f"/cases/{case['id']}/incidents", {"title": "x"}), 403, "forbidden")
    error_of(reviewer.patch(f"/incidents/{incident['id']}", {"title": "x"}), 403, "forbidden")
    assert owner.get(f"/cases/{case['id']}").get_json()["title"] == case["title"]


# --- members ------------------------------------------------------------------------------------------


def test_admin_adds_members(api: ApiFactory, make_user: Callable[..., Account]) -> None:
    owner, _ = api("investigator")
    case = new_case(owner, "MEM")
    admin, _ = api("admin")
    newcomer_account = make_user("legal")
    newcomer, _ = api(account=newcomer_account)
    error_of(newcomer.get(f"/cases/{case['id']}"), 404)

    response = admin.post(
        f"/cases/{case['id']}/members",
        {"email": newcomer_account.email.upper(), "role": "legal", "can_view_identities": True},
    )
    assert response.status_code == 201
    assert response.get_json() == {
        "user_id": str(newcomer_account.id),
        "email": newcomer_account.email,
        "name": newcomer_account.email.split("@")[0],
        "role": "legal",
        "can_view_identities": True,
        "lead": False,
    }
    assert newcomer.get(f"/cases/{case['id']}").get_json()["reference"] == "MEM"
    assert [c["reference"] for c in newcomer.get("/cases").get_json()["items"]] == ["MEM"]
    # The admin manages the membership without becoming a member.
    error_of(admin.get(f"/cases/{case['id']}"), 404)

    # Changing the role of an existing member: now read-only.
    again = admin.post(f"/cases/{case['id']}/members", {"email": newcomer_account.email, "role": "reviewer"})
    assert again.status_code == 201
    assert again.get_json()["role"] == "reviewer" and again.get_json()["can_view_identities"] is False
    error_of(newcomer.patch(f"/cases/{case['id']}", {"title": "x"}), 403)


def test_only_admins_and_leads_add_members(api: ApiFactory, make_user: Callable[..., Account]) -> None:
    owner, _ = api("investigator")
    case = new_case(owner, "ONLY")
    outsider = make_user("investigator")
    member, member_account = api("investigator")
    # The creator leads the case (tests/cases/test_case_leads.py); a member who is not a lead may not add anyone.
    assert (
        owner.post(f"/cases/{case['id']}/members", {"email": member_account.email, "role": "legal"}).status_code == 201
    )
    error_of(member.post(f"/cases/{case['id']}/members", {"email": outsider.email, "role": "investigator"}), 403)
    legal, legal_account = api("legal")
    error_of(legal.post(f"/cases/{case['id']}/members", {"email": legal_account.email, "role": "legal"}), 404)
    outsider_api, _ = api(account=outsider)
    error_of(outsider_api.get(f"/cases/{case['id']}"), 404)


def test_member_errors(api: ApiFactory, make_user: Callable[..., Account]) -> None:
    owner, _ = api("investigator")
    case = new_case(owner, "MERR")
    admin, _ = api("admin")
    someone = make_user("investigator")
    members = f"/cases/{case['id']}/members"
    # An unknown email is reported as not found (a 4xx JSON error, never a 500).
    error = error_of(admin.post(members, {"email": "nobody@example.org", "role": "investigator"}), 404, "not_found")
    assert "nobody@example.org" in error["message"]
    assert "role" in error_of(admin.post(members, {"email": someone.email, "role": "owner"}), 422)["fields"]
    assert "role" in error_of(admin.post(members, {"email": someone.email, "role": "admin"}), 422)["fields"]
    assert "role" in error_of(admin.post(members, {"email": someone.email}), 422)["fields"]
    assert "email" in error_of(admin.post(members, {"role": "investigator"}), 422)["fields"]
    flag = {"email": someone.email, "role": "investigator", "can_view_identities": "yes"}
    assert "can_view_identities" in error_of(admin.post(members, flag), 422)["fields"]
    assert "x" in error_of(admin.post(members, {"email": someone.email, "role": "legal", "x": 1}), 422)["fields"]
    error_of(admin.post(f"/cases/{uuid.uuid4()}/members", {"email": someone.email, "role": "legal"}), 404)
    someone_api, _ = api(account=someone)
    error_of(someone_api.get(f"/cases/{case['id']}"), 404)


def test_member_list_is_paginated(api: ApiFactory, add_member: Callable[..., None], make_user) -> None:
    """DESIGN §8: lists are paginated with ?page= and ?per_page=, members included."""
    owner, _ = api("investigator")
    case = new_case(owner, "MLIST")
    for _ in range(2):
        add_member(case["id"], make_user("investigator"))
    everyone = owner.get(f"/cases/{case['id']}/members").get_json()
    assert everyone["total"] == 3 and len(everyone["items"]) == 3
    first = owner.get(f"/cases/{case['id']}/members?per_page=2").get_json()
    assert (len(first["items"]), first["page"], first["per_page"], first["total"]) == (2, 1, 2, 3)
    second = owner.get(f"/cases/{case['id']}/members?page=2&per_page=2").get_json()
    assert (len(second["items"]), second["page"], second["total"]) == (1, 2, 3)
    error_of(owner.get(f"/cases/{case['id']}/members?page=0"), 422)


# --- incidents ----------------------------------------------------------------------------------------

FULL_INCIDENT = {
    "title": "Discovery of mass graves",
    "description": "At least eleven graves were reported.\nExhumations continued for months.",
    "start_date": "2020-06-01",
    "end_date": "2020-06-30",
    "date_precision": "month",
    "place_name": "Tarhouna (ترهونة), Libya",
    "latitude": 32.435,
    "longitude": 13.634,
    "location_precision": "locality",
    "violation_types": ["killing", "mass_grave"],
    "victim_count": 120,
    "victim_count_source": "UN Fact-Finding Mission",
}


def test_create_incident_with_all_fields(api: ApiFactory) -> None:
    client, _ = api("investigator")
    case = new_case(client, "INC")
    body = new_incident(client, case["id"], **FULL_INCIDENT)
    assert {k: body[k] for k in FULL_INCIDENT} == FULL_INCIDENT
    assert body["case_id"] == case["id"]
    assert body["date_display"] == "June 2020"  # month precision: no made-up day
    assert client.get(f"/incidents/{body['id']}").get_json() == body
    listed = client.get(f"/cases/{case['id']}/incidents").get_json()
    assert listed["items"] == [body] and listed["total"] == 1
    # Only a title is required; the rest has honest defaults.
    minimal = new_incident(client, case["id"], title="Undated")
    assert minimal["start_date"] is None and minimal["latitude"] is None and minimal["violation_types"] == []
    assert minimal["date_display"] == "date unknown"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"start_date": "2020-06-05", "end_date": "2020-06-01"}, "end_date"),
        ({"latitude": 91, "longitude": 13}, "latitude"),
        ({"latitude": -90.5, "longitude": 13}, "latitude"),
        ({"latitude": 32, "longitude": 181}, "longitude"),
        ({"latitude": 32}, "longitude"),
        ({"violation_types": ["killing", "jaywalking"]}, "violation_types"),
        ({"start_date": "5 June 2020"}, "start_date"),
        ({"start_date": "2020-02-30"}, "start_date"),
        ({"date_precision": "week"}, "date_precision"),
        ({"location_precision": "street"}, "location_precision"),
        ({"victim_count": -1}, "victim_count"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"perpetrator": "x"}, "perpetrator"),
    ],
)
def test_invalid_incident_is_422(api: ApiFactory, fields: dict[str, Any], field: str) -> None:
    client, _ = api("investigator")
    case = new_case(client, "BAD")
    response = client.post(f"/cases/{case['id']}/incidents", {"title": "x", **fields})
    error = error_of(response, 422, "validation_failed")
    assert field in error["fields"], error
    assert client.get(f"/cases/{case['id']}/incidents").get_json()["total"] == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"victim_count": 1.5}, "victim_count", id="fractional-count"),
        pytest.param({"victim_count": True}, "victim_count", id="boolean-count"),
        pytest.param({"latitude": True, "longitude": 13}, "latitude", id="boolean-latitude"),
    ],
)
def test_numbers_are_not_silently_coerced(api: ApiFactory, fields: dict[str, Any], field: str) -> None:
    """The declared schema says integer/number: 1.5 victims must not be stored as 1, nor true as 1."""
    client, _ = api("investigator")
    case = new_case(client, "NUM")
    error = error_of(client.post(f"/cases/{case['id']}/incidents", {"title": "x", **fields}), 422)
    assert field in error["fields"], error
    assert client.get(f"/cases/{case['id']}/incidents").get_json()["total"] == 0


def test_incidents_sorted_by_start_date_undated_last(api: ApiFactory) -> None:
    client, _ = api("investigator")
    case = new_case(client, "SORT")
    for title, start in (
        ("Undated A", None),
        ("2020", "2020-06-01"),
        ("2015", "2015-01-01"),
        ("Undated B", None),
        ("2019", "2019-03-01"),
    ):
        new_incident(client, case["id"], title=title, start_date=start)
    listed = client.get(f"/cases/{case['id']}/incidents").get_json()
    assert [i["title"] for i in listed["items"]] == ["2015", "2019", "2020", "Undated A", "Undated B"]
    page = client.get(f"/cases/{case['id']}/incidents?page=2&per_page=2").get_json()
    assert [i["title"] for i in page["items"]] == ["2020", "Undated A"] and page["total"] == 5
    error_of(client.get(f"/cases/{case['id']}/incidents?per_page=abc"), 422)


def test_incident_of_another_case_is_404(api: ApiFactory) -> None:
    alice, _ = api("investigator")
    bob, _ = api("investigator")
    alices = new_incident(alice, new_case(alice, "ALICE")["id"])
    new_incident(bob, new_case(bob, "BOB")["id"])
    error_of(bob.get(f"/incidents/{alices['id']}"), 404, "not_found")
    error_of(bob.patch(f"/incidents/{alices['id']}", {"title": "taken"}), 404, "not_found")
    error_of(bob.get(f"/incidents/{uuid.uuid4()}"), 404, "not_found")
    assert alice.get(f"/incidents/{alices['id']}").get_json()["title"] == alices["title"]


def test_patch_incident(api: ApiFactory) -> None:
    client, _ = api("investigator")
    case = new_case(client, "PINC")
    incident = new_incident(client, case["id"], **FULL_INCIDENT)
    url = f"/incidents/{incident['id']}"

    response = client.patch(url, {"title": "Renamed", "start_date": "2020-06-14", "end_date": None})
    assert response.status_code == 200
    body = response.get_json()
    assert (body["title"], body["start_date"], body["end_date"]) == ("Renamed", "2020-06-14", None)
    assert body["date_display"] == "June 2020"  # still month precision: the day stays hidden
    assert body["description"] == FULL_INCIDENT["description"]  # untouched fields are kept

    body = client.patch(url, {"date_precision": "day"}).get_json()
    assert body["date_display"] == "14 June 2020"
    body = client.patch(url, {"date_precision": "year"}).get_json()
    assert body["date_display"] == "2020"
    body = client.patch(url, {"latitude": None, "longitude": None, "violation_types": []}).get_json()
    assert (body["latitude"], body["longitude"], body["violation_types"]) == (None, None, [])

    error_of(client.patch(url, {"end_date": "2020-01-01"}), 422)
    error_of(client.patch(url, {"case_id": str(uuid.uuid4())}), 422)
    assert client.get(url).get_json() == body


# --- script in every text field -----------------------------------------------------------------------


def test_script_round_trips_as_data(
    app: Flask, client: FlaskClient, api: ApiFactory, make_user: Callable[..., Account]
) -> None:
    account = make_user("investigator")
    api_client, _ = api(account=account)
    case_response = api_client.post(
        "/cases", {"reference": "XSS", "title": SCRIPT, "summary": SCRIPT, "situation": SCRIPT}
    )
    assert case_response.status_code == 201
    assert case_response.mimetype == "application/json"
    assert case_response.headers["X-Content-Type-Options"] == "nosniff"
    case = case_response.get_json()
    assert case["title"] == case["summary"] == case["situation"] == SCRIPT

    text_fields = ("title", "description", "place_name", "victim_count_source")
    incident = new_incident(api_client, case["id"], **dict.fromkeys(text_fields, SCRIPT))
    assert all(incident[f] == SCRIPT for f in text_fields)
    fetched = api_client.get(f"/incidents/{incident['id']}")
    assert fetched.mimetype == "application/json"
    assert all(fetched.get_json()[f] == SCRIPT for f in text_fields)

    # Stored exactly: no sanitising, no double escaping in the database.
    with app.app_context(), session_scope() as s:
        stored_case = s.get(Case, uuid.UUID(case["id"]))
        stored = s.get(Incident, uuid.UUID(incident["id"]))
        assert stored_case is not None and stored is not None
        assert (stored_case.title, stored_case.summary, stored_case.situation) == (SCRIPT,) * 3
        assert all(getattr(stored, f) == SCRIPT for f in text_fields)

    # The HTML pages show it as text.
    login(client, account)
    for page in (f"/incidents/{incident['id']}", f"/cases/{case['id']}"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert SCRIPT not in html
        assert "<script>alert" not in html and "onerror='alert" not in html and "<b>bold</b>" not in html
        assert str(escape(SCRIPT)) in html
