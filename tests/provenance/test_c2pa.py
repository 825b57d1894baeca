"""C2PA Content Credentials (issue: provenance): a JPEG signed here with c2pa-python's Builder is read and validated
at ingest; the item page, the API and a dossier's JSON and PDF show its signer, claim generator, actions and
validation status; a copy changed after signing is reported as failing, and an edit signed as one shows "edited"."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from casefile.provenance.c2pa_check import read_credentials, status_of

from provenance_support import PHOTO, SIGNER_CN
from support import Account, Api, build_dossier_now, login, run_queued_jobs

# An edit: the original opened (its parentOf ingredient, labelled "original" by the signer), then edited.
EDITED = [{"action": "c2pa.opened", "parameters": {"ingredientIds": ["original"]}}, {"action": "c2pa.edited"}]
CREATED = [
    {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}
]


def upload(api: Api, case_id: Any, data: bytes, name: str, **fields: str) -> dict[str, Any]:
    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (io.BytesIO(data), name), **fields},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return response.get_json()


@pytest.fixture
def world(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID]:
    api, owner = api_for("legal")
    return api, owner, make_case(owner, "CRD")


def test_a_signed_jpeg_is_validated_at_ingest_and_shown(
    app: Flask, world: tuple[Api, Account, uuid.UUID], sign_jpeg: Callable[..., bytes], client: FlaskClient
) -> None:
    api, owner, case_id = world
    signed = sign_jpeg(PHOTO, CREATED, title="tarhouna.jpg")
    item = upload(api, case_id, signed, "tarhouna.jpg")
    credentials = item["metadata"]["c2pa"]
    # The signature and the hashes hold; the test CA is on no trust list: untrusted, not failed.
    assert credentials["status"] == "untrusted" and credentials["validation_state"] == "Valid"
    assert [f["code"] for f in credentials["failures"]] == ["signingCredential.untrusted"]
    assert "assertion.dataHash.match" in credentials["successes"]
    assert credentials["signer"]["common_name"] == SIGNER_CN and credentials["signer"]["issuer"] == "Casefile tests"
    assert credentials["claim_generator"].startswith("Casefile test camera 1.0")
    assert [a["action"] for a in credentials["actions"]] == ["c2pa.created"]
    assert credentials["actions"][0]["digital_source_type"] == "digitalCapture"
    assert item["metadata"]["status"] == "ok"  # the EXIF is read as before

    body = api.get(f"/evidence/{item['id']}").get_json()
    [entry] = body["provenance"]
    assert entry["kind"] == "c2pa" and entry["status"] == "untrusted" and entry["intact"] is True
    assert entry["signer"] == f"{SIGNER_CN}, Casefile tests" and entry["key"]
    assert entry["signed"] == [{"what": "tarhouna.jpg", "sha256": item["sha256"], "outcome": "ok"}]
    assert entry["problems"] == []  # untrusted is said by the status, not as a problem
    assert entry["details"]["claim_generator"].startswith("Casefile test camera")

    login(client, owner)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'data-kind="c2pa" data-status="untrusted"' in page
    assert SIGNER_CN in page and "Casefile test camera 1.0" in page
    assert "Created" in page and "c2pa.created" in page
    assert "Intact, but the signer is not on a trust list here" in page


def test_a_copy_changed_after_signing_fails_and_an_edit_signed_as_one_says_edited(
    app: Flask, world: tuple[Api, Account, uuid.UUID], sign_jpeg: Callable[..., bytes], client: FlaskClient
) -> None:
    api, owner, case_id = world
    signed = sign_jpeg(PHOTO, CREATED)
    tampered = bytearray(signed)
    tampered[-5000] ^= 0xFF  # in the image data, after the manifest: the hard binding no longer matches
    item = upload(api, case_id, bytes(tampered), "tampered.jpg")
    assert item["metadata"]["c2pa"]["status"] == "failed"
    [entry] = api.get(f"/evidence/{item['id']}").get_json()["provenance"]
    assert entry["status"] == "failed" and entry["intact"] is False
    assert entry["signed"][0]["outcome"] == "mismatch"
    assert any(p.startswith("assertion.dataHash.mismatch") for p in entry["problems"])
    login(client, owner)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert 'data-kind="c2pa" data-status="failed"' in page and "assertion.dataHash.mismatch" in page
    assert "Does not verify" in page

    # An edited copy that says so: its own manifest, with the original as its parent ingredient.
    edit = sign_jpeg(PHOTO[:-2] + b"\x00\xff\xd9", EDITED, title="cropped.jpg", parent=signed)
    edited = upload(api, case_id, edit, "cropped.jpg")
    credentials = edited["metadata"]["c2pa"]
    assert credentials["status"] == "untrusted"
    assert [a["action"] for a in credentials["actions"]] == ["c2pa.opened", "c2pa.edited"]
    assert credentials["ingredients"][0]["relationship"] == "parentOf"
    page = client.get(f"/evidence/{edited['id']}").get_data(as_text=True)
    assert "Edited" in page and "c2pa.edited" in page and "original.jpg" in page


def test_files_without_credentials_show_none_and_ordinary_uploads_are_unchanged(
    app: Flask, world: tuple[Api, Account, uuid.UUID], client: FlaskClient
) -> None:
    api, owner, case_id = world
    item = upload(api, case_id, PHOTO, "plain.jpg")
    assert "c2pa" not in item["metadata"]
    text = upload(api, case_id, b"a statement\n", "statement.txt")
    assert "c2pa" not in text["metadata"]
    assert api.get(f"/evidence/{item['id']}").get_json()["provenance"] == []
    login(client, owner)
    assert 'id="provenance-none"' in client.get(f"/evidence/{item['id']}").get_data(as_text=True)


def test_status_words_keep_trust_apart_from_tampering() -> None:
    assert status_of("Trusted", []) == "verified"
    assert status_of("Valid", ["signingCredential.untrusted"]) == "untrusted"
    assert status_of("Invalid", ["signingCredential.untrusted", "assertion.dataHash.mismatch"]) == "failed"
    assert status_of("", ["claimSignature.mismatch"]) == "failed"
    assert read_credentials(io.BytesIO(b"not an image"), "text/plain") is None
    damaged = io.BytesIO(PHOTO[:2000])
    assert read_credentials(damaged, "image/jpeg") is None and damaged.tell() == 0


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is required")
def test_a_dossier_carries_the_provenance_in_its_json_and_pdf(
    app: Flask, world: tuple[Api, Account, uuid.UUID], sign_jpeg: Callable[..., bytes], tmp_path: Path
) -> None:
    api, _owner, case_id = world
    incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Graves"}).get_json()
    signed = upload(
        api, case_id, sign_jpeg(PHOTO, CREATED), "signed.jpg", classification="public", incident_ids=incident["id"]
    )
    run_queued_jobs(app)
    built = build_dossier_now(api, app, case_id, {"profile": "generic"})
    assert built["status"] == "ready", built
    download = api.get(f"/dossiers/{built['id']}/download")
    with zipfile.ZipFile(io.BytesIO(download.get_data())) as bag:
        names = bag.namelist()
        document = json.loads(bag.read(next(n for n in names if n.endswith("data/dossier.json"))))
        pdf = bag.read(next(n for n in names if n.endswith("data/dossier.pdf")))
    download.close()
    [record] = [e for e in document["evidence"] if e["ern"] == signed["ern"]]
    [entry] = record["provenance"]
    assert entry["kind"] == "c2pa" and entry["status"] == "untrusted"
    assert entry["signer"].startswith(SIGNER_CN)
    assert [a["action"] for a in entry["details"]["actions"]] == ["c2pa.created"]
    (tmp_path / "d.pdf").write_bytes(pdf)
    text = " ".join(
        subprocess.run(["pdftotext", str(tmp_path / "d.pdf"), "-"], capture_output=True, text=True).stdout.split()
    )
    assert "C2PA Content Credentials" in text and SIGNER_CN in text
    assert "Intact, but the signer is not on a trust list here" in text and "Created" in text
