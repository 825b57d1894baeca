"""Casefile as an OpenRosa 1.0 server, driven over real HTTP as ODK Collect drives it: HTTP Digest from `requests`,
forms built by pyxform, submissions shaped by the Form Submission API (whole, duplicate, split, encrypted), and the
refusals a phone meets (wrong credential, revoked credential, a replayed header, another case)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable

import pytest
import requests
from defusedxml import ElementTree
from flask import Flask
from sqlalchemy import select

from casefile.db import session_scope
from casefile.fieldintake.models import FieldSubmission, SubmissionState

from odk_phone import PHOTO, PHOTO_2, Field, Phone, encrypt_submission, instance_id, report_xml
from support import ledger, run_queued_jobs

LIST_NS = "{http://openrosa.org/xforms/xformsList}"
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"
RESPONSE_NS = "{http://openrosa.org/http/response}"


def message(response: requests.Response) -> str:
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{RESPONSE_NS}OpenRosaResponse"
    return root.find(f"{RESPONSE_NS}message").text or ""


def submission_of(app: Flask, case_id: uuid.UUID, instance: str) -> FieldSubmission:
    with app.app_context(), session_scope() as s:
        row = s.scalar(
            select(FieldSubmission).where(FieldSubmission.case_id == case_id, FieldSubmission.instance_id == instance)
        )
        assert row is not None
        _ = list(row.files)
        s.expunge_all()
        return row


def test_form_list_download_and_manifest(field: Callable[..., Field]) -> None:
    f = field()
    anonymous = requests.get(f.phone.server + "/formList", timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Digest ")
    assert 'qop="auth"' in anonymous.headers["WWW-Authenticate"]
    assert anonymous.headers["X-OpenRosa-Version"] == "1.0"

    listing = f.phone.get("/formList")
    assert listing.status_code == 200, listing.text
    assert listing.headers["X-OpenRosa-Version"] == "1.0"
    assert listing.headers["Content-Type"].startswith("text/xml")
    forms = ElementTree.fromstring(listing.content).findall(f"{LIST_NS}xform")
    assert len(forms) == 1
    entry = {child.tag.removeprefix(LIST_NS): child.text for child in forms[0]}
    assert entry["formID"] == "casefile_field_report"
    assert entry["version"] == f.form["version"]

    download = f.phone.session.get(entry["downloadUrl"], timeout=30)
    assert download.status_code == 200
    assert entry["hash"] == "md5:" + hashlib.md5(download.content, usedforsecurity=False).hexdigest()
    xform = download.text
    assert 'id="casefile_field_report"' in xform and "jr://file-csv/incidents.csv" in xform
    assert "الموقع الجغرافي" in xform  # the Arabic labels travel with the form

    manifest = f.phone.session.get(entry["manifestUrl"], timeout=30)
    assert manifest.status_code == 200 and manifest.headers["X-OpenRosa-Version"] == "1.0"
    media = ElementTree.fromstring(manifest.content).findall(f"{MANIFEST_NS}mediaFile")
    assert [m.find(f"{MANIFEST_NS}filename").text for m in media] == ["incidents.csv"]
    csv_file = f.phone.session.get(media[0].find(f"{MANIFEST_NS}downloadUrl").text, timeout=30)
    csv_md5 = hashlib.md5(csv_file.content, usedforsecurity=False).hexdigest()
    assert media[0].find(f"{MANIFEST_NS}hash").text == "md5:" + csv_md5
    assert csv_file.text.splitlines() == ["name,label", f'{f.incident_id},"Tarhouna, Al-Rabt landfill"']


def test_head_then_submission_201_and_duplicate_202(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    head = f.phone.head("/submission")
    assert head.status_code == 204
    assert int(head.headers["X-OpenRosa-Accept-Content-Length"]) > 1_000_000
    instance = instance_id()
    xml = report_xml(
        f.form["version"],
        instance,
        description="Bodies were moved from the landfill at night.",
        photos=["1717.jpg"],
        incident=f.incident_id,
        place="Tarhouna",
        location="32.4351 13.6335 120.0 4.5",
        event_date="2020-06-05",
        date_precision="day",
    )
    first = f.phone.submit(xml, {"1717.jpg": PHOTO})
    assert first.status_code == 201, first.text
    assert "waits for review" in message(first)
    again = f.phone.submit(xml, {"1717.jpg": PHOTO})  # the phone never got the answer: it sends everything again
    assert again.status_code == 202, again.text

    row = submission_of(app, f.case_id, instance)
    assert row.state is SubmissionState.PENDING
    assert row.device_id == "collect:test-phone-1"
    assert [(x.name, x.sha256) for x in row.files] == [("1717.jpg", hashlib.sha256(PHOTO).hexdigest())]
    received = [e for e in ledger(app) if e.action == "submission_received"]
    assert len(received) == 1
    assert received[0].details["files"] == {"1717.jpg": hashlib.sha256(PHOTO).hexdigest()}
    assert received[0].details["instance_id"] == instance
    # Nothing is evidence before review.
    assert f.api.get(f"/cases/{f.case_id}/evidence").get_json()["items"] == []


def test_split_submission_is_assembled(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    instance = instance_id()
    xml = report_xml(
        f.form["version"], instance, description="Two photos sent in two parts.", photos=["a.jpg", "b.jpg"]
    )
    part_one = f.phone.submit(xml, {"a.jpg": PHOTO}, incomplete=True)
    assert part_one.status_code == 201, part_one.text
    assert submission_of(app, f.case_id, instance).state is SubmissionState.INCOMPLETE
    assert not [e for e in ledger(app) if e.action == "submission_received"]
    part_two = f.phone.submit(xml, {"a.jpg": PHOTO, "b.jpg": PHOTO_2})  # a resent part is not stored twice
    assert part_two.status_code == 201, part_two.text
    row = submission_of(app, f.case_id, instance)
    assert row.state is SubmissionState.PENDING
    assert [(x.name, x.position) for x in row.files] == [("a.jpg", 0), ("b.jpg", 1)]
    assert [e.details["files"] for e in ledger(app) if e.action == "submission_received"] == [
        {"a.jpg": hashlib.sha256(PHOTO).hexdigest(), "b.jpg": hashlib.sha256(PHOTO_2).hexdigest()}
    ]


@pytest.mark.parametrize("mgf_sha1", [True, False], ids=["mgf1-sha1", "mgf1-sha256"])
def test_encrypted_submission_is_decrypted_by_the_server(
    app: Flask, field: Callable[..., Field], mgf_sha1: bool
) -> None:
    f = field(encrypted=True)
    xform = f.phone.get("/formList")
    download = ElementTree.fromstring(xform.content).find(f"{LIST_NS}xform").find(f"{LIST_NS}downloadUrl").text
    text = f.phone.session.get(download, timeout=30).text
    public_key = text.split('base64RsaPublicKey="', 1)[1].split('"', 1)[0]
    instance = instance_id()
    plain = report_xml(
        f.form["version"], instance, description="تم نقل الجثث من المكب ليلاً", photos=["p.jpg"], place="ترهونة"
    )
    manifest, encrypted = encrypt_submission(
        public_key, f.form["version"], instance, plain, {"p.jpg": PHOTO}, mgf_sha1=mgf_sha1
    )
    assert PHOTO[:64] not in encrypted["p.jpg.enc"]
    response = f.phone.submit(manifest, encrypted)
    assert response.status_code == 201, response.text
    row = submission_of(app, f.case_id, instance)
    assert row.state is SubmissionState.DECRYPTING and row.fields == {}
    run_queued_jobs(app)
    row = submission_of(app, f.case_id, instance)
    assert row.state is SubmissionState.PENDING, row.error
    assert row.fields["description"] == "تم نقل الجثث من المكب ليلاً"
    assert row.fields["place"] == "ترهونة"
    files = {x.name: x for x in row.files}
    assert files["p.jpg"].sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert files["p.jpg"].received_sha256 == hashlib.sha256(encrypted["p.jpg.enc"]).hexdigest()
    assert files["submission.xml"].sha256 == hashlib.sha256(plain).hexdigest()
    assert files["submission.xml"].role == "form"
    from casefile.custody.fsck import fsck

    with app.app_context(), session_scope() as s:
        assert fsck(s, app.extensions["casefile_blobs"]).orphans == []  # as received and as decrypted, both named


def test_tampered_encrypted_submission_fails_and_keeps_its_files(app: Flask, field: Callable[..., Field]) -> None:
    f = field(encrypted=True)
    instance = instance_id()
    plain = report_xml(f.form["version"], instance, description="x", photos=["p.jpg"])
    public_key = _public_key(f)
    manifest, encrypted = encrypt_submission(public_key, f.form["version"], instance, plain, {"p.jpg": PHOTO})
    flipped = bytearray(encrypted["p.jpg.enc"])
    flipped[5000] ^= 0x01
    encrypted["p.jpg.enc"] = bytes(flipped)
    assert f.phone.submit(manifest, encrypted).status_code == 201
    run_queued_jobs(app)
    row = submission_of(app, f.case_id, instance)
    assert row.state is SubmissionState.FAILED
    assert "signature" in (row.error or "")
    assert {x.received_sha256 for x in row.files} == {hashlib.sha256(v).hexdigest() for v in encrypted.values()}


def _public_key(f: Field) -> str:
    listing = ElementTree.fromstring(f.phone.get("/formList").content)
    url = listing.find(f"{LIST_NS}xform").find(f"{LIST_NS}downloadUrl").text
    return f.phone.session.get(url, timeout=30).text.split('base64RsaPublicKey="', 1)[1].split('"', 1)[0]


def test_unencrypted_submission_to_an_encrypted_form_is_refused(field: Callable[..., Field]) -> None:
    f = field(encrypted=True)
    response = f.phone.submit(report_xml(f.form["version"], instance_id(), description="plain"), {})
    assert response.status_code == 422
    assert "encrypted" in message(response)


def test_wrong_and_unknown_credentials_get_401(field: Callable[..., Field]) -> None:
    f = field()
    wrong = Phone(f.phone.server, f.phone.username, f.phone.password + "x")
    assert wrong.get("/formList").status_code == 401
    assert wrong.head("/submission").status_code == 401
    unknown = Phone(f.phone.server, "nobody-1234", f.phone.password)
    assert unknown.get("/formList").status_code == 401
    # The person's own password is not a device credential.
    person = Phone(f.phone.server, f.account.email, f.account.password)
    assert person.get("/formList").status_code == 401


def test_revoked_credential_gets_401(field: Callable[..., Field]) -> None:
    f = field()
    assert f.phone.get("/formList").status_code == 200
    revoked = f.api.post(f"/device-credentials/{f.credential['id']}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    fresh = Phone(f.phone.server, f.phone.username, f.phone.password)
    assert fresh.get("/formList").status_code == 401
    response = fresh.submit(report_xml(f.form["version"], instance_id(), description="after revocation"), {})
    assert response.status_code == 401


def test_a_replayed_digest_header_is_refused(field: Callable[..., Field]) -> None:
    f = field()
    first = f.phone.get("/formList")
    assert first.status_code == 200
    header = first.request.headers["Authorization"]
    replay = requests.get(f.phone.server + "/formList", headers={"Authorization": header}, timeout=30)
    assert replay.status_code == 401


def test_a_credential_works_only_on_its_own_case(
    field: Callable[..., Field], live_server: str, make_case: Callable[..., uuid.UUID]
) -> None:
    f = field()
    other = make_case(f.account, "OTHER")
    stray = Phone(f"{live_server}/openrosa/cases/{other}", f.phone.username, f.phone.password)
    assert stray.get("/formList").status_code == 404


def test_basic_auth_only_over_https(app: Flask, field: Callable[..., Field]) -> None:
    f = field()
    path = f"/openrosa/cases/{f.case_id}/formList"
    plain = app.test_client().get(path, auth=(f.phone.username, f.phone.password))
    assert plain.status_code == 401
    secure = app.test_client().get(path, auth=(f.phone.username, f.phone.password), base_url="https://localhost")
    assert secure.status_code == 200
    assert b"casefile_field_report" in secure.data


def test_bad_submissions_get_clear_4xx(field: Callable[..., Field]) -> None:
    f = field()
    not_xml = f.phone.submit(b"<data id='casefile_field_report'", {})
    assert not_xml.status_code == 422 and "not readable XML" in message(not_xml)
    no_instance = f.phone.submit(b'<data id="casefile_field_report"><description>x</description></data>', {})
    assert no_instance.status_code == 422 and "instanceID" in message(no_instance)
    other_form = f.phone.submit(
        report_xml("1", instance_id(), description="x").replace(b"casefile_field", b"other_field"), {}
    )
    assert other_form.status_code == 422
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        b'<data id="casefile_field_report"><description>&b;</description></data>'
    )
    assert f.phone.submit(bomb, {}).status_code == 422
    no_xml = f.phone.session.post(f.phone.server + "/submission", files={"photo.jpg": ("photo.jpg", PHOTO)}, timeout=30)
    assert no_xml.status_code == 400


def test_custom_xlsform_and_refusals(field: Callable[..., Field]) -> None:
    f = field()
    xlsform = (
        b"| survey |\n|  | type | name | label |\n|  | text | what | What |\n|  | image | pic | Picture |\n"
        b"| settings |\n|  | form_title | form_id | version |\n|  | Quick note | quick_note | 3 |\n"
    )
    made = f.api.post(
        f"/cases/{f.case_id}/field-forms",
        data={"xlsform": (io.BytesIO(xlsform), "quick.md"), "encrypted": "false"},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["form_id"] == "quick_note" and made.get_json()["version"] == "3"
    listed = ElementTree.fromstring(f.phone.get("/formList").content)
    assert sorted(x.find(f"{LIST_NS}formID").text for x in listed) == ["casefile_field_report", "quick_note"]
    again = f.api.post(
        f"/cases/{f.case_id}/field-forms",
        data={"xlsform": (io.BytesIO(xlsform), "quick.md")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 409
    foreign_media = xlsform.replace(b"| text | what | What |", b"| select_one_from_file places.csv | what | What |")
    refused = f.api.post(
        f"/cases/{f.case_id}/field-forms",
        data={"xlsform": (io.BytesIO(foreign_media.replace(b"| 3 |", b"| 4 |")), "quick.md")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "places.csv" in refused.get_json()["error"]["message"]
    broken = f.api.post(
        f"/cases/{f.case_id}/field-forms",
        data={"xlsform": (io.BytesIO(b"PK\x03\x04 not really"), "form.xlsx")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 422 and "xlsform" in broken.get_json()["error"]["fields"]
