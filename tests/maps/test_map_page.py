"""The case map page: a GET form of filters, the map's container (drawn by casefile/static/map.js, no inline script)
and every feature listed in tables with links, which is the whole page without JavaScript; in Arabic too; a fixed
number of queries; the CSP allows the tile host only when one is configured."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile import create_app
from casefile.config import Settings, load_settings, tile_source

from support import Account, Api, counting_queries, login

World = Any  # tests/maps/conftest.py's World
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Page(HTMLParser):
    """The parts of a page these tests look at: scripts, style attributes, the map's rows and their links."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styled: list[str] = []
        self.rows: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.map: dict[str, str | None] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found)
        if "style" in found:
            self.styled.append(tag)
        if tag == "tr" and "data-lat" in found:
            self.rows.append(found)
        if tag == "a" and "feature-link" in (found.get("class") or ""):
            self.links.append(found["href"] or "")
        if found.get("id") == "case-map":
            self.map = found


def page_of(client: FlaskClient, url: str, status: int = 200, **kw: Any) -> tuple[str, Page]:
    response = client.get(url, **kw)
    html = response.get_data(as_text=True)
    assert response.status_code == status, html[:500]
    return html, Page(html)


def test_the_page_lists_every_feature_with_its_link_and_needs_no_inline_script(
    app: Flask, client: FlaskClient, world: tuple[World, Api, Account]
) -> None:
    w, _api, owner = world
    login(client, owner)
    html, page = page_of(client, f"/cases/{w.case_id}/map")
    # No inline script and no style attribute: the CSP would refuse them.
    assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)
    assert {s["src"] for s in page.scripts} >= {
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "/static/map.js",
    }
    assert page.styled == []
    # The case tab is there and current.
    assert re.search(r'<a href="/cases/[0-9a-f-]+/map" aria-current="page">Map</a>', html)
    # Every feature is a row with its position and a link to its page, in the order: incidents, then evidence.
    assert page.links == [  # incidents by date, then evidence by ERN
        f"/incidents/{w.tuscany['id']}",
        f"/incidents/{w.tarhouna['id']}",
        f"/evidence/{w.flagged['id']}",
        f"/evidence/{w.consistent['id']}",
    ]
    kinds = [(row["data-kind"], row.get("data-radius"), row.get("data-flagged")) for row in page.rows]
    assert kinds == [
        ("incident", "1000", None),
        ("incident", "25000", None),
        ("evidence", None, "true"),
        ("evidence", None, "false"),
    ]
    assert abs(float(page.rows[2]["data-lat"] or 0) - 43.467448) < 1e-5
    # The flagged item says why, with the consistency flags' own words.
    flagged_row = html.split(f'href="/evidence/{w.flagged["id"]}"', 1)[1].split("</tr>", 1)[0]
    assert "check place or time" in flagged_row
    assert re.search(r"its GPS position is [\d,]+ km from Mass grave at Tarhouna", flagged_row)
    assert "1 incident that matches has no coordinates and is not on the map." in html
    # The offline basemap the script draws is shipped and served.
    assert page.map is not None and "data-tiles" not in page.map
    for name in ("data-land", "data-borders", "data-places"):
        response = client.get(page.map[name] or "")
        assert response.status_code == 200, name
        data = response.get_json(force=True)
        response.close()
        assert data["type"] == "FeatureCollection" and data["features"], name


def test_the_filters_work_as_a_plain_get_form(client: FlaskClient, world: tuple[World, Api, Account]) -> None:
    w, _api, owner = world
    login(client, owner)
    html, page = page_of(client, f"/cases/{w.case_id}/map?violation_type=arbitrary_detention&from=2008-01-01")
    assert page.links == [f"/incidents/{w.tuscany['id']}", f"/evidence/{w.consistent['id']}"]
    assert '<option value="arbitrary_detention" selected>' in html
    assert 'name="from" value="2008-01-01"' in html
    html, page = page_of(client, f"/cases/{w.case_id}/map?violation_type=torture")
    assert page.links == [] and "No incident or evidence with a position matches." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2020-02-30", "Use a date in the form YYYY-MM-DD."),
        ("from=2020-06-30&to=2020-06-01", "The end of the period cannot be before its start."),
        ("violation_type=%3Cb%3Enope%3C%2Fb%3E", "Unknown violation type: &lt;b&gt;nope&lt;/b&gt;."),
    ],
)
def test_a_bad_filter_is_a_422_page_that_says_what_is_wrong(
    client: FlaskClient, world: tuple[World, Api, Account], query: str, message: str
) -> None:
    w, _api, owner = world
    login(client, owner)
    html, page = page_of(client, f"/cases/{w.case_id}/map?{query}", status=422)
    assert message in html
    assert page.map is None and page.rows == []
    assert "<b>nope" not in html


