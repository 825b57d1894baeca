"""Fixtures of the case map tests. `world`: two placed incidents (Tarhouna 2020, a locality; a spot near Arezzo in
Tuscany 2008, exact), one without coordinates, and three photos: DSCN0010 (GPS in Tuscany, 2008) linked to
Tarhouna, so flagged; DSCN0021 (Tuscany, 2008) linked to the Tuscan incident, consistent; Canon_40D (no GPS) linked
to Tarhouna, so not on the map. Another case holds a photo with GPS of its own, which must never appear."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import pytest

from support import PHOTOS, Account, Api

TARHOUNA = (32.435, 13.634)
TUSCANY = (43.4675, 11.8851)


@dataclass
class World:
    case_id: str
    tarhouna: dict[str, Any]
    tuscany: dict[str, Any]
    unplaced: dict[str, Any]
    flagged: dict[str, Any]  # DSCN0010
    consistent: dict[str, Any]  # DSCN0021
    no_gps: dict[str, Any]  # Canon_40D
    other_case_id: str
    other_item: dict[str, Any]


def incident(api: Api, case_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(f"/cases/{case_id}/incidents", json=fields)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def photo(api: Api, case_id: str, name: str, *incident_ids: str, title: str | None = None) -> dict[str, Any]:
    """A test photograph as evidence (a separate item when the file is already in the case)."""
    data: dict[str, Any] = {
        "file": (BytesIO((PHOTOS / name).read_bytes()), name),
        "title": title or name,
        "on_duplicate": "copy",
    }
    if incident_ids:
        data["incident_ids"] = ",".join(incident_ids)
    response = api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def build(api: Api, reference: str = "MAP") -> World:
    case_id = api.post("/cases", json={"reference": reference, "title": "Map case"}).get_json()["id"]
    tarhouna = incident(
        api,
        case_id,
        title="Mass grave at Tarhouna",
        start_date="2020-06-01",
        date_precision="month",
        place_name="Tarhouna",
        latitude=TARHOUNA[0],
        longitude=TARHOUNA[1],
        location_precision="locality",
        violation_types=["mass_grave", "killing"],
    )
    tuscany = incident(
        api,
        case_id,
        title="Detention near Arezzo",
        start_date="2008-10-22",
        place_name="Arezzo",
        latitude=TUSCANY[0],
        longitude=TUSCANY[1],
        location_precision="exact",
        violation_types=["arbitrary_detention"],
    )
    unplaced = incident(
        api, case_id, title="Killing, place unknown", start_date="2020-06-05", violation_types=["killing"]
    )
    flagged = photo(api, case_id, "DSCN0010.jpg", tarhouna["id"], title="Photo said to be of the grave")
    consistent = photo(api, case_id, "DSCN0021.jpg", tuscany["id"], title="Photo of the detention site")
    no_gps = photo(api, case_id, "Canon_40D.jpg", tarhouna["id"])
    other_case_id = api.post("/cases", json={"reference": reference + "X", "title": "Other"}).get_json()["id"]
    other_item = photo(api, other_case_id, "DSCN0010.jpg", title="Other case photo")
    return World(case_id, tarhouna, tuscany, unplaced, flagged, consistent, no_gps, other_case_id, other_item)


@pytest.fixture
def world(api_for: Callable[..., tuple[Api, Account]]) -> tuple[World, Api, Account]:
    """The world, built by its owner (an investigator) through the API; with the owner's API client and account."""
    api, owner = api_for("investigator")
    return build(api), api, owner


@pytest.fixture
def more() -> tuple[Callable[..., dict[str, Any]], Callable[..., dict[str, Any]]]:
    """The helpers that built the world, to add to it: (incident, photo)."""
    return incident, photo
