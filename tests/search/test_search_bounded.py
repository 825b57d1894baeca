"""A word found everywhere: search lists its first page in the listing's order (incidents, actors, evidence,
witnesses; newest first) and counts no further than the cap, saying "more than" in the API and on the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from search_support import Team
from support import login


def test_the_listing_order_and_a_bounded_total(
    client: FlaskClient, team: Callable[..., Team], monkeypatch: pytest.MonkeyPatch
) -> None:
    t = team("BND")
    t.evidence("Kaniyat photo one")
    t.incident("Kaniyat raid, first")
    t.actor("Kaniyat militia", kind="armed_group")
    t.incident("Kaniyat raid, second")
    body = t.search("kaniyat", per_page=10)
    assert [(i["object_type"], i["title"]) for i in body["items"]] == [
        ("incident", "Kaniyat raid, second"),  # newest of the heaviest type first
        ("incident", "Kaniyat raid, first"),
        ("actor", "Kaniyat militia"),
        ("evidence", body["items"][3]["title"]),
    ]
    assert len(body["items"]) == body["total"] == 4 and body["total_is_lower_bound"] is False

    monkeypatch.setattr("casefile.search.services.SEARCH_COUNT_CAP", 3)
    capped = t.search("kaniyat", per_page=2)
    assert capped["total"] == 3 and capped["total_is_lower_bound"] is True and len(capped["items"]) == 2
    login(client, t.account)
    page = client.get("/search?q=kaniyat").get_data(as_text=True)
    assert 'id="result-count">(more than 3)' in page
