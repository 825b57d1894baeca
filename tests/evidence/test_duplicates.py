"""A file already in the case (same SHA-256) is not silently a second item: the uploader sees the existing item
and chooses to record the new acquisition on it (a custody entry) or to keep a separate copy (marked as such)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from support import PHOTOS, Account, Api, ledger, login

PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()


@pytest.fixture
def team(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> tuple[Api, Account, Any]:
    api, owner = api_for("investigator")
    return api, owner, make_case(owner, "DUP")


def post(api: Api, case_id: Any, content: bytes = PHOTO, **fields: str) -> Any:
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (io.BytesIO(content), "DSCN0010.jpg"), "title": "Grave site", **fields},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    return response


def count(api: Api, case_id: Any) -> int:
    return int(api.get(f"/cases/{case_id}/evidence").get_json()["total"])


def test_the_same_file_again_is_refused_naming_the_existing_item(app: Flask, team: tuple[Api, Account, Any]) -> None:
    api, _owner, case_id = team
    first = post(api, case_id).get_json()
    entries = len(ledger(app))
    again = post(api, case_id, source="a second channel")
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "duplicate" and first["ern"] in error["message"]
    assert error["existing"] == {"id": first["id"], "ern": first["ern"], "title": "Grave site"}
    assert count(api, case_id) == 1 and len(ledger(app)) == entries  # nothing recorded


def test_a_new_acquisition_is_recorded_on_the_existing_item(app: Flask, team: tuple[Api, Account, Any]) -> None:
    api, owner, case_id = team
    first = post(api, case_id).get_json()
    response = post(
        api,
        case_id,
        on_duplicate="acquisition",
        source="WhatsApp, forwarded by a relative",
        collected_by="Field team B",
        collected_at="2020-06-20T10:00:00Z",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["id"] == first["id"]
    assert count(api, case_id) == 1
    entry = ledger(app)[-1]
    assert (entry.action, str(entry.evidence_id), entry.sha256) == (
        "acquisition_recorded",
        first["id"],
        first["sha256"],
    )
    assert entry.actor == f"user:{owner.id}"
    assert entry.details["source"] == "WhatsApp, forwarded by a relative"
    assert entry.details["collected_by"] == "Field team B" and entry.details["collected_at"].startswith("2020-06-20")
    assert entry.details["original_filename"] == "DSCN0010.jpg" and entry.details["size"] == len(PHOTO)
    # The item itself is unchanged: its own source stays what it was.
    assert api.get(f"/evidence/{first['id']}").get_json()["source"] == ""
    # A new file with the same choice is simply a new item.
    fresh = post(api, case_id, content=b"a different file\n", on_duplicate="acquisition")
    assert fresh.status_code == 201 and count(api, case_id) == 2


def test_a_separate_copy_is_marked_as_one(app: Flask, team: tuple[Api, Account, Any]) -> None:
    api, _owner, case_id = team
    first = post(api, case_id).get_json()
    copy = post(api, case_id, on_duplicate="copy")
    assert copy.status_code == 201
    body = copy.get_json()
    assert body["id"] != first["id"] and body["sha256"] == first["sha256"] and body["copy_of_id"] == first["id"]
    assert first["copy_of_id"] is None
    ingested = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == body["id"]]
    assert ingested[0].details["copy_of"] == first["ern"]


def test_other_cases_and_bad_choices(
    team: tuple[Api, Account, Any], make_case: Callable[..., uuid.UUID], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    api, owner, case_id = team
    assert post(api, case_id).status_code == 201
    other = make_case(owner, "DUP2")
    assert post(api, other).status_code == 201  # a duplicate is within a case
    bad = post(api, case_id, on_duplicate="overwrite")
    assert bad.status_code == 422 and bad.get_json()["error"]["message"].startswith("Choose one of")


def test_the_upload_page_without_script_explains_and_offers_the_choice(
    app: Flask, team: tuple[Api, Account, Any]
) -> None:
    api, owner, case_id = team
    first = post(api, case_id).get_json()
    web = app.test_client()
    login(web, owner)
    form = {
        "file": (io.BytesIO(PHOTO), "again.jpg"),
        "title": "again",
        "kind": "photo",
        "classification": "confidential",
    }
    page = web.post(f"/cases/{case_id}/evidence/upload", data=form, content_type="multipart/form-data")
    page.request.input_stream.close()
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert first["ern"] in html and 'name="on_duplicate"' in html
    form = {**form, "file": (io.BytesIO(PHOTO), "again.jpg"), "on_duplicate": "acquisition"}
    done = web.post(f"/cases/{case_id}/evidence/upload", data=form, content_type="multipart/form-data")
    done.request.input_stream.close()
    assert done.status_code == 302
    assert count(api, case_id) == 1
    assert f"Recorded a new acquisition of {first['ern']}" in web.get(done.headers["Location"]).get_data(as_text=True)


def test_the_same_file_elsewhere_is_shown_only_in_the_users_own_cases(
    app: Flask,
    team: tuple[Api, Account, Any],
    make_case: Callable[..., uuid.UUID],
    api_for: Callable[..., tuple[Api, Account]],
) -> None:
    api, owner, case_id = team
    first = post(api, case_id).get_json()
    copy = post(api, case_id, on_duplicate="copy").get_json()
    mine = make_case(owner, "DUP-OWN")
    elsewhere = post(api, mine).get_json()
    stranger_api, stranger = api_for("investigator")
    hidden = post(stranger_api, make_case(stranger, "DUP-HIDDEN")).get_json()  # a case the owner is not in

    body = api.get(f"/evidence/{first['id']}").get_json()
    assert body["same_file"] == [
        {"id": copy["id"], "ern": copy["ern"], "case_id": str(case_id), "case_reference": "DUP"},
        {"id": elsewhere["id"], "ern": elsewhere["ern"], "case_id": str(mine), "case_reference": "DUP-OWN"},
    ]
    assert hidden["id"] not in str(body)
    web = app.test_client()
    login(web, owner)
    html = web.get(f"/evidence/{first['id']}").get_data(as_text=True)
    shown = html.split('id="same-file"', 1)[1].split("</dd>", 1)[0]
    assert copy["ern"] in shown and elsewhere["ern"] in shown and "DUP-OWN" in shown
    assert hidden["ern"] not in html and "DUP-HIDDEN" not in html