def test_titles_are_escaped(client: FlaskClient, world: tuple[World, Api, Account]) -> None:
    w, api, owner = world
    evil = '<img src=x onerror="alert(1)">"\'&'
    api.post(f"/cases/{w.case_id}/incidents", json={"title": evil, "latitude": 1.5, "longitude": 2.5})
    login(client, owner)
    html, page = page_of(client, f"/cases/{w.case_id}/map")
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&#34;&#39;&amp;" in html
    assert any(row.get("data-label") == evil for row in page.rows)  # the parser unescapes the attribute


def test_the_page_in_arabic(client: FlaskClient, world: tuple[World, Api, Account]) -> None:
    w, _api, owner = world
    login(client, owner)
    html, page = page_of(client, f"/cases/{w.case_id}/map", headers={"Accept-Language": "ar"})
    assert '<html lang="ar" dir="rtl">' in html
    assert "<h1>الخريطة</h1>" in html
    assert re.search(r'<a href="/cases/[0-9a-f-]+/map" aria-current="page">الخريطة</a>', html)
    assert "راجِع المكان أو الزمان" in html and "check place or time" not in html  # the flagged photo
    assert "1 حادثة مطابقة ليست لها إحداثيات" in html
    assert len(page.rows) == 4
    assert page.map is not None and page.map.get("dir") == "ltr"  # the map itself is not text: never mirrored


def test_the_page_and_the_api_cost_a_fixed_number_of_queries(
    app: Flask, client: FlaskClient, world: tuple[World, Api, Account], more: tuple[Callable[..., Any], ...]
) -> None:
    incident, photo = more
    w, api, owner = world
    login(client, owner)
    url = f"/cases/{w.case_id}/map"

    def count() -> tuple[int, int]:
        client.get(url)
        with counting_queries(app) as page:
            assert client.get(url).status_code == 200
        with counting_queries(app) as json:
            assert api.get(url).status_code == 200
        return len(page), len(json)

    before = count()
    for n in range(3):
        added = incident(
            api, w.case_id, title=f"More {n}", latitude=30.0 + n, longitude=12.0, location_precision="vicinity"
        )
        photo(api, w.case_id, "DSCN0010.jpg", added["id"], title=f"Copy {n}")
    assert count() == before


def test_tiles_come_from_the_configured_host_only(
    settings: Settings, world: tuple[World, Api, Account], client: FlaskClient
) -> None:
    w, _api, owner = world
    login(client, owner)
    assert client.get(f"/cases/{w.case_id}/map").headers["Content-Security-Policy"] == DEFAULT_CSP

    tiled = create_app(
        settings.with_overrides(
            map_tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png?key=1",
            map_attribution="© Example <b>maps</b>",
        )
    )
    try:
        other = tiled.test_client()
        login(other, owner)
        response = other.get(f"/cases/{w.case_id}/map")
        assert response.status_code == 200
        csp = response.headers["Content-Security-Policy"]
        assert "img-src 'self' data: blob: https://*.tile.example.org;" in csp
        assert csp.replace(" https://*.tile.example.org", "") == DEFAULT_CSP
        page = Page(response.get_data(as_text=True))
        assert page.map is not None
        assert page.map["data-tiles"] == "https://{s}.tile.example.org/{z}/{x}/{y}.png?key=1"
        assert page.map["data-attribution"] == "© Example <b>maps</b>"  # escaped in the page, shown as text
    finally:
        tiled.extensions["casefile_db"].dispose()


@pytest.mark.parametrize(
    ("template", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://tiles.local:8080/osm/{z}/{x}/{y}.png", "http://tiles.local:8080"),
    ],
)
def test_a_tile_template_gives_its_csp_source(template: str, source: str, tmp_path: Any) -> None:
    assert tile_source(template) == source
    loaded = load_settings({"CASEFILE_INSTANCE_PATH": str(tmp_path), "CASEFILE_MAP_TILES": template})
    assert loaded.map_tiles == template


@pytest.mark.parametrize(
    "template",
    [
        "tile.openstreetmap.org/{z}/{x}/{y}.png",
        "ftp://tiles.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org/{z}/{x}.png",
        "https://tiles-{s}.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org; script-src *;/{z}/{x}/{y}.png",
        "https://user@tiles.example.org/{z}/{x}/{y}.png",
        "https:///{z}/{x}/{y}.png",
    ],
)
def test_a_bad_tile_template_stops_the_start(template: str, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="CASEFILE_MAP_TILES"):
        load_settings({"CASEFILE_INSTANCE_PATH": str(tmp_path), "CASEFILE_MAP_TILES": template})


def test_without_javascript_the_map_box_stays_hidden(app: Flask) -> None:
    css = (app.static_folder or "") + "/map.css"
    with open(css, encoding="utf-8") as fh:
        text = fh.read()
    assert ".case-map { display: none; }" in text and ".js .case-map {" in text
