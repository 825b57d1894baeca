"""The HTML upload form (/cases/<id>/evidence/upload): several files in one plain POST (no JavaScript),
the JSON mode the progress script uses, who may upload, and CSRF — nothing is stored by a refused request."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.links.models import EvidenceLink

from support import PHOTOS, Account, csrf_token, login

DSCN0010_SHA256 = "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035"
DSCN0021_SHA256 = "441daaea545eb8bdb1434817fc36be0baa8992a4c9ad4b089726033bfc4bc963"
JSON = {"Accept": "application/json"}


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def finished(response: Any) -> Any:
    response.close()
    response.request.input_stream.close()
    return response


def form(files: list[tuple[bytes, str]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"classification": "confidential", "kind": "", **fields}
    data["file"] = [(BytesIO(content), name) for content, name in files]
    return data


def post_upload(client: FlaskClient, case_id: Any, data: dict[str, Any], **kw: Any) -> Any:
    return finished(
        client.post(f"/cases/{case_id}/evidence/upload", data=data, content_type="multipart/form-data", **kw)
    )


def items(app: Flask) -> list[EvidenceItem]:
    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(EvidenceItem).order_by(EvidenceItem.number)))


def custody_count(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(CustodyEntry)) or 0


def spool_leftovers(app: Flask) -> list[str]:
    store = app.extensions["casefile_blobs"]
    return sorted(os.listdir(getattr(store, "tmp_dir", None) or store.spool_dir))


def assert_nothing_stored(app: Flask, entries_before: int) -> None:
    assert items(app) == []
    assert custody_count(app) == entries_before
    assert list(app.extensions["casefile_blobs"].iter_hashes()) == []
    assert spool_leftovers(app) == []


def new_incident(app: Flask, case_id: uuid.UUID, title: str) -> uuid.UUID:
    from casefile.cases.models import Case
    from casefile.cases.services import create_incident

    with app.app_context(), session_scope() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return create_incident(s, case, {"title": title}).id


@pytest.fixture
def case_id(logged_in: Callable[..., Account], make_case: Callable[..., uuid.UUID]) -> uuid.UUID:
    return make_case(logged_in("investigator"), "WEB")


# --- plain HTML upload ---------------------------------------------------------------------------


def test_form_is_offered_with_every_field(client: FlaskClient, case_id: uuid.UUID) -> None:
    page = client.get(f"/cases/{case_id}/evidence/upload")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html
    assert 'type="file"' in html and "multiple" in html
    for name in (
        "kind",
        "title",
        "description",
        "source",
        "source_reliability",
        "info_credibility",
        "collected_at",
        "collected_by",
        "collection_place",
        "classification",
        "graphic",
        "incidents",
        "sha256",
    ):
        assert f'name="{name}"' in html, name


def test_two_files_in_one_post_without_javascript(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    prison = new_incident(app, case_id, "Tarhouna prison")
    graves = new_incident(app, case_id, "Mass graves, June 2020")
    data = form(
        [(photo("DSCN0010.jpg"), "DSCN0010.jpg"), (photo("DSCN0021.jpg"), "DSCN0021.jpg")],
        kind="photo",
        description="Two photos from the same roll",
        source="Local journalist",
        source_reliability="B",
        info_credibility="2",
        collected_at="2020-06-11T09:30",
        collected_by="Field team",
        collection_place="Tarhouna",
        classification="under_seal",
        graphic="y",
        incidents=[str(prison), str(graves)],
    )
    response = post_upload(client, case_id, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith(f"/cases/{case_id}/evidence")
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Recorded WEB-00001, WEB-00002." in listing

    first, second = items(app)
    assert (first.ern, first.sha256, first.size) == ("WEB-00001", DSCN0010_SHA256, len(photo("DSCN0010.jpg")))
    assert (second.ern, second.sha256) == ("WEB-00002", DSCN0021_SHA256)
    for item, name in ((first, "DSCN0010.jpg"), (second, "DSCN0021.jpg")):
        assert item.original_filename == name
        assert item.title == name  # no title given: the file name, made inert
        assert item.media_type == "image/jpeg"
        assert item.kind.value == "photo"
        assert item.description == "Two photos from the same roll"
        assert item.source == "Local journalist"
        assert (item.source_reliability, item.info_credibility) == ("B", 2)
        assert item.collected_at is not None and item.collected_at.isoformat() == "2020-06-11T09:30:00+00:00"
        assert (item.collected_by, item.collection_place) == ("Field team", "Tarhouna")
        assert item.classification.value == "under_seal"
        assert item.graphic is True
        assert app.extensions["casefile_blobs"].rehash(item.sha256) == item.sha256
    with app.app_context(), session_scope() as s:
        links = {(link.evidence_id, link.incident_id) for link in s.scalars(select(EvidenceLink))}
        ingested = list(s.scalars(select(CustodyEntry).where(CustodyEntry.action == "ingested")))
    assert links == {(i.id, inc) for i in (first, second) for inc in (prison, graves)}
    assert sorted(e.details["ern"] for e in ingested) == ["WEB-00001", "WEB-00002"]
    assert spool_leftovers(app) == []


def test_json_mode_answers_with_the_recorded_items(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    response = post_upload(
        client,
        case_id,
        form([(photo("DSCN0010.jpg"), "DSCN0010.jpg"), (b"witness notes\n", "notes.txt")], sha256=""),
        headers=JSON,
    )
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    assert response.is_json
    body = response.get_json()
    first, second = items(app)
    assert body == {
        "items": [
            {"ern": "WEB-00001", "sha256": DSCN0010_SHA256, "url": f"/evidence/{first.id}", "acquisition": False},
            {
                "ern": "WEB-00002",
                "sha256": hashlib.sha256(b"witness notes\n").hexdigest(),
                "url": f"/evidence/{second.id}",
                "acquisition": False,
            },
        ]
    }
    # The URL leads to the item page.
    page = client.get(body["items"][0]["url"])
    assert page.status_code == 200 and "WEB-00001" in page.get_data(as_text=True)


def test_json_mode_with_a_declared_hash(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    good = post_upload(
        client, case_id, form([(photo("DSCN0010.jpg"), "a.jpg")], sha256=DSCN0010_SHA256.upper()), headers=JSON
    )
    assert good.status_code == 201, good.get_data(as_text=True)
    assert good.get_json()["items"][0]["sha256"] == DSCN0010_SHA256


@pytest.mark.parametrize(
    ("files", "fields"),
    [
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"sha256": DSCN0021_SHA256}),  # declared hash does not match
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"sha256": "xyz"}),
        ([], {}),  # no file chosen
        ([(None, "empty.txt")], {}),  # a zero-byte file
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"classification": "top_secret"}),
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"source_reliability": "Z"}),
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"collected_at": "yesterday"}),
        ([("DSCN0010.jpg", "DSCN0010.jpg")], {"incidents": [str(uuid.uuid4())]}),
    ],
)
@pytest.mark.parametrize("mode", ["html", "json"])
def test_refused_uploads_store_nothing(
    app: Flask,
    client: FlaskClient,
    case_id: uuid.UUID,
    files: list[tuple[str | None, str]],
    fields: dict[str, Any],
    mode: str,
) -> None:
    before = custody_count(app)
    payload = [(photo(src) if src else b"", name) for src, name in files]
    response = post_upload(client, case_id, form(payload, **fields), headers=JSON if mode == "json" else {})
    assert 400 <= response.status_code < 500
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    if mode == "json":
        assert response.is_json
        error = response.get_json()["error"]
        assert error["code"] and error["message"]
        if fields.get("sha256") == DSCN0021_SHA256:
            assert DSCN0010_SHA256 in error["message"] and DSCN0021_SHA256 in error["message"]
    else:
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert 'id="upload-form"' in html  # the form comes back to be corrected
        if fields.get("sha256") == DSCN0021_SHA256:
            assert DSCN0010_SHA256 in html and DSCN0021_SHA256 in html
    assert_nothing_stored(app, before)


def test_hostile_file_name_through_the_form(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    name = "\u202egpj.<img src=x onerror=alert(1)>.exe"
    response = post_upload(client, case_id, form([(photo("Canon_40D.jpg"), name)]))
    assert response.status_code == 302
    (item,) = items(app)
    assert item.original_filename == "\\u202egpj.<img src=x onerror=alert(1)>.exe"
    for url in (response.headers["Location"], f"/evidence/{item.id}"):
        html = client.get(url).get_data(as_text=True)
        assert "\u202e" not in html
        assert "<img src=x" not in html
        assert str(escape(item.original_filename)) in html
    download = client.get(f"/evidence/{item.id}/download")
    assert download.headers["Content-Disposition"] == 'attachment; filename="WEB-00001.jpg"'


# --- who may upload ------------------------------------------------------------------------------


def test_reviewer_gets_403_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
) -> None:
    owner = make_user("investigator")
    case_id = make_case(owner, "REV")
    reviewer = make_user("reviewer")
    add_member(case_id, reviewer, "reviewer")
    login(client, reviewer)
    before = custody_count(app)
    assert client.get(f"/cases/{case_id}/evidence/upload").status_code == 403
    for headers in ({}, JSON):
        response = post_upload(client, case_id, form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")]), headers=headers)
        assert response.status_code == 403
    # The list page offers no upload button to a read-only member.
    listing = client.get(f"/cases/{case_id}/evidence").get_data(as_text=True)
    assert f"/cases/{case_id}/evidence/upload" not in listing
    assert_nothing_stored(app, before)


def test_non_member_gets_404_and_nothing_is_stored(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
) -> None:
    owner = make_user("investigator")
    case_id = make_case(owner, "SEC")
    outsider = make_user("investigator")
    login(client, outsider)
    before = custody_count(app)
    assert client.get(f"/cases/{case_id}/evidence/upload").status_code == 404
    response = post_upload(client, case_id, form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")]))
    assert response.status_code == 404
    assert "SEC" not in response.get_data(as_text=True)
    assert client.get(f"/cases/{case_id}/evidence").status_code == 404
    assert post_upload(client, uuid.uuid4(), form([(b"x", "x.txt")])).status_code == 404
    assert_nothing_stored(app, before)


def test_anonymous_upload_is_turned_away(app: Flask, make_user: Callable[..., Account], make_case) -> None:
    case_id = make_case(make_user("investigator"), "ANO")
    anonymous = app.test_client()
    before = custody_count(app)
    response = post_upload(anonymous, case_id, form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")]))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert_nothing_stored(app, before)


def test_csrf_token_is_required(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    before = custody_count(app)
    for data in (
        form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")]),
        form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")], csrf_token="forged"),
    ):
        response = post_upload(client, case_id, data)
        assert response.status_code == 400
        assert "security token" in response.get_data(as_text=True)
    assert_nothing_stored(app, before)
    # With the token from the form the same upload goes through.
    token = csrf_token(client.get(f"/cases/{case_id}/evidence/upload").get_data(as_text=True))
    response = post_upload(client, case_id, form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")], csrf_token=token))
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert [i.ern for i in items(app)] == ["WEB-00001"]


def test_csrf_failure_in_json_mode_is_explained_in_json(app: Flask, client: FlaskClient, case_id: uuid.UUID) -> None:
    """The progress script shows body.error.message: a stale form (e.g. the user logged in again in
    another tab) must say why the upload was refused, not just "HTTP 400"."""
    app.config["WTF_CSRF_ENABLED"] = True
    before = custody_count(app)
    response = post_upload(client, case_id, form([(photo("DSCN0010.jpg"), "DSCN0010.jpg")]), headers=JSON)
    assert response.status_code == 400
    assert response.is_json, response.mimetype
    assert "security token" in response.get_json()["error"]["message"]
    assert_nothing_stored(app, before)
