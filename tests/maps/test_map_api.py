"""The case map over the API: GeoJSON of the case's placed incidents (with the radius of their location precision)
and of its evidence with a GPS position (flagged where it disagrees with a linked incident), filtered by period
and violation type; bad filters are 422 naming the field; only members read it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from casefile.api.schemas import ERROR
from casefile.maps.schemas import CASE_MAP

from support import Account, Api, validate

TARHOUNA = (32.435, 13.634)
World = Any  # tests/maps/conftest.py's World


def features(response: Any) -> dict[str, dict[str, Any]]:
    """The features by title (incidents) or ERN (evidence), after checking the document against its schema."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/geo+json"
    body = response.get_json()
    validate(CASE_MAP, body)
    out = {}
    for feature in body["features"]:
        props = feature["properties"]
        out[props["title"] if props["kind"] == "incident" else props["ern"]] = feature
    return out


def test_the_map_is_geojson_of_placed_incidents_and_evidence_with_gps(world: tuple[World, Api, Account]) -> None:
    w, api, _owner = world
    response = api.get(f"/cases/{w.case_id}/map")
    found = features(response)
    assert set(found) == {"Mass grave at Tarhouna", "Detention near Arezzo", w.flagged["ern"], w.consistent["ern"]}
    assert response.get_json()["unplaced_incidents"] == 1  # "Killing, place unknown": no coordinates

    grave = found["Mass grave at Tarhouna"]
    assert grave["geometry"] == {"type": "Point", "coordinates": [TARHOUNA[1], TARHOUNA[0]]}  # longitude first
    props = grave["properties"]
    assert props["radius_m"] == 25_000 and props["location_precision"] == "locality"
    assert props["url"] == f"/incidents/{w.tarhouna['id']}"
    assert props["violation_types"] == ["mass_grave", "killing"]
    assert props["start_date"] == "2020-06-01" and props["date_precision"] == "month"
    assert found["Detention near Arezzo"]["properties"]["radius_m"] == 1_000

    # DSCN0010's GPS (Tuscany, 2008) under the Tarhouna 2020 incident: flagged, on both counts.
    photo = found[w.flagged["ern"]]
    lon, lat = photo["geometry"]["coordinates"]
    assert abs(lat - 43.467448) < 1e-5 and abs(lon - 11.885127) < 1e-5
    props = photo["properties"]
    assert props["url"] == f"/evidence/{w.flagged['id']}"
    assert props["flagged"] is True
    assert {f["kind"] for f in props["flags"]} == {"position", "time"}
    position = next(f for f in props["flags"] if f["kind"] == "position")
    assert position["incident_id"] == w.tarhouna["id"] and 1150 < position["amount"] < 1300
    assert props["incident_ids"] == [w.tarhouna["id"]]
    assert props["violation_types"] == ["killing", "mass_grave"]  # through its incident
    assert props["date"] == "2008-10-22" and props["date_source"] == "camera"
    # DSCN0021 is where and when its incident was: no flag.
    assert found[w.consistent["ern"]]["properties"]["flagged"] is False
    assert found[w.consistent["ern"]]["properties"]["flags"] == []
    # Canon_40D has no GPS; the other case's photo is the other case's.
    assert w.no_gps["ern"] not in found and w.other_item["ern"] not in found


@pytest.mark.parametrize(
    ("query", "expected", "unplaced"),
    [
        ("violation_type=mass_grave", {"Mass grave at Tarhouna", "flagged"}, 0),
        ("violation_type=killing", {"Mass grave at Tarhouna", "flagged"}, 1),
        ("violation_type=arbitrary_detention", {"Detention near Arezzo", "consistent"}, 0),
        ("violation_type=torture", set(), 0),
        ("from=2020-01-01", {"Mass grave at Tarhouna"}, 1),  # the photos were taken in 2008
        ("to=2008-12-31", {"Detention near Arezzo", "flagged", "consistent"}, 0),
        ("from=2008-10-22&to=2008-10-22", {"Detention near Arezzo", "flagged", "consistent"}, 0),
        ("from=2008-10-23&to=2019-12-31", set(), 0),
        (
            "from=2008-01-01&to=2008-12-31&violation_type=arbitrary_detention",
            {"Detention near Arezzo", "consistent"},
            0,
        ),
        ("violation_type=", {"Mass grave at Tarhouna", "Detention near Arezzo", "flagged", "consistent"}, 1),
    ],
)
def test_filters_by_period_and_violation_type(
    world: tuple[World, Api, Account], query: str, expected: set[str], unplaced: int
) -> None:
    w, api, _owner = world
    names = {w.flagged["ern"]: "flagged", w.consistent["ern"]: "consistent"}
    response = api.get(f"/cases/{w.case_id}/map?{query}")
    assert {names.get(key, key) for key in features(response)} == expected
    assert response.get_json()["unplaced_incidents"] == unplaced


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2020-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2020-06-30&to=2020-06-01", "to"),
        ("violation_type=genocide_by_typo", "violation_type"),
        ("violation_type=%3Cscript%3E", "violation_type"),
    ],
)
def test_bad_filters_are_422_naming_the_field(world: tuple[World, Api, Account], query: str, field: str) -> None:
    w, api, _owner = world
    response = api.get(f"/cases/{w.case_id}/map?{query}")
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    body = response.get_json()
    validate(ERROR, body)
    assert body["error"]["code"] == "validation_failed"
    assert field in body["error"]["fields"], body


def test_only_members_read_the_map(
    world: tuple[World, Api, Account],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    w, api, _owner = world
    outsider, _ = api_for("investigator")
    admin, _ = api_for("admin")
    for client in (outsider, admin):  # an administrator reads case content only as a member
        response = client.get(f"/cases/{w.case_id}/map")
        assert response.status_code == 404
        assert "Tarhouna" not in response.get_data(as_text=True)
    reviewer, account = api_for("reviewer")
    add_member(w.case_id, account, "reviewer")
    assert len(features(reviewer.get(f"/cases/{w.case_id}/map"))) == 4
    # The owner asking for another case's map by its id, an unknown case, a malformed id.
    outsider_case = outsider.post("/cases", json={"reference": "OUT", "title": "Not yours"}).get_json()["id"]
    assert api.get(f"/cases/{outsider_case}/map").status_code == 404
    assert api.get(f"/cases/{uuid.uuid4()}/map").status_code == 404
    assert api.get("/cases/not-a-uuid/map").status_code == 404
    assert api.client.get(f"/api/v1/cases/{w.case_id}/map").status_code == 401
