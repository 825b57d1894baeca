"""ProofMode bundles (issue: provenance): a bundle signed here with a generated OpenPGP key imports and verifies,
from the API and from the page; the same bundle with one flipped byte in the photo is imported with its failure
stated (on the item, in the API, in the custody entry); bad bundles get a clear 422, never a 500."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile import create_app
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.config import Settings
from casefile.db import session_scope
from casefile.evidence.schemas import EVIDENCE_DETAIL

from provenance_support import BLOCK, CALENDAR, PHOTO, PHOTO_NAME, fingerprint, make_bundle, new_pgp_key
from support import Account, Api, csrf_token, ledger, login, run_queued_jobs, validate

SHA = hashlib.sha256(PHOTO).hexdigest()


def post_bundle(api: Api, case_id: Any, bundle: bytes, name: str = "proofmode.zip", **fields: str) -> Any:
    response = api.post(
        f"/cases/{case_id}/proofmode-bundles",
        data={"bundle": (io.BytesIO(bundle), name), **fields},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    return response


def imported(api: Api, app: Flask, case_id: Any, bundle: bytes, **fields: str) -> dict[str, Any]:
    response = post_bundle(api, case_id, bundle, **fields)
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    accepted = response.get_json()
    assert accepted["job"]["kind"] == "provenance.proofmode_import" and len(accepted["bundle"]["media"]) == 1
    run_queued_jobs(app)
    job = api.get(f"/jobs/{accepted['job_id']}").get_json()
    assert job["state"] == "succeeded", job
    return job["result"]


@pytest.fixture
def world(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID]:
    api, owner = api_for("investigator")
    return api, owner, make_case(owner, "PRV")


def test_a_signed_bundle_imports_through_the_api_and_verifies(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any
) -> None:
    api, _owner, case_id = world
    incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Tarhouna prison"}).get_json()
    result = imported(api, app, case_id, make_bundle(pgp_key), source="Field researcher", incident_ids=incident["id"])
    [entry] = result["items"]
    assert entry["status"] == "verified" and not entry["duplicate"] and entry["problems"] == []
    assert result["verified"] == 1 and result["failed"] == 0

    body = api.get(f"/evidence/{entry['evidence_id']}").get_json()
    validate(EVIDENCE_DETAIL, body)
    assert body["sha256"] == SHA and body["original_filename"] == PHOTO_NAME and body["source"] == "Field researcher"
    assert [link["target_id"] for link in body["links"] if link.get("target_id")] in ([incident["id"]], [])
    [proof] = [p for p in body["provenance"] if p["kind"] == "proofmode"]
    assert proof["status"] == "verified" and proof["intact"] is True and proof["problems"] == []
    assert proof["key"] == fingerprint(pgp_key)
    assert "noone@proofmode.witness.org" in proof["signer"]
    assert proof["signed_at"]  # the signature's creation time
    signed = {s["what"]: s for s in proof["signed"]}
    assert signed[PHOTO_NAME] == {"what": PHOTO_NAME, "sha256": SHA, "outcome": "ok"}
    assert signed[f"{SHA}.proof.json"]["outcome"] == "ok" and signed[f"{SHA}.proof.csv"]["outcome"] == "ok"
    capture = proof["details"]["capture"]
    assert capture["proof_generated"] == "2020-06-05T14:30:15.118Z"
    assert capture["location"]["latitude"] == pytest.approx(32.3475)
    assert capture["location"]["longitude"] == pytest.approx(13.6371)
    assert capture["location"]["time"].startswith("2020-06-05T14:30:12")
    assert capture["network"]["type"] == "Mobile" and capture["device"]["device_id"] == "a1b2c3d4e5f60718"
    [ots] = [c for c in proof["details"]["checks"] if c["check"] == "opentimestamps"]
    assert ots["outcome"] == "ok" and ots["digest"] == SHA and ots["bitcoin_checked"] is False
    assert {"kind": "pending", "calendar": CALENDAR} in ots["attestations"]
    assert {"kind": "bitcoin", "height": BLOCK} in ots["attestations"]

    # Every other file of the bundle is kept beside the photo, with its own hash.
    bundle_files = zipfile.ZipFile(io.BytesIO(make_bundle(pgp_key))).namelist()
    derivatives = {d["file"]: d for d in proof["details"]["derivatives"]}
    assert set(derivatives) == set(bundle_files) - {PHOTO_NAME}
    for derivative in derivatives.values():
        item = api.get(f"/cases/{case_id}/evidence?per_page=50").get_json()["items"]
        kept = next(i for i in item if i["ern"] == derivative["ern"])
        assert kept["derivation"] == "proof_file" and kept["parent_id"] == entry["evidence_id"]
        assert kept["sha256"] == derivative["sha256"]
        content = api.get(f"/evidence/{kept['id']}/content")
        assert hashlib.sha256(content.get_data()).hexdigest() == derivative["sha256"]
        content.close()

    # The custody entry names the bundle, the key and the outcome.
    [ingested] = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == entry["evidence_id"]]
    assert ingested.details["proofmode_bundle"] == "proofmode.zip"
    assert ingested.details["key_fingerprint"] == fingerprint(pgp_key)
    assert ingested.details["proofmode_verification"] == "verified" and ingested.details["proofmode_problems"] == []

    # The bundle as received is kept and named by its check: fsck calls nothing an orphan, a backup copies it.
    from casefile.backup.blobs import referenced_blobs
    from casefile.custody.fsck import fsck
    from casefile.db import session_scope

    with app.app_context(), session_scope() as s:
        assert fsck(s, app.extensions["casefile_blobs"]).orphans == []
        assert ingested.details["proofmode_bundle_sha256"] in {ref.sha256 for ref in referenced_blobs(s)}


def test_one_flipped_byte_in_the_photo_is_imported_with_its_failure_stated(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any, client: FlaskClient
) -> None:
    api, owner, case_id = world
    result = imported(api, app, case_id, make_bundle(pgp_key, flip=True))
    [entry] = result["items"]
    assert entry["status"] == "failed" and result["failed"] == 1
    assert any("does not verify" in p for p in entry["problems"])

    body = api.get(f"/evidence/{entry['evidence_id']}").get_json()
    assert body["sha256"] != SHA  # the photo as it arrived is what is kept
    [proof] = body["provenance"]
    assert proof["status"] == "failed" and proof["intact"] is False
    codes = {c["check"]: c["outcome"] for c in proof["details"]["checks"]}
    assert codes["media_signature"] == "signature_invalid" and codes["proof_hash"] == "mismatch"
    # The proof itself is intact and signed: only the photo changed.
    assert codes["proof_json_signature"] == "ok" and codes["proof_csv_signature"] == "ok"
    assert any(body["sha256"] in p and SHA in p for p in proof["problems"])
    assert proof["key"] == fingerprint(pgp_key)

    [ingested] = [e for e in ledger(app) if e.action == "ingested" and str(e.evidence_id) == entry["evidence_id"]]
    assert ingested.details["proofmode_verification"] == "failed"
    assert len(ingested.details["proofmode_problems"]) >= 2

    login(client, owner)
    page = client.get(f"/evidence/{entry['evidence_id']}").get_data(as_text=True)
    assert 'data-kind="proofmode" data-status="failed"' in page
    assert "Does not verify" in page and fingerprint(pgp_key) in page
    assert "Still verifies" in page


def test_the_import_page_imports_a_bundle_with_csrf(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any, client: FlaskClient
) -> None:
    api, owner, case_id = world
    login(client, owner)
    app.config["WTF_CSRF_ENABLED"] = True  # off for most tests (tests/conftest.py); this one checks the form's token
    imports = client.get(f"/cases/{case_id}/imports").get_data(as_text=True)
    assert f"/cases/{case_id}/proofmode" in imports
    page = client.get(f"/cases/{case_id}/proofmode")
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))

    refused = client.post(
        f"/cases/{case_id}/proofmode",
        data={"bundle": (io.BytesIO(make_bundle(pgp_key)), "p.zip"), "classification": "confidential"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400  # no CSRF token

    response = client.post(
        f"/cases/{case_id}/proofmode",
        data={
            "csrf_token": token,
            "bundle": (io.BytesIO(make_bundle(pgp_key)), "p.zip"),
            "classification": "public",
            "source": "Phone of W-0003",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert "/jobs/" in response.headers["Location"]
    run_queued_jobs(app)
    job_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="proofmode-result"' in job_page and 'data-status="verified"' in job_page

    [item] = [i for i in api.get(f"/cases/{case_id}/evidence").get_json()["items"] if i["sha256"] == SHA]
    assert item["classification"] == "public" and item["source"] == "Phone of W-0003"
    page_html = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'data-kind="proofmode" data-status="verified"' in page_html
    assert fingerprint(pgp_key) in page_html and "32.347500, 13.637100" in page_html
    assert "Bitcoin block 654321" in page_html and "Not checked against the Bitcoin blockchain here" in page_html

    # A page refusal is a page with the reason, not a 500.
    token = csrf_token(client.get(f"/cases/{case_id}/proofmode").get_data(as_text=True))
    bad = client.post(
        f"/cases/{case_id}/proofmode",
        data={"csrf_token": token, "bundle": (io.BytesIO(b"not a zip at all"), "p.zip")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "not a readable ZIP archive" in bad.get_data(as_text=True)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_bad_bundles_get_a_clear_422_and_nothing_is_recorded(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any
) -> None:
    api, _owner, case_id = world
    good = zipfile.ZipFile(io.BytesIO(make_bundle(pgp_key)))
    files = {n: good.read(n) for n in good.namelist()}
    cases = {
        "not a zip": (b"%PDF-1.4 not a zip", "not a readable ZIP archive"),
        "climbs out": (_zip({**files, "../../etc/evil.jpg": PHOTO}), "not plain paths inside it"),
        "absolute": (_zip({**files, "/abs/evil.jpg": PHOTO}), "not plain paths inside it"),
        "no media": (_zip({n: d for n, d in files.items() if n != PHOTO_NAME}), "no photo, video or audio file"),
        "no proof": (_zip({PHOTO_NAME: PHOTO, "pubkey.asc": files["pubkey.asc"]}), "no ProofMode proof"),
        "empty": (b"", "Send the ProofMode bundle"),
    }
    before = len(ledger(app))
    for label, (data, message) in cases.items():
        response = post_bundle(api, case_id, data)
        assert response.status_code == 422, (label, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert message in error["message"], (label, error)
    missing = api.post(f"/cases/{case_id}/proofmode-bundles", data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "bundle" in missing.get_json()["error"]["message"]
    unknown = post_bundle(api, case_id, make_bundle(pgp_key), sneaky="1")
    assert unknown.status_code == 422
    assert run_queued_jobs(app) == [] and len(ledger(app)) == before
    assert api.get(f"/cases/{case_id}/evidence").get_json()["items"] == []


def test_signatures_that_cannot_be_checked_are_stated_never_silent(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any
) -> None:
    """No key in the bundle; a signature by another key; a broken signature file: imported, each problem said."""
    api, _owner, case_id = world
    no_key = imported(api, app, case_id, make_bundle(pgp_key, drop=("pubkey.asc",)))["items"][0]
    assert no_key["status"] == "failed" and any("no public key" in p for p in no_key["problems"])

    stranger = new_pgp_key()
    photo2 = bytearray(PHOTO)
    photo2[100] ^= 0x01  # another photo, so that it is not a duplicate
    other = make_bundle(
        pgp_key, bytes(photo2), name="other.jpg", other_files={"pubkey.asc": str(stranger.pubkey).encode()}
    )
    by_other = imported(api, app, case_id, other)["items"][0]
    assert by_other["status"] == "failed" and any("key other than the bundle" in p for p in by_other["problems"])

    photo3 = bytearray(PHOTO)
    photo3[200] ^= 0x01
    sha3 = hashlib.sha256(photo3).hexdigest()
    broken = make_bundle(pgp_key, bytes(photo3), name="broken.jpg", other_files={f"{sha3}.asc": b"garbage\x00\xff"})
    garbled = imported(api, app, case_id, broken)["items"][0]
    assert garbled["status"] == "failed" and any("cannot be read" in p for p in garbled["problems"])


def test_a_photo_already_in_the_case_gets_the_proof_as_a_new_acquisition(
    app: Flask, world: tuple[Api, Account, uuid.UUID], pgp_key: Any
) -> None:
    api, _owner, case_id = world
    first = imported(api, app, case_id, make_bundle(pgp_key))["items"][0]
    again = imported(api, app, case_id, make_bundle(pgp_key))["items"][0]
    assert again["duplicate"] is True and again["evidence_id"] == first["evidence_id"]
    assert again["status"] == "verified"
    items = api.get(f"/cases/{case_id}/evidence?per_page=100").get_json()["items"]
    assert len([i for i in items if i["sha256"] == SHA]) == 1
    acquisitions = [
        e for e in ledger(app) if e.action == "acquisition_recorded" and str(e.evidence_id) == first["evidence_id"]
    ]
    assert acquisitions and acquisitions[0].details["proofmode_verification"] == "verified"


def test_reviewers_and_non_members_cannot_import(
    app: Flask,
    world: tuple[Api, Account, uuid.UUID],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
    pgp_key: Any,
) -> None:
    _api, _owner, case_id = world
    outsider, _ = api_for("investigator")
    assert post_bundle(outsider, case_id, make_bundle(pgp_key)).status_code == 404
    reviewer, account = api_for("reviewer")
    add_member(case_id, account, "reviewer")
    assert post_bundle(reviewer, case_id, make_bundle(pgp_key)).status_code == 403
    assert run_queued_jobs(app) == []


def test_huge_bundles_and_bombs_are_refused_clearly(
    app: Flask, settings: Settings, world: tuple[Api, Account, uuid.UUID], pgp_key: Any
) -> None:
    api, owner, case_id = world
    # Over the instance's upload limit: 413 before anything is read.
    small = create_app(settings.with_overrides(max_upload_bytes=256 * 1024))
    try:
        with small.app_context(), session_scope() as s:
            user = s.get(User, owner.id)
            assert user is not None
            token = auth_services.create_api_token(s, user)
        big = make_bundle(pgp_key, other_files={"padding.bin": os.urandom(300 * 1024)})
        response = post_bundle(Api(small.test_client(), token), case_id, big)
        assert response.status_code == 413 and response.is_json
    finally:
        small.extensions["casefile_db"].dispose()

    # A photo that expands a thousand times inside the ZIP: the job stops and says why; nothing is recorded.
    bomb = make_bundle(pgp_key, other_files={"bomb.jpg": b"\0" * (20 * 1024 * 1024)})
    response = post_bundle(api, case_id, bomb)
    assert response.status_code == 202
    before = len(ledger(app))
    run_queued_jobs(app)
    job = api.get(f"/jobs/{response.get_json()['job_id']}").get_json()
    assert job["state"] == "failed" and "decompression bomb" in job["error"]
    assert len(ledger(app)) == before
