"""Evidence pages: the list and the item page cost a constant number of SQL queries however much there
is to show; the item page shows what a reviewer needs (ERN, hash, GPS, custody trail, verification);
previews carry no metadata and graphic ones stay covered; every read and edit is in the custody trail."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem

from support import PHOTOS, Account, Api, counting_queries, login

DSCN0010_SHA256 = "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035"


# --- helpers -------------------------------------------------------------------------------------


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def queries_for(app: Flask, client: FlaskClient, url: str) -> list[str]:
    client.get(url)  # warm up: first-request work (ledger head, caches) is not what is measured
    with counting_queries(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return statements


def upload(client: FlaskClient, case_id: Any, files: list[tuple[bytes, str]], **fields: Any) -> list[EvidenceItem]:
    data: dict[str, Any] = {"classification": "confidential", **fields}
    data["file"] = [(BytesIO(content), name) for content, name in files]
    response = client.post(
        f"/cases/{case_id}/evidence/upload", data=data, content_type="multipart/form-data", headers=JSON
    )
    response.close()
    response.request.input_stream.close()
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    ids = [uuid.UUID(i["url"].rsplit("/", 1)[1]) for i in response.get_json()["items"]]
    return [load(client.application, i) for i in ids]


JSON = {"Accept": "application/json"}


def load(app: Flask, item_id: Any) -> EvidenceItem:
    with app.app_context(), session_scope() as s:
        item = s.get(EvidenceItem, uuid.UUID(str(item_id)))
        assert item is not None
        s.expunge(item)
        return item


def trail(app: Flask, item_id: Any) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        return list(
            s.scalars(select(CustodyEntry).where(CustodyEntry.evidence_id == item_id).order_by(CustodyEntry.seq))
        )


def new_incidents(app: Flask, case_id: uuid.UUID, count: int, start: int = 0) -> list[uuid.UUID]:
    from casefile.cases.models import Case
    from casefile.cases.services import create_incident

    with app.app_context(), session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return [create_incident(s, case, {"title": f"Incident {n}"}).id for n in range(start, start + count)]


def link(api: Api, item_id: Any, incident_id: Any, stance: str = "supports") -> None:
    response = api.post(
        f"/evidence/{item_id}/links",
        json={"target_type": "incident", "target_id": str(incident_id), "stance": stance, "note": "n"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:300]


def growth(few: list[str], many: list[str]) -> str:
    """The statements the bigger page ran more often than the smaller one: the N+1 culprits."""
    extra = Counter(many)
    extra.subtract(Counter(few))
    return "\n\n".join(f"{n} more x {sql}" for sql, n in extra.items() if n)


class FormFields(HTMLParser):
    """The values a browser would submit for the first form with method=post on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_form = False
        self._done = False
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method") == "post" and not self._done and "action" not in a:
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.values[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "file"):
                self.values[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name")
            self.values.setdefault(self._select or "", "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data.removeprefix("\n") if not self.values[self._textarea] else data


def form_values(html: str) -> dict[str, str]:
    parser = FormFields()
    parser.feed(html)
    return parser.values


@pytest.fixture
def investigator(logged_in: Callable[..., Account]) -> Account:
    return logged_in("investigator")


@pytest.fixture
def api(investigator: Account, api_for: Callable[..., tuple[Api, Account]]) -> Api:
    return api_for(account=investigator)[0]


@pytest.fixture
def case_id(investigator: Account, make_case: Callable[..., uuid.UUID]) -> uuid.UUID:
    return make_case(investigator, "PGS")


# --- constant query counts -----------------------------------------------------------------------


def test_list_page_queries_do_not_grow_with_the_number_of_items(
    app: Flask, client: FlaskClient, api: Api, case_id: uuid.UUID
) -> None:
    incidents = new_incidents(app, case_id, 3)
    url = f"/cases/{case_id}/evidence"

    def add(start: int, count: int) -> None:
        files = [(f"statement {n}\n".encode(), f"s{n}.txt") for n in range(start, start + count)]
        created = upload(client, case_id, files, incidents=[str(incidents[0]), str(incidents[1])])
        for item in created[::2]:
            link(api, item.id, incidents[2], "contradicts")

    add(0, 3)
    client.post("/custody/verify", data={})  # fixity badges on the list too
    few = queries_for(app, client, url)
    html = client.get(url).get_data(as_text=True)
    assert html.count("Incident 0") >= 3 and "PGS-00003" in html

    add(3, 27)
    client.post("/custody/verify", data={})
    many = queries_for(app, client, url)
    html = client.get(url).get_data(as_text=True)
    assert "PGS-00030" in html and html.count("Incident 1") >= 30 and html.count("intact") >= 30
    assert len(many) == len(few), growth(few, many)


def test_item_page_queries_do_not_grow_with_the_number_of_links(
    app: Flask, client: FlaskClient, api: Api, case_id: uuid.UUID
) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0010.jpg"), "DSCN0010.jpg")])
    incidents = new_incidents(app, case_id, 10)
    url = f"/evidence/{item.id}"
    link(api, item.id, incidents[0])
    one = queries_for(app, client, url)
    for incident in incidents[1:]:
        link(api, item.id, incident, "context")
    ten = queries_for(app, client, url)
    html = client.get(url).get_data(as_text=True)
    assert all(f"Incident {n}<" in html for n in range(10))
    assert len(ten) == len(one), growth(one, ten)


def test_item_api_queries_do_not_grow_with_the_number_of_links(
    app: Flask, client: FlaskClient, api: Api, case_id: uuid.UUID
) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0021.jpg"), "DSCN0021.jpg")])
    incidents = new_incidents(app, case_id, 10)
    link(api, item.id, incidents[0])

    def measure() -> list[str]:
        api.get(f"/evidence/{item.id}")
        with counting_queries(app) as statements:
            assert api.get(f"/evidence/{item.id}").status_code == 200
        return statements

    one = measure()
    for incident in incidents[1:]:
        link(api, item.id, incident)
    assert len(api.get(f"/evidence/{item.id}").get_json()["links"]) == 10
    ten = measure()
    assert len(ten) == len(one), growth(one, ten)


# --- the item page -------------------------------------------------------------------------------


def test_item_page_shows_what_a_reviewer_needs(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0010.jpg"), "DSCN0010.jpg")], source="Journalist A")
    html = client.get(f"/evidence/{item.id}").get_data(as_text=True)
    assert "PGS-00001" in html
    assert DSCN0010_SHA256 in html
    assert "43.467448, 11.885127" in html  # GPS, 6 decimals
    assert "2008-10-22T16:28:39" in html  # capture time from the camera
    assert "NIKON" in html and "COOLPIX P6000" in html
    assert "161,713" in html  # size
    assert "image/jpeg" in html
    assert f'src="/evidence/{item.id}/preview"' in html
    assert f'href="/evidence/{item.id}/download"' in html
    assert "Integrity not yet checked" in html and "Integrity verified" not in html
    # The custody trail: the ingest and this very view, with their entry hashes.
    rows = re.findall(r"<tr>\s*<td class=\"mono\">(\d+)</td>.*?<td data-action=\"(\w+)\">([^<]+)</td>", html, re.S)
    assert [(action, words) for _seq, action, words in rows] == [
        ("ingested", "recorded (ingested)"),
        ("viewed", "viewed"),
    ]
    entries = trail(app, item.id)
    assert [e.action for e in entries] == ["ingested", "viewed"]
    for entry in entries:
        assert entry.entry_hash[:16] in html

    # A verification run puts the badge on the page.
    verified = client.post("/custody/verify", data={"case_id": str(case_id)})
    assert verified.status_code == 200, verified.get_data(as_text=True)[:300]
    html = client.get(f"/evidence/{item.id}").get_data(as_text=True)
    assert "Integrity verified" in html and "Integrity not yet checked" not in html
    assert "fixity_verified" in html
    listing = client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    assert "intact" in listing


def test_damaged_photo_page_says_so(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    content = photo("corrupted.jpg")
    (item,) = upload(client, case_id, [(content, "corrupted.jpg")])
    assert item.sha256 == hashlib.sha256(content).hexdigest()
    assert item.metadata_status == "damaged"
    html = client.get(f"/evidence/{item.id}").get_data(as_text=True)
    assert "The file is damaged or its metadata could not be read." in html


def test_graphic_preview_is_covered_until_revealed(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    graphic, plain = upload(client, case_id, [(photo("DSCN0010.jpg"), "a.jpg")], graphic="y") + upload(
        client, case_id, [(photo("DSCN0021.jpg"), "b.jpg")]
    )
    assert graphic.graphic and not plain.graphic

    def preview_img(html: str) -> str:
        match = re.search(r"<img [^>]*/preview[^>]*>", html)
        assert match, "no preview image"
        return match.group(0)

    covered = preview_img(client.get(f"/evidence/{graphic.id}").get_data(as_text=True))
    assert 'class="graphic-cover"' in covered
    revealed = preview_img(client.get(f"/evidence/{graphic.id}?reveal=1").get_data(as_text=True))
    assert "graphic-cover" not in revealed
    normal = preview_img(client.get(f"/evidence/{plain.id}").get_data(as_text=True))
    assert "graphic-cover" not in normal


def test_preview_is_a_jpeg_without_metadata_and_is_a_recorded_view(
    app: Flask, client: FlaskClient, case_id: uuid.UUID
) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0010.jpg"), "DSCN0010.jpg")])
    before = [e.action for e in trail(app, item.id)]
    response = client.get(f"/evidence/{item.id}/preview")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("inline")
    body = response.get_data()
    assert hashlib.sha256(body).hexdigest() != DSCN0010_SHA256  # a derived image, never the evidence
    with Image.open(BytesIO(body)) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= 512
        assert dict(image.getexif()) == {}  # no GPS, no camera serial, nothing
        assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"NIKON" not in body and b"Exif" not in body
    after = trail(app, item.id)
    assert [e.action for e in after] == [*before, "viewed"]
    assert after[-1].details == {"via": "preview"}
    assert after[-1].sha256 == DSCN0010_SHA256


def test_download_from_the_page_is_an_attachment_and_is_recorded(
    app: Flask, client: FlaskClient, case_id: uuid.UUID, investigator: Account
) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0010.jpg"), "<b>x</b>.jpg")])
    response = client.get(f"/evidence/{item.id}/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="PGS-00001.jpg"'
    assert response.mimetype == "application/octet-stream"
    assert hashlib.sha256(response.get_data()).hexdigest() == DSCN0010_SHA256
    started, ended = trail(app, item.id)[-2:]
    assert (started.action, started.actor, started.sha256) == ("downloaded", f"user:{investigator.id}", DSCN0010_SHA256)
    assert (ended.action, ended.actor, ended.sha256) == ("download_completed", started.actor, DSCN0010_SHA256)
    assert ended.details == {"via": "page", "started": started.seq, "bytes_sent": item.size, "size": item.size}


def test_pages_of_another_case_are_not_found(
    app: Flask, client: FlaskClient, case_id: uuid.UUID, make_user: Callable[..., Account]
) -> None:
    (item,) = upload(client, case_id, [(photo("DSCN0010.jpg"), "DSCN0010.jpg")])
    before = len(trail(app, item.id))
    outsider = app.test_client()
    login(outsider, make_user("investigator"))
    for url in ("", "/preview", "/download", "/edit", "/derivative"):
        response = outsider.get(f"/evidence/{item.id}{url}")
        assert response.status_code == 404, url
        assert DSCN0010_SHA256 not in response.get_data(as_text=True)
    edit = outsider.post(f"/evidence/{item.id}/edit", data={"title": "x", "classification": "public"})
    assert edit.status_code == 404
    assert outsider.get(f"/cases/{case_id}/evidence").status_code == 404
    # Probing left no trace and changed nothing.
    assert len(trail(app, item.id)) == before
    assert load(app, item.id).title == "DSCN0010.jpg"


# --- editing -------------------------------------------------------------------------------------


def edit_via_form(client: FlaskClient, item_id: Any, **changes: str) -> Any:
    """What a user does: open the edit form, change some fields, submit everything back."""
    page = client.get(f"/evidence/{item_id}/edit")
    assert page.status_code == 200
    values = form_values(page.get_data(as_text=True))
    assert "title" in values and "classification" in values
    values.update(changes)
    return client.post(f"/evidence/{item_id}/edit", data=values)


def test_edit_metadata_via_the_form_is_recorded_with_old_and_new_values(
    app: Flask, client: FlaskClient, case_id: uuid.UUID
) -> None:
    (item,) = upload(
        client,
        case_id,
        [(photo("DSCN0010.jpg"), "DSCN0010.jpg")],
        kind="photo",
        source="Journalist A",
        source_reliability="C",
        info_credibility="3",
        collected_at="2020-06-11T09:30",
        collected_by="Field team",
        description="First line\nSecond line",
    )
    response = edit_via_form(client, item.id, title="Site 3, aerial", classification="under_seal")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith(f"/evidence/{item.id}")
    changed = [e for e in trail(app, item.id) if e.action == "metadata_changed"]
    assert len(changed) == 1
    # Only what the user changed is recorded: the rest of the form went back unchanged.
    assert changed[0].details["changes"] == {
        "title": {"from": "DSCN0010.jpg", "to": "Site 3, aerial"},
        "classification": {"from": "confidential", "to": "under_seal"},
    }
    assert changed[0].sha256 == DSCN0010_SHA256
    after = load(app, item.id)
    assert (after.title, after.classification.value) == ("Site 3, aerial", "under_seal")
    assert after.sha256 == DSCN0010_SHA256 and after.ern == "PGS-00001"
    assert (after.source_reliability, after.info_credibility, after.description) == ("C", 3, "First line\nSecond line")
    assert after.collected_at == item.collected_at
    html = client.get(f"/evidence/{item.id}").get_data(as_text=True)
    assert "metadata_changed" in html and "Site 3, aerial" in html

    # Saving the form without touching anything writes no entry.
    assert edit_via_form(client, item.id).status_code == 302
    assert len([e for e in trail(app, item.id) if e.action == "metadata_changed"]) == 1


def test_editing_the_title_keeps_a_precise_collection_time(
    app: Flask,
    client: FlaskClient,
    case_id: uuid.UUID,
    api: Api,
) -> None:
    """An API client recorded the collection time to the second and below; a colleague then fixes the
    title in the browser. The collection time must not be rounded, nor a change they did not make logged."""
    (item,) = upload(client, case_id, [(photo("DSCN0021.jpg"), "DSCN0021.jpg")])
    precise = api.patch(f"/evidence/{item.id}", json={"collected_at": "2020-06-11T09:30:15.250000Z"})
    assert precise.status_code == 200
    response = edit_via_form(client, item.id, title="Renamed")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    after = load(app, item.id)
    assert after.collected_at is not None
    assert after.collected_at.isoformat() == "2020-06-11T09:30:15.250000+00:00"
    last = [e for e in trail(app, item.id) if e.action == "metadata_changed"][-1]
    assert set(last.details["changes"]) == {"title"}


def test_edit_form_refuses_bad_values_and_records_nothing(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    (item,) = upload(client, case_id, [(photo("Canon_40D.jpg"), "Canon_40D.jpg")])
    for bad in ({"title": ""}, {"classification": "open"}, {"source_reliability": "Z"}, {"collected_at": "soon"}):
        response = edit_via_form(client, item.id, **bad)
        assert response.status_code == 422, (bad, response.status_code)
    assert [e for e in trail(app, item.id) if e.action == "metadata_changed"] == []
    assert load(app, item.id).title == "Canon_40D.jpg"


def test_custody_details_are_a_definition_list_in_the_readers_language(
    client: FlaskClient, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID], api_for: Any
) -> None:
    owner = make_user("investigator")
    api, _ = api_for(account=owner)
    case_id = make_case(owner, "DET")
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(b"a statement"), "statement.txt"), "title": "Statement"},
        content_type="multipart/form-data",
    )
    item = response.get_json()
    login(client, owner)
    english = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert f"<dt>ERN</dt><dd><bdi>{item['ern']}</bdi></dd>" in english
    assert "<dt>Media type</dt><dd><bdi>text/plain</bdi></dd>" in english
    arabic = client.get(f"/evidence/{item['id']}", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert "<dt>نوع الوسائط</dt><dd><bdi>text/plain</bdi></dd>" in arabic
    assert "media_type" not in arabic


def test_an_item_whose_gps_and_capture_time_disagree_with_its_incident_is_flagged(
    client: FlaskClient, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID], api_for: Any
) -> None:
    """DSCN0010 was taken in Tuscany in 2008; linked to the Tarhouna mass grave of June 2020 it is flagged (about
    1,230 km away, some 4,400 days before), never refused. The same photo linked to nothing, or a photo without GPS,
    is not."""
    owner = make_user("investigator")
    api, _ = api_for(account=owner)
    case_id = make_case(owner, "FLAG")
    incident = api.post(
        f"/cases/{case_id}/incidents",
        json={
            "title": "Mass grave at Tarhouna",
            "start_date": "2020-06-01",
            "date_precision": "month",
            "latitude": 32.435,
            "longitude": 13.634,
            "location_precision": "locality",
        },
    ).get_json()

    def upload(name: str, incident_ids: str = "") -> dict[str, Any]:
        data: dict[str, Any] = {"file": (BytesIO((PHOTOS / name).read_bytes()), name), "title": name}
        if incident_ids:
            data["incident_ids"] = incident_ids
        response = api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data")
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        return response.get_json()

    flagged = upload("DSCN0010.jpg", incident["id"])
    unlinked = upload("DSCN0021.jpg")
    no_gps = upload("Canon_40D.jpg", incident["id"])
    login(client, owner)
    page = client.get(f"/evidence/{flagged['id']}").get_data(as_text=True)
    box = page.split('id="consistency-flags"', 1)[1].split("</div>", 1)[0]
    km = int(re.search(r"position is ([\d,]+) km from Mass grave at Tarhouna", box).group(1).replace(",", ""))
    assert 1150 < km < 1300
    days = int(re.search(r"captured ([\d,]+) days outside", box).group(1).replace(",", ""))
    assert 4000 < days < 4500
    assert 'id="consistency-flags"' not in client.get(f"/evidence/{unlinked['id']}").get_data(as_text=True)
    canon = client.get(f"/evidence/{no_gps['id']}").get_data(as_text=True)
    assert "position is" not in canon  # no GPS: no position flag (its 2008 capture date is still flagged)
    listing = client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    assert listing.count("check place or time") == 2


def test_the_element_matrix_marks_flagged_evidence_as_the_item_page_does(
    app: Flask, client: FlaskClient, make_user: Callable[..., Account], add_member: Any
) -> None:
    from casefile.legal.models import Charge

    from support import load_demo

    case_id = load_demo(app)
    reader = make_user("reviewer")
    add_member(case_id, reader, "reviewer")
    login(client, reader)
    with app.app_context(), session_scope() as s:
        charge_id = s.scalar(select(Charge.id).where(Charge.case_id == case_id).limit(1))
    matrix = client.get(f"/charges/{charge_id}").get_data(as_text=True)
    shown = re.findall(r'href="/evidence/([0-9a-f-]{36})">[A-Z]+-\d+</a>( <span class="badge warn flagged")?', matrix)
    assert shown
    for item_id, marked in shown:
        item_page = client.get(f"/evidence/{item_id}").get_data(as_text=True)
        assert bool(marked) == ('id="consistency-flags"' in item_page), item_id
    assert any(marked for _item, marked in shown)  # the demo's Tuscan photo under a Tarhouna incident


def test_custody_trails_name_incidents_by_title_not_id(
    client: FlaskClient, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, account = api_for("investigator")
    case_id = make_case(account)
    incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Raid on the <b>farm</b>"}).get_json()
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(b"note"), "n.txt"), "incident_ids": incident["id"]},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    item = response.get_json()
    login(client, account)
    for path in (f"/evidence/{item['id']}", f"/evidence/{item['id']}/custody"):
        trail = client.get(path).get_data(as_text=True).split('id="custody-trail"', 1)[1].split("</table>", 1)[0]
        assert "Raid on the &lt;b&gt;farm&lt;/b&gt;" in trail and incident["id"] not in trail, path
