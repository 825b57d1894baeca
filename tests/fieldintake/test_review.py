"""The review queue: what phones sent becomes evidence only when an investigator accepts it (each file an item whose
`ingested` entry names the device, form, instance and person), or stays out with the reason it was rejected; from
the API and from the pages, within the authorization gate."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from io import BytesIO
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from odk_phone import PHOTO, PHOTO_2, Field, instance_id, report_xml
from support import Account, Api, csrf_token, ledger, run_queued_jobs, upload


def submit(f: Field, *, description: str = "Bodies moved at night.", files: dict[str, bytes] | None = None) -> str:
    instance = instance_id()
    files = {"1717.jpg": PHOTO} if files is None else files
    xml = report_xml(
        f.form["version"],
        instance,
        description=description,
        photos=list(files),
        incident=f.incident_id,
        place="Tarhouna",
        location="32.4351 13.6335 120.0 4.5",
        event_date="2020-06-05",
        date_precision="month",
    )
    response = f.phone.submit(xml, files)
    assert response.status_code == 201, response.text
    return instance


def page_login(client: FlaskClient, account: Account) -> None:
    """The login form with its CSRF token (the live server turns CSRF on for the whole app)."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": account.email, "password": account.password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def token_of(client: FlaskClient, path: str) -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def queue(api: Api, case_id: uuid.UUID, state: str = "pending") -> list[dict[str, Any]]:
    response = api.get(f"/cases/{case_id}/field-submissions?state={state}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["items"]


def test_accepting_records_each_file_as_evidence_with_its_provenance(
    app: Flask,
    field: Callable[..., Field],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    f = field()
    instance = submit(f, files={"1717.jpg": PHOTO, "1718.jpg": PHOTO_2})
    [pending] = queue(f.api, f.case_id)
    assert pending["instance_id"] == instance and pending["fields"]["description"] == "Bodies moved at night."
    reviewer_api, reviewer = api_for("investigator")  # a colleague reviews what the phone's owner collected
    add_member(f.case_id, reviewer, "investigator")
    accepted = reviewer_api.post(f"/field-submissions/{pending['id']}/accept")
    assert accepted.status_code == 202, accepted.get_data(as_text=True)
    assert accepted.get_json()["state"] == "accepting" and accepted.get_json()["job"]["state"] == "queued"
    run_queued_jobs(app)
    done = f.api.get(f"/field-submissions/{pending['id']}").get_json()
    assert done["state"] == "accepted" and done["reviewed_by"] == reviewer.email
    items = [f.api.get(f"/evidence/{x['evidence_id']}").get_json() for x in done["files"]]
    assert [i["sha256"] for i in items] == [hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(PHOTO_2).hexdigest()]
    first = items[0]
    assert first["collected_at"].startswith("2020-06-05") and first["collected_precision"] == "month"
    assert first["collection_place"] == "Tarhouna (32.4351, 13.6335 ±4 m)"
    assert first["description"] == "Bodies moved at night."
    assert first["collected_by"] == f.account.email.split("@")[0]  # the phone's owner, not who accepted it
    links = f.api.get(f"/evidence/{first['id']}").get_json()["links"]
    assert [link["target_id"] for link in links] == [f.incident_id]
    [ingested] = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == first["id"]]
    assert ingested.details["instance_id"] == instance
    assert ingested.details["device"] == "collect:test-phone-1"
    assert ingested.details["form"] == "casefile_field_report"
    assert ingested.details["submitted_by"] == f.account.email
    assert ingested.details["credential"] == f.phone.username
    assert ingested.details["field_submission"] == pending["id"]
    verify = f.api.get(f"/custody/verify?case_id={f.case_id}").get_json()
    assert verify["ok"] is True, verify
    again = reviewer_api.post(f"/field-submissions/{pending['id']}/accept")
    assert again.status_code == 409


def test_rejecting_keeps_everything_and_says_why(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    submit(f)
    [pending] = queue(f.api, f.case_id)
    no_reason = f.api.post(f"/field-submissions/{pending['id']}/reject", json={"reason": "  "})
    assert no_reason.status_code == 422 and "reason" in no_reason.get_json()["error"]["fields"]
    unknown = f.api.post(f"/field-submissions/{pending['id']}/reject", json={"reason": "x", "extra": 1})
    assert unknown.status_code == 422
    rejected = f.api.post(f"/field-submissions/{pending['id']}/reject", json={"reason": "Staged: same photo as 2019."})
    assert rejected.status_code == 200, rejected.get_data(as_text=True)
    assert rejected.get_json()["state"] == "rejected" and rejected.get_json()["reason"] == "Staged: same photo as 2019."
    assert f.api.post(f"/field-submissions/{pending['id']}/accept").status_code == 409
    assert f.api.get(f"/cases/{f.case_id}/evidence").get_json()["items"] == []
    [entry] = [e for e in ledger(app) if e.action == "submission_rejected"]
    assert entry.details["reason"] == "Staged: same photo as 2019." and entry.evidence_id is None
    assert queue(f.api, f.case_id, "rejected")[0]["files"][0]["sha256"] == hashlib.sha256(PHOTO).hexdigest()


def test_a_report_without_files_becomes_one_item_and_a_known_file_an_acquisition(
    app: Flask, field: Callable[..., Field]
) -> None:
    f = field()
    existing = upload(f.api, f.case_id, PHOTO, "already.jpg")
    submit(f, description="Only words.", files={})
    submit(f, description="A photo the case holds.", files={"dup.jpg": PHOTO})
    for pending in queue(f.api, f.case_id):
        assert f.api.post(f"/field-submissions/{pending['id']}/accept").status_code == 202
    run_queued_jobs(app)
    accepted = {s["fields"]["description"]: s for s in queue(f.api, f.case_id, "accepted")}
    [words] = accepted["Only words."]["files"]
    item = f.api.get(f"/evidence/{words['evidence_id']}").get_json()
    assert item["sha256"] == accepted["Only words."]["submission_sha256"] and words["role"] == "form"
    [dup] = accepted["A photo the case holds."]["files"]
    assert dup["evidence_id"] == existing["id"]
    assert [e.details["original_filename"] for e in ledger(app) if e.action == "acquisition_recorded"] == ["dup.jpg"]


def test_the_gate(
    app: Flask,
    field: Callable[..., Field],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    f = field()
    submit(f)
    [pending] = queue(f.api, f.case_id)
    outsider, _ = api_for("investigator")
    for path in (
        f"/field-submissions/{pending['id']}",
        f"/cases/{f.case_id}/field-submissions",
        f"/cases/{f.case_id}/field-forms",
        f"/cases/{f.case_id}/device-credentials",
    ):
        assert outsider.get(path).status_code == 404, path
    assert outsider.post(f"/field-submissions/{pending['id']}/accept").status_code == 404
    assert outsider.post(f"/device-credentials/{f.credential['id']}/revoke").status_code == 404
    reviewer, reviewer_account = api_for("reviewer")
    add_member(f.case_id, reviewer_account, "reviewer")
    assert reviewer.get(f"/field-submissions/{pending['id']}").status_code == 200
    assert reviewer.post(f"/field-submissions/{pending['id']}/accept").status_code == 403
    assert reviewer.post(f"/field-submissions/{pending['id']}/reject", json={"reason": "no"}).status_code == 403
    assert reviewer.post(f"/cases/{f.case_id}/device-credentials", json={"label": "mine"}).status_code == 403
    # A colleague on the case sees the queue but not my phones.
    colleague, colleague_account = api_for("investigator")
    add_member(f.case_id, colleague_account, "investigator")
    assert colleague.get(f"/cases/{f.case_id}/device-credentials").get_json()["items"] == []
    assert colleague.post(f"/device-credentials/{f.credential['id']}/revoke").status_code == 404
    listed = f.api.get(f"/cases/{f.case_id}/device-credentials").get_json()["items"]
    assert [c["username"] for c in listed] == [f.phone.username] and "password" not in listed[0]


def test_the_pages(app: Flask, client: FlaskClient, field: Callable[..., Field]) -> None:
    f = field()
    submit(f, description="<script>alert('x')</script> seen at the farm")
    submit(f, description="Second report.")
    page_login(client, f.account)
    page = client.get(f"/cases/{f.case_id}/field")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"/openrosa/cases/{f.case_id}" in html and f.phone.username in html
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    token = token_of(client, f"/cases/{f.case_id}/field")
    made = client.post(f"/cases/{f.case_id}/field/credentials", data={"label": "Phone B", "csrf_token": token})
    made_html = made.get_data(as_text=True)
    assert made.status_code == 200 and 'id="new-password"' in made_html
    assert 'id="new-password"' not in client.get(f"/cases/{f.case_id}/field").get_data(as_text=True)
    empty_label = client.post(f"/cases/{f.case_id}/field/credentials", data={"label": "", "csrf_token": token})
    assert empty_label.status_code == 422

    ids = {s["fields"]["description"]: s["id"] for s in queue(f.api, f.case_id)}
    first = ids["<script>alert('x')</script> seen at the farm"]
    shown = client.get(f"/field-submissions/{first}").get_data(as_text=True)
    assert "Accept into the case" in shown and "&lt;script&gt;" in shown and "<script>alert" not in shown
    accepted = client.post(f"/field-submissions/{first}/accept", data={"csrf_token": token})
    assert accepted.status_code == 303
    run_queued_jobs(app)
    assert "accepted" in client.get(f"/field-submissions/{first}").get_data(as_text=True)
    second = ids["Second report."]
    empty = client.post(f"/field-submissions/{second}/reject", data={"reason": "", "csrf_token": token})
    assert empty.status_code == 422 and "Say why" in empty.get_data(as_text=True)
    reason = {"reason": "Duplicate of a phone call.", "csrf_token": token}
    assert client.post(f"/field-submissions/{second}/reject", data=reason).status_code == 303
    assert "Duplicate of a phone call." in client.get(f"/field-submissions/{second}").get_data(as_text=True)
    # Offering the case's own form from the page.
    xlsform = (
        b"| survey |\n|  | type | name | label |\n|  | text | what | What |\n"
        b"| settings |\n|  | form_id |\n|  | mini |\n"
    )
    offered = client.post(
        f"/cases/{f.case_id}/field/forms",
        data={"xlsform": (BytesIO(xlsform), "mini.md"), "encrypted": "y", "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert offered.status_code == 303, offered.get_data(as_text=True)[:2000]
    forms = f.api.get(f"/cases/{f.case_id}/field-forms").get_json()["items"]
    assert {(x["form_id"], x["encrypted"]) for x in forms} >= {("mini", True)}


def test_forms_need_csrf(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    client = app.test_client()
    page_login(client, f.account)
    refused = client.post(f"/cases/{f.case_id}/field/credentials", data={"label": "Phone C"})
    assert refused.status_code in (400, 422)
    token = csrf_token(client.get(f"/cases/{f.case_id}/field").get_data(as_text=True))
    made = client.post(f"/cases/{f.case_id}/field/credentials", data={"label": "Phone C", "csrf_token": token})
    assert made.status_code == 200 and 'id="new-password"' in made.get_data(as_text=True)


def test_a_named_witness_who_consented_gets_the_statement(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    witness = f.api.post(f"/cases/{f.case_id}/witnesses", json={"full_name": "Witness Name 42"}).get_json()
    instance = instance_id()
    xml = report_xml(
        f.form["version"],
        instance,
        description="Recorded account.",
        audio="account.m4a",
        witness_pseudonym=witness["code"],
        consent="yes",
        event_date="2020-06-10",
        place="Tarhouna",
        language="ar",
    )
    assert f.phone.submit(xml, {"account.m4a": b"ID3 an audio recording, as bytes"}).status_code == 201
    unconsented = report_xml(
        f.form["version"], instance_id(), description="No consent.", witness_pseudonym=witness["code"], consent="no"
    )
    assert f.phone.submit(unconsented, {}).status_code == 201
    for pending in queue(f.api, f.case_id):
        assert f.api.post(f"/field-submissions/{pending['id']}/accept").status_code == 202
    run_queued_jobs(app)
    statements = f.api.get(f"/witnesses/{witness['id']}").get_json()["statements"]
    assert len(statements) == 1
    assert statements[0]["interview_date"] == "2020-06-10" and statements[0]["language"] == "ar"
    [accepted] = [s for s in queue(f.api, f.case_id, "accepted") if s["instance_id"] == instance]
    assert statements[0]["evidence_id"] == accepted["files"][0]["evidence_id"]


def test_what_phones_sent_is_referenced_for_fsck_and_backups(app: Flask, field: Callable[..., Field]) -> None:
    """Pending, rejected or decrypted: every file of a submission is named by a row, so fsck calls none an orphan
    and a backup copies them all."""
    from casefile.backup.blobs import referenced_blobs
    from casefile.custody.fsck import fsck
    from casefile.db import session_scope

    f = field()
    submit(f, files={"a.jpg": PHOTO})
    submit(f, description="To reject", files={"b.jpg": PHOTO_2})
    rejected = next(s for s in queue(f.api, f.case_id) if s["fields"]["description"] == "To reject")
    f.api.post(f"/field-submissions/{rejected['id']}/reject", json={"reason": "test"})
    with app.app_context(), session_scope() as s:
        report = fsck(s, app.extensions["casefile_blobs"])
        backed_up = {ref.sha256 for ref in referenced_blobs(s)}
    assert report.ok and report.orphans == []
    wanted = {hashlib.sha256(PHOTO).hexdigest(), hashlib.sha256(PHOTO_2).hexdigest()}
    wanted |= {s["submission_sha256"] for s in queue(f.api, f.case_id, "")}
    assert wanted <= backed_up


def test_withdrawing_a_form_and_revoking_a_phone_from_the_api_and_the_pages(
    app: Flask, field: Callable[..., Field]
) -> None:
    """A withdrawn form leaves the phones' form list (what they hold may still be sent); a revoked login stops."""
    from defusedxml import ElementTree

    f = field()
    withdrawn = f.api.post(f"/field-forms/{f.form['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["active"] is False
    assert ElementTree.fromstring(f.phone.get("/formList").content).findall("*") == []
    late = f.phone.submit(report_xml(f.form["version"], instance_id(), description="Held offline."), {})
    assert late.status_code == 201
    again = f.api.post(
        f"/cases/{f.case_id}/field-forms", data={"encrypted": "false"}, content_type="multipart/form-data"
    )
    assert again.status_code == 201

    client = app.test_client()
    page_login(client, f.account)
    token = token_of(client, f"/cases/{f.case_id}/field")
    assert client.post(f"/field-forms/{again.get_json()['id']}/withdraw", data={"csrf_token": token}).status_code == 303
    assert "This case offers no form to phones yet." in client.get(f"/cases/{f.case_id}/field").get_data(as_text=True)
    assert (
        client.post(f"/device-credentials/{f.credential['id']}/revoke", data={"csrf_token": token}).status_code == 303
    )
    listed = f.api.get(f"/cases/{f.case_id}/device-credentials").get_json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert f.phone.get("/formList").status_code == 401
