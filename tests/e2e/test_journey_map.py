"""Journey: an investigator opens the case map. With no tile server configured it draws the offline Natural Earth
basemap shipped with the app; the Tarhouna incident is a marker with its area (a circle) and the photos with GPS are
clustered markers, the one whose GPS (Tuscany, 2008) contradicts its incident marked as flagged. A marker's popup
links to its page. No CSP violation, no console error."""

from __future__ import annotations

import re
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from support import PHOTOS, Account, Api


def photo(api: Api, case_id: str, name: str, *incident_ids: str) -> dict[str, Any]:
    data: dict[str, Any] = {"file": (BytesIO((PHOTOS / name).read_bytes()), name), "title": f"Photo {name}"}
    if incident_ids:
        data["incident_ids"] = ",".join(incident_ids)
    response = api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return response.get_json()


def test_the_case_map_shows_incidents_and_evidence_and_links_to_them(
    page: Page,
    api_for: Callable[..., tuple[Api, Account]],
    log_in: Callable[[Page, Account], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    api, owner = api_for("investigator")
    case_id = api.post("/cases", json={"reference": "MAPE", "title": "Map journey"}).get_json()["id"]
    grave = api.post(
        f"/cases/{case_id}/incidents",
        json={
            "title": "Mass grave at Tarhouna",
            "start_date": "2020-06-01",
            "date_precision": "month",
            "latitude": 32.435,
            "longitude": 13.634,
            "location_precision": "locality",
            "violation_types": ["mass_grave"],
        },
    ).get_json()
    flagged = photo(api, case_id, "DSCN0010.jpg", grave["id"])  # GPS in Tuscany, 2008: flagged
    photo(api, case_id, "DSCN0021.jpg")  # a few metres from it: the two are clustered

    log_in(page, owner)
    page.goto(f"/cases/{case_id}")
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Map", exact=True).click()
    expect(page.get_by_role("heading", name="Map", level=1)).to_be_visible()
    expect(page.locator("#case-map.leaflet-container")).to_be_visible()
    expect(page.locator(".map-nojs")).to_be_hidden()  # the no-script note is for pages without the script

    # The offline basemap: Natural Earth land and borders drawn as SVG paths, credited.
    expect(page.locator(".leaflet-basemap-pane path.map-land").first).to_be_attached()
    expect(page.locator(".leaflet-basemap-pane path.map-border").first).to_be_attached()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("Natural Earth")
    # The incident: a marker and the 25 km area of its place; the photos: one cluster of two.
    expect(page.locator(".leaflet-marker-icon.map-marker-incident")).to_have_count(1)
    expect(page.locator("path.map-area")).to_have_count(1)
    cluster = page.locator(".leaflet-marker-icon.marker-cluster")
    expect(cluster).to_have_count(1)
    expect(cluster).to_contain_text("2")
    screenshot(page, "overview")

    # The incident's popup links to the incident.
    page.locator(".map-marker-incident").click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.get_by_role("link", name="Mass grave at Tarhouna")).to_have_attribute(
        "href", f"/incidents/{grave['id']}"
    )

    # Opening the cluster (it zooms in, then spreads its markers at the last zoom) shows the flagged photo.
    marker = page.locator(".leaflet-marker-icon.map-marker-flagged")
    for _attempt in range(6):
        if marker.count() and marker.is_visible():
            break
        page.locator(".leaflet-marker-icon.marker-cluster").first.click()
        page.wait_for_timeout(600)  # the zoom and spread animations
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("title", re.compile(re.escape(flagged["ern"])))
    marker.click()
    link = popup.get_by_role("link", name=flagged["ern"], exact=True)
    expect(link).to_have_attribute("href", f"/evidence/{flagged['id']}")
    expect(popup).to_contain_text("check place or time")
    expect(popup).to_contain_text("km from Mass grave at Tarhouna")
    page.wait_for_timeout(400)  # the popup fades in and the map pans to show it whole
    screenshot(page, "popup")
    link.click()
    expect(page).to_have_url(re.compile(f"/evidence/{flagged['id']}$"))
    expect(page.get_by_role("heading", name="Photo DSCN0010.jpg", level=1)).to_be_visible()

    assert browser_errors == []


def test_the_case_map_in_arabic_on_a_phone(
    page: Page,
    api_for: Callable[..., tuple[Api, Account]],
    log_in: Callable[[Page, Account], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    api, owner = api_for("investigator")
    case_id = api.post("/cases", json={"reference": "MAPA", "title": "Map in Arabic"}).get_json()["id"]
    grave = api.post(
        f"/cases/{case_id}/incidents",
        json={
            "title": "مقبرة جماعية في ترهونة",
            "latitude": 32.435,
            "longitude": 13.634,
            "location_precision": "vicinity",
        },
    ).get_json()
    photo(api, case_id, "DSCN0010.jpg", grave["id"])
    log_in(page, owner)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/cases/{case_id}/map")
    page.get_by_role("button", name="Menu").click()  # on a phone the header folds behind it
    page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="الخريطة", level=1)).to_be_visible()
    expect(page.locator(".leaflet-basemap-pane path.map-land").first).to_be_attached()
    expect(page.locator(".leaflet-marker-icon.map-marker-incident")).to_have_count(1)
    expect(page.locator(".leaflet-marker-icon.map-marker-flagged")).to_have_count(1)
    map_box = page.locator("#case-map").bounding_box()
    assert map_box is not None and map_box["width"] <= 390 and map_box["height"] >= 250
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.locator(".map-marker-incident").click()
    expect(page.locator(".leaflet-popup-content").get_by_role("link", name="مقبرة جماعية في ترهونة")).to_be_visible()
    page.wait_for_timeout(400)
    screenshot(page)
    assert browser_errors == []
