"""Search never crosses the authorization gate: only cases the user is a member of are searched, counted and
paginated (the filter is inside the SQL), and asking for another case's results is a 404 like any other access."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from casefile.auth.models import User
from casefile.db import session_scope
from casefile.search import services

from search_support import Team, found, search_json
from support import Account, Api, login


@pytest.fixture(autouse=True, params=["full-text index", "listing walk"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here both ways SQLite finds a page (services._sqlite_page): through FTS5, and by walking the listing
    as it does for a word in many documents; the user's cases are the filter either way. (One way on PostgreSQL.)"""
    if request.param == "listing walk":
        monkeypatch.setattr(services, "WALK_FROM", 0)
    return str(request.param)


def populate(t: Team, label: str) -> None:
    t.incident(f"Tarhouna graves {label}")
    t.actor(f"محمد الكاني {label}")
    t.evidence(f"Photo {label}")
    t.witness(f"Secret person {label}")


def test_two_cases_two_users_never_see_each_other(
    app: Flask, team: Callable[..., Team], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    a, b = team("AAA"), team("BBB")
    populate(a, "alpha")
    populate(b, "bravo")
    for mine, theirs, label, other in ((a, b, "alpha", "bravo"), (b, a, "bravo", "alpha")):
        for q in ("tarhuna", "al-Kani", "W-0001", "photo", "ترهونة"):
            body = mine.search(q)
            assert body["total"] == len(body["items"]) == 1, (q, body)
            [item] = body["items"]
            assert item["case_id"] == str(mine.case_id) and item["case_reference"] == mine.reference
            assert other not in item["title"]
        # Filtering by the other team's case is refused as if it did not exist.
        response = mine.api.get("/search", query_string={"q": "tarhuna", "case_id": str(theirs.case_id)})
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
        assert found(mine.search("tarhuna", case_id=str(mine.case_id))) == {("incident", f"Tarhouna graves {label}")}

    outsider, _account = api_for("investigator")
    for q in ("tarhuna", "W-0001", "AAA-00001", "BBB-00001"):
        assert search_json(outsider, q) == {
            "items": [],
            "page": 1,
            "per_page": 50,
            "total": 0,
            "total_is_lower_bound": False,
        }


def test_the_service_filters_inside_the_query(app: Flask, team: Callable[..., Team]) -> None:
    a, b = team("AAA"), team("BBB")
    for i in range(3):
        a.incident(f"Tarhouna {i}")
        b.incident(f"Tarhouna {i}")
    with app.app_context(), session_scope() as s:
        user = s.get(User, a.account.id)
        assert user is not None
        # Counting and paging happen on the member's documents only: page 2 of 2 holds the third of A's three.
        results, total = services.search(s, user, "tarhouna", page=2, per_page=2)
        assert total.value == 3 and not total.lower_bound
        assert [r.case_reference for r in results] == ["AAA"]


def test_a_member_of_both_cases_sees_both_and_can_narrow(
    team: Callable[..., Team], add_member: Callable[..., None]
) -> None:
    a, b = team("AAA"), team("BBB")
    populate(a, "alpha")
    populate(b, "bravo")
    add_member(b.case_id, a.account, "reviewer")
    assert {i["case_reference"] for i in a.search("tarhuna")["items"]} == {"AAA", "BBB"}
    assert {i["case_reference"] for i in a.search("W-0001")["items"]} == {"AAA", "BBB"}
    narrowed = a.search("tarhuna", case_id=str(b.case_id))
    assert [i["case_reference"] for i in narrowed["items"]] == ["BBB"]


def test_pagination(team: Callable[..., Team]) -> None:
    t = team()
    titles = {f"Tarhouna grave {n}" for n in range(7)}
    for title in sorted(titles):
        t.incident(title)
    t.incident("Sirte")
    pages = [t.search("tarhuna", per_page=3, page=n) for n in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert all(p["total"] == 7 and p["per_page"] == 3 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    seen = [item["title"] for p in pages for item in p["items"]]
    assert len(seen) == len(set(seen)) == 7 and set(seen) == titles


def test_pagination_of_the_page(client: Any, monkeypatch: Any, team: Callable[..., Team]) -> None:
    from casefile.search import views

    monkeypatch.setattr(views, "PER_PAGE", 2)
    t = team()
    for n in range(5):
        t.incident(f"Tarhouna grave {n}")
    login(client, t.account)
    seen = []
    for n in (1, 2, 3):
        page = client.get("/search", query_string={"q": "tarhuna", "page": n}).get_data(as_text=True)
        assert f"Page {n} of 3" in page
        seen += [f"Tarhouna grave {i}" for i in range(5) if f"<mark>Tarhouna</mark> grave {i}<" in page]
    assert sorted(seen) == [f"Tarhouna grave {i}" for i in range(5)]
