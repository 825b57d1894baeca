"""Verification of evidence: checks by phase with their outcome, method and person; the status workflow (new, in
verification, verified | disputed | unverifiable, reopened); four eyes (the item's uploader or collector never
verifies it); every check and status change in the custody trail, which still verifies; through the API and the
item page, within the gate."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from support import Account, Api, ledger, login, upload

GEO = {"area": "geolocation", "outcome": "confirmed", "method": "Skyline and minaret matched to imagery of June 2020"}


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID], add_member: Callable[..., None]
) -> dict[str, Any]:
    uploader_api, uploader = api_for("investigator")
    case_id = make_case(uploader, "VER")
    verifier_api, verifier = api_for("investigator")
    add_member(case_id, verifier, "investigator")
    reviewer_api, reviewer = api_for("reviewer")
    add_member(case_id, reviewer, "reviewer")
    item = upload(uploader_api, case_id, b"a photo's bytes, as a stand-in", "photo.txt")
    return {
        "case_id": case_id,
        "item": item,
        "uploader": (uploader_api, uploader),
        "verifier": (verifier_api, verifier),
        "reviewer": (reviewer_api, reviewer),
    }


def status_of(api: Api, item: dict[str, Any]) -> str:
    return str(api.get(f"/evidence/{item['id']}/verification").get_json()["status"])


def test_four_eyes_over_the_api(app: Flask, team: dict[str, Any]) -> None:
    item = team["item"]
    uploader_api, uploader = team["uploader"]
    verifier_api, verifier = team["verifier"]
    assert status_of(uploader_api, item) == "new"
    check = uploader_api.post(f"/evidence/{item['id']}/verification/checks", json=GEO)
    assert check.status_code == 201, check.get_data(as_text=True)
    assert check.get_json()["phase"] == "content_analysis" and check.get_json()["checked_by"] == uploader.email
    mine = uploader_api.get(f"/evidence/{item['id']}/verification").get_json()
    assert mine["status"] == "in_verification" and mine["may_verify"] is False
    assert mine["moves"] == ["disputed", "unverifiable"]  # never "verified" for its uploader
    refused = uploader_api.post(f"/evidence/{item['id']}/verification/status", json={"status": "verified"})
    assert refused.status_code == 403 and "four eyes" in refused.get_json()["error"]["message"]
    assert status_of(uploader_api, item) == "in_verification"

    theirs = verifier_api.get(f"/evidence/{item['id']}/verification").get_json()
    assert theirs["may_verify"] is True and theirs["moves"] == ["verified", "disputed", "unverifiable"]
    done = verifier_api.post(f"/evidence/{item['id']}/verification/status", json={"status": "verified"})
    assert done.status_code == 200 and done.get_json()["status"] == "verified"
    assert verifier_api.get(f"/evidence/{item['id']}").get_json()["verification_status"] == "verified"
    entries = [e for e in ledger(app) if str(e.evidence_id) == item["id"] and e.action.startswith("verification")]
    assert [(e.action, e.details.get("to")) for e in entries] == [
        ("verification_checked", None),
        ("verification_status_changed", "in_verification"),
        ("verification_status_changed", "verified"),
    ]
    assert entries[0].details["method"] == GEO["method"] and entries[0].details["area"] == "geolocation"
    assert entries[-1].actor == f"user:{verifier.id}"
    verify = verifier_api.get(f"/custody/verify?case_id={team['case_id']}").get_json()
    assert verify["ok"] is True, verify


def test_the_workflow_refuses_what_it_does_not_allow(team: dict[str, Any]) -> None:
    item = team["item"]
    verifier_api, _verifier = team["verifier"]
    path = f"/evidence/{item['id']}/verification/status"
    assert verifier_api.post(path, json={"status": "verified"}).status_code == 409  # not in verification yet
    assert verifier_api.post(path, json={"status": "in_verification"}).status_code == 200
    no_check = verifier_api.post(path, json={"status": "verified"})
    assert no_check.status_code == 409 and "check" in no_check.get_json()["error"]["message"]
    verifier_api.post(f"/evidence/{item['id']}/verification/checks", json={**GEO, "outcome": "contradicted"})
    no_reason = verifier_api.post(path, json={"status": "disputed"})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    disputed = verifier_api.post(path, json={"status": "disputed", "reason": "The minaret is not Tarhouna's."})
    assert disputed.get_json()["status"] == "disputed"
    assert verifier_api.post(path, json={"status": "new"}).status_code == 409
    assert verifier_api.post(path, json={"status": "in_verification"}).get_json()["status"] == "in_verification"
    checks = f"/evidence/{item['id']}/verification/checks"
    assert verifier_api.post(checks, json={**GEO, "area": "astrology"}).status_code == 422
    assert verifier_api.post(checks, json={**GEO, "method": ""}).status_code == 422
    assert verifier_api.post(checks, json={**GEO, "extra": 1}).status_code == 422
    assert verifier_api.post(path, json={"status": "verified", "reason": "x" * 3000}).status_code == 422


def test_reviewers_read_and_outsiders_see_nothing(
    team: dict[str, Any], api_for: Callable[..., tuple[Api, Account]]
) -> None:
    item = team["item"]
    reviewer_api, _reviewer = team["reviewer"]
    assert reviewer_api.get(f"/evidence/{item['id']}/verification").status_code == 200
    assert reviewer_api.post(f"/evidence/{item['id']}/verification/checks", json=GEO).status_code == 403
    assert (
        reviewer_api.post(f"/evidence/{item['id']}/verification/status", json={"status": "in_verification"}).status_code
        == 403
    )
    outsider, _ = api_for("investigator")
    assert outsider.get(f"/evidence/{item['id']}/verification").status_code == 404
    assert outsider.post(f"/evidence/{item['id']}/verification/checks", json=GEO).status_code == 404


def test_the_collector_may_not_verify_either(
    team: dict[str, Any], api_for: Callable[..., tuple[Api, Account]], add_member: Callable[..., None]
) -> None:
    uploader_api, _uploader = team["uploader"]
    verifier_api, verifier = team["verifier"]
    collected = uploader_api.post(
        f"/cases/{team['case_id']}/evidence",
        data={
            "file": (io.BytesIO(b"collected by the verifier"), "c.txt"),
            "collected_by": verifier.email.split("@")[0].upper(),
        },
        content_type="multipart/form-data",
    ).get_json()
    verifier_api.post(f"/evidence/{collected['id']}/verification/checks", json=GEO)
    refused = verifier_api.post(f"/evidence/{collected['id']}/verification/status", json={"status": "verified"})
    assert refused.status_code == 403
    third_api, third = api_for("legal")
    add_member(team["case_id"], third, "legal")
    assert (
        third_api.post(f"/evidence/{collected['id']}/verification/status", json={"status": "verified"}).status_code
        == 200
    )


def test_checks_are_append_only(app: Flask, team: dict[str, Any]) -> None:
    verifier_api, _verifier = team["verifier"]
    verifier_api.post(f"/evidence/{team['item']['id']}/verification/checks", json=GEO)
    engine = app.extensions["casefile_db"].engine
    for statement in ("UPDATE verification_checks SET outcome = 'contradicted'", "DELETE FROM verification_checks"):
        with pytest.raises(Exception, match=r"append-only|refused"), engine.begin() as conn:
            conn.execute(text(statement))


def test_the_item_page(app: Flask, team: dict[str, Any]) -> None:
    item = team["item"]
    _uploader_api, uploader = team["uploader"]
    _verifier_api, verifier = team["verifier"]
    own = app.test_client()
    login(own, uploader)
    page = own.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'id="verification-status" data-status="new"' in page and 'id="four-eyes"' in page
    posted = own.post(f"/evidence/{item['id']}/verification/checks", data={**GEO, "notes": "<script>x</script>"})
    assert posted.status_code == 303
    page = own.get(f"/evidence/{item['id']}").get_data(as_text=True)
    form = page.split('id="status-form"', 1)[1].split("</form>", 1)[0]
    assert 'value="verified"' not in form and 'value="disputed"' in form  # not offered to the uploader
    assert "&lt;script&gt;x&lt;/script&gt;" in page and "<script>x</script>" not in page
    assert "Geolocation (where)" in page and "Content analysis" in page
    assert own.post(f"/evidence/{item['id']}/verification/status", data={"status": "verified"}).status_code == 403
    other = app.test_client()
    login(other, verifier)
    assert (
        'value="verified"'
        in other.get(f"/evidence/{item['id']}").get_data(as_text=True).split('id="status-form"', 1)[1]
    )
    assert other.post(f"/evidence/{item['id']}/verification/status", data={"status": "verified"}).status_code == 303
    assert 'data-status="verified"' in other.get(f"/evidence/{item['id']}").get_data(as_text=True)
