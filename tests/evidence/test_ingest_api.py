"""Evidence over the JSON API (DESIGN §2–§4, §8): ingest of real photographs with exact hashes and ERNs,
refusals that record nothing, hostile file names, case isolation, read-only reviewers, and the custody
entry every touch must leave behind."""

from __future__ import annotations

import hashlib
import itertools
import os
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from casefile.api.schemas import ERROR, page_of
from casefile.custody.chain import GENESIS_HASH, entry_hash
from casefile.custody.models import CustodyEntry
from casefile.custody.schemas import CUSTODY_ENTRY
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.evidence.schemas import EVIDENCE
from casefile.links.schemas import LINK
from casefile.storage import LocalBlobStore

from support import PHOTOS, Account, Api, login, validate

# Known SHA-256 of the unmodified test photographs (computed once with sha256sum): if a file or the
# ingest pipeline ever changes a single byte, these stop matching.
KNOWN_SHA256 = {
    "DSCN0010.jpg": "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035",
    "DSCN0021.jpg": "441daaea545eb8bdb1434817fc36be0baa8992a4c9ad4b089726033bfc4bc963",
    "Canon_40D.jpg": "6bfdabd4fc33d112283c147acccc574e770bbe6fbdbc3d4da968ba7b606ecc2f",
    "landscape_6.jpg": "a05082c57819232106a0612f57268efab011f7a2a477483b878a2b4509cd8e59",
    "corrupted.jpg": "dcc801f45d7607d82661d08c4c6b188bdbf3129b55f7612830a6dc3fea573023",
}
DSCN0010_SHA256 = "17307b1207eb6487d7908e9d154890b46e3d2e0192369cfd3f4c33d5a5af4035"
GPS = {"DSCN0010.jpg": (43.467448, 11.885127), "DSCN0021.jpg": (43.467082, 11.884538)}


# --- helpers -------------------------------------------------------------------------------------


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def finished(response: Any) -> Any:
    """Close the response and the request body the test client may have spooled to a temp file."""
    response.close()
    response.request.input_stream.close()
    return response


def upload(api: Api, case_id: Any, content: bytes, name: str = "file.bin", **fields: Any) -> Any:
    data = {**fields, "file": (BytesIO(content), name)}
    return finished(api.post(f"/cases/{case_id}/evidence", data=data, content_type="multipart/form-data"))


def post_form(api: Api, path: str, data: dict[str, Any]) -> Any:
    return finished(api.post(path, data=data, content_type="multipart/form-data"))


def ingest(api: Api, case_id: Any, name: str = "DSCN0010.jpg", **fields: Any) -> dict[str, Any]:
    response = upload(api, case_id, photo(name), name, **fields)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return response.get_json()


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.is_json
    body = response.get_json()
    validate(ERROR, body)
    return body["error"]


def evidence_count(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(EvidenceItem)) or 0


def custody_count(app: Flask, **where: Any) -> int:
    with app.app_context(), session_scope() as s:
        stmt = select(func.count()).select_from(CustodyEntry)
        for name, value in where.items():
            stmt = stmt.where(getattr(CustodyEntry, name) == value)
        return s.scalar(stmt) or 0


def actions(app: Flask, item_id: Any) -> list[str]:
    with app.app_context(), session_scope() as s:
        return list(
            s.scalars(
                select(CustodyEntry.action)
                .where(CustodyEntry.evidence_id == uuid.UUID(str(item_id)))
                .order_by(CustodyEntry.seq)
            )
        )


def entries(app: Flask, item_id: Any, action: str) -> list[CustodyEntry]:
    with app.app_context(), session_scope() as s:
        return list(
            s.scalars(
                select(CustodyEntry)
                .where(CustodyEntry.evidence_id == uuid.UUID(str(item_id)), CustodyEntry.action == action)
                .order_by(CustodyEntry.seq)
            )
        )


def blobs(app: Flask) -> list[str]:
    return list(app.extensions["casefile_blobs"].iter_hashes())


def spool_leftovers(app: Flask) -> list[str]:
    store = app.extensions["casefile_blobs"]
    return sorted(os.listdir(getattr(store, "tmp_dir", None) or store.spool_dir))


def assert_nothing_recorded(app: Flask, entries_before: int = 0) -> None:
    assert evidence_count(app) == 0
    assert custody_count(app) == entries_before
    assert blobs(app) == []
    assert spool_leftovers(app) == []


def new_incident(api: Api, case_id: Any, title: str) -> str:
    response = api.post(f"/cases/{case_id}/incidents", json={"title": title})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


@pytest.fixture
def team(
    api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> tuple[Api, Account, uuid.UUID]:
    api, account = api_for("investigator")
    return api, account, make_case(account, "REF")


# --- ingest of real photographs ------------------------------------------------------------------


def test_real_photos_ingest_with_exact_hashes_erns_and_metadata(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    api, _account, case_id = team
    store = app.extensions["casefile_blobs"]
    names = ["DSCN0010.jpg", "DSCN0021.jpg", "Canon_40D.jpg", "landscape_6.jpg", "corrupted.jpg"]
    for number, name in enumerate(names, start=1):
        content = photo(name)
        expected = hashlib.sha256(content).hexdigest()
        assert expected == KNOWN_SHA256[name], f"the test photo {name} itself has changed"
        response = upload(api, case_id, content, name)
        assert response.status_code == 201, response.get_data(as_text=True)[:500]
        item = response.get_json()
        validate(EVIDENCE, item)
        assert item["ern"] == f"REF-{number:05d}"
        assert item["sha256"] == KNOWN_SHA256[name]
        assert item["size"] == len(content) == (PHOTOS / name).stat().st_size
        assert item["media_type"] == "image/jpeg"
        assert item["kind"] == "photo"
        assert item["original_filename"] == name
        # What is in the store is exactly what was sent.
        assert store.rehash(item["sha256"]) == KNOWN_SHA256[name]
        downloaded = api.get(f"/evidence/{item['id']}/content")
        assert hashlib.sha256(downloaded.get_data()).hexdigest() == KNOWN_SHA256[name]
        meta = item["metadata"]
        if name == "corrupted.jpg":
            # A damaged file is still evidence: recorded, with its damage noted, not refused.
            assert item["metadata_status"] == "damaged"
            assert meta["status"] == "damaged" and meta["warnings"]
        else:
            assert item["metadata_status"] == "ok"
        if name in GPS:
            lat, lon = GPS[name]
            assert round(meta["gps"]["latitude"], 6) == lat
            assert round(meta["gps"]["longitude"], 6) == lon
            assert meta["exif"]["make"] == "NIKON"
        elif name != "corrupted.jpg":
            assert not meta.get("gps")
        if name == "DSCN0010.jpg":
            assert meta["exif"]["capture_time"] == "2008-10-22T16:28:39"
        if name == "Canon_40D.jpg":
            assert meta["exif"]["make"] == "Canon"
    listed = api.get(f"/cases/{case_id}/evidence").get_json()
    assert [i["ern"] for i in listed["items"]] == [f"REF-{n:05d}" for n in range(1, 6)]
    assert listed["total"] == 5
    assert hashlib.sha256(photo("DSCN0010.jpg")).hexdigest() == DSCN0010_SHA256


def test_ingest_is_recorded_in_the_ledger_with_the_hash(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg", title="Grave site, aerial", source="field team", collected_by="M.")
    (entry,) = entries(app, item["id"], "ingested")
    assert entry.sha256 == DSCN0010_SHA256
    assert entry.actor == f"user:{account.id}"
    assert entry.case_id == case_id
    assert entry.details["ern"] == "REF-00001"
    assert entry.details["size"] == 161713
    assert entry.details["media_type"] == "image/jpeg"
    assert entry.details["original_filename"] == "DSCN0010.jpg"


# --- declared hashes -----------------------------------------------------------------------------


def test_declared_sha256_in_upper_case_is_accepted(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    response = upload(api, case_id, photo("DSCN0010.jpg"), "DSCN0010.jpg", sha256=DSCN0010_SHA256.upper())
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["sha256"] == DSCN0010_SHA256
    (entry,) = entries(app, response.get_json()["id"], "ingested")
    assert entry.details["declared_sha256"].lower() == DSCN0010_SHA256


def test_mismatching_declared_sha256_records_nothing(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    before = custody_count(app)
    declared = KNOWN_SHA256["DSCN0021.jpg"]  # the hash of another real photo: an honest mix-up
    response = upload(api, case_id, photo("DSCN0010.jpg"), "DSCN0010.jpg", sha256=declared, title="mixed up")
    error = error_of(response, 422)
    assert DSCN0010_SHA256 in error["message"] and declared in error["message"]
    assert api.get(f"/cases/{case_id}/evidence").get_json()["items"] == []
    assert_nothing_recorded(app, before)
    # No ERN was consumed: the next good upload is still the first.
    assert ingest(api, case_id, "DSCN0010.jpg")["ern"] == "REF-00001"


def test_invalid_declared_sha256_is_refused(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    before = custody_count(app)
    for bad in ("xyz", DSCN0010_SHA256[:-1], DSCN0010_SHA256 + "0", "g" * 64):
        response = upload(api, case_id, photo("DSCN0010.jpg"), "DSCN0010.jpg", sha256=bad)
        assert error_of(response, 422)["message"]
    assert_nothing_recorded(app, before)


@pytest.mark.parametrize(
    ("fields", "content", "field"),
    [
        ({}, None, "file"),  # no file part at all
        ({}, b"", "file"),  # a zero-byte file
        ({"notes": "x"}, b"data", "notes"),  # unknown field
        ({"derivation": "transcript"}, b"data", "derivation"),  # only meaningful for /derivatives
        ({"classification": "top_secret"}, b"data", "classification"),
        ({"kind": "rumour"}, b"data", "kind"),
        ({"source_reliability": "G"}, b"data", "source_reliability"),
        ({"source_reliability": "a"}, b"data", "source_reliability"),
        ({"info_credibility": "7"}, b"data", "info_credibility"),
        ({"info_credibility": "two"}, b"data", "info_credibility"),
        ({"collected_at": "last Tuesday"}, b"data", "collected_at"),
        ({"incident_ids": "not-a-uuid"}, b"data", "incident_ids"),
        ({"title": "x" * 301}, b"data", "title"),
    ],
)
def test_bad_input_is_refused_with_422_and_nothing_is_stored(
    app: Flask, team: tuple[Api, Account, uuid.UUID], fields: dict[str, str], content: bytes | None, field: str
) -> None:
    api, _account, case_id = team
    before = custody_count(app)
    data: dict[str, Any] = dict(fields)
    if content is not None:
        data["file"] = (BytesIO(content), "statement.txt")
    response = post_form(api, f"/cases/{case_id}/evidence", data)
    error = error_of(response, 422)
    assert error["code"] == "validation_failed"
    assert field in response.get_json()["error"].get("fields", {}), response.get_json()
    assert_nothing_recorded(app, before)


# --- hostile file names --------------------------------------------------------------------------

HOSTILE_NAMES = [
    ("../../etc/passwd", "../../etc/passwd"),
    ("a\x00b.jpg", "a\\u0000b.jpg"),
    ("\u202egpj.exe", "\\u202egpj.exe"),
    ("\u202e" + "d" * 296 + ".jpg", "\\u202e" + "d" * 296 + ".jpg"),
    ("<script>alert(1)</script>.jpg", "<script>alert(1)</script>.jpg"),
]


@pytest.mark.parametrize(("name", "stored"), HOSTILE_NAMES)
def test_hostile_file_names_are_kept_as_inert_metadata(
    app: Flask,
    client: Any,
    team: tuple[Api, Account, uuid.UUID],
    tmp_path: Path,
    name: str,
    stored: str,
) -> None:
    api, account, case_id = team
    response = upload(api, case_id, photo("DSCN0010.jpg"), name)
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    item = response.get_json()
    # The name is kept as evidence of what was received, with invisible characters made visible.
    assert item["original_filename"] == stored
    assert "\u202e" not in item["title"] and "\x00" not in item["title"]
    assert item["sha256"] == DSCN0010_SHA256

    # The download is named by the ERN, never by the uploader.
    download = api.get(f"/evidence/{item['id']}/content")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="REF-00001.jpg"'

    # Nothing was written anywhere but the content-addressed store.
    store = app.extensions["casefile_blobs"]
    if isinstance(store, LocalBlobStore):
        assert sorted(os.listdir(store.root)) == ["objects", "tmp"]
        assert os.listdir(store.tmp_dir) == []
    else:
        keys = [o["Key"] for o in store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])]
        assert keys and all(k.startswith("sha256/") for k in keys), keys
        assert os.listdir(store.spool_dir) == []
    assert not (tmp_path / "etc").exists()
    for _root, _dirs, files in os.walk(tmp_path):
        for file_name in files:
            assert "passwd" not in file_name and "script" not in file_name and "gpj" not in file_name

    # The item page shows the name as text, never as markup or as a live bidi override.
    login(client, account)
    page = client.get(f"/evidence/{item['id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert" not in html
    assert "\u202e" not in html and "\x00" not in html
    if "<script>" in name:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in html
    else:
        assert stored in html


def test_header_injection_in_the_file_name_cannot_reach_the_download(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    """A name with quotes, CR/LF and a fake header, sent raw in the multipart part header."""
    api, _account, case_id = team
    boundary = "xXx-boundary"
    content = photo("Canon_40D.jpg")
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="evil\\"; x=\\"y.jpg"\r\n'
            "Content-Type: text/html\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api.client.post(
        f"/api/v1/cases/{case_id}/evidence",
        headers={**api.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        data=body,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    item = response.get_json()
    # The client's Content-Type is never trusted: the media type is sniffed from the bytes.
    assert item["media_type"] == "image/jpeg"
    download = api.get(f"/evidence/{item['id']}/content")
    assert download.headers["Content-Disposition"] == 'attachment; filename="REF-00001.jpg"'
    assert download.headers["Content-Type"] == "application/octet-stream"


# --- case isolation and roles --------------------------------------------------------------------


def test_another_cases_evidence_is_not_found(
    app: Flask,
    team: tuple[Api, Account, uuid.UUID],
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    owner_api, _owner, their_case = team
    theirs = ingest(owner_api, their_case, "DSCN0010.jpg")
    their_incident = new_incident(owner_api, their_case, "Their incident")
    outsider_api, outsider = api_for("investigator")
    my_case = make_case(outsider, "MINE")
    my_incident = new_incident(outsider_api, my_case, "My incident")
    before = custody_count(app, evidence_id=uuid.UUID(theirs["id"]))

    item_id = theirs["id"]
    checks = [
        outsider_api.get(f"/evidence/{item_id}"),
        outsider_api.get(f"/evidence/{item_id}/content"),
        outsider_api.get(f"/evidence/{item_id}/custody"),
        outsider_api.patch(f"/evidence/{item_id}", json={"title": "mine now"}),
        outsider_api.post(f"/evidence/{item_id}/links", json={"target_type": "incident", "target_id": my_incident}),
        outsider_api.post(f"/evidence/{item_id}/custody", json={"from_party": "a", "to_party": "b", "purpose": "c"}),
        post_form(
            outsider_api,
            f"/evidence/{item_id}/derivatives",
            {"derivation": "transcript", "file": (BytesIO(b"transcript"), "t.txt")},
        ),
        outsider_api.get(f"/cases/{their_case}/evidence"),
        upload(outsider_api, their_case, b"planted", "planted.txt"),
        outsider_api.get(f"/evidence/{uuid.uuid4()}"),
        outsider_api.get("/evidence/not-a-uuid"),
    ]
    for response in checks:
        assert error_of(response, 404)["code"] == "not_found"
        # Nothing in the answer confirms the item exists or leaks its data.
        assert theirs["sha256"] not in response.get_data(as_text=True)
    # The outsider's probes left no trace on the item and changed nothing.
    assert custody_count(app, evidence_id=uuid.UUID(item_id)) == before
    assert owner_api.get(f"/evidence/{item_id}").get_json()["title"] == "DSCN0010.jpg"
    assert evidence_count(app) == 1
    assert spool_leftovers(app) == []

    # Their incident cannot be attached to my evidence either (at upload, or by a link).
    before_all = custody_count(app)
    response = upload(outsider_api, my_case, photo("DSCN0021.jpg"), "DSCN0021.jpg", incident_ids=their_incident)
    error_of(response, 422)
    assert "incident_ids" in response.get_json()["error"]["fields"]
    assert evidence_count(app) == 1
    assert custody_count(app) == before_all
    assert KNOWN_SHA256["DSCN0021.jpg"] not in blobs(app)
    assert spool_leftovers(app) == []
    mine = ingest(outsider_api, my_case, "DSCN0021.jpg")
    assert mine["ern"] == "MINE-00001"
    linked = outsider_api.post(
        f"/evidence/{mine['id']}/links", json={"target_type": "incident", "target_id": their_incident}
    )
    error_of(linked, 422)
    assert outsider_api.get(f"/evidence/{mine['id']}").get_json()["links"] == []


def test_reviewer_reads_and_downloads_but_never_writes(
    app: Flask,
    team: tuple[Api, Account, uuid.UUID],
    api_for: Callable[..., tuple[Api, Account]],
    add_member: Callable[..., None],
) -> None:
    api, _account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    incident = new_incident(api, case_id, "Prison")
    reviewer_api, reviewer = api_for("reviewer")
    add_member(case_id, reviewer, "reviewer")
    before = custody_count(app)
    refused = [
        upload(reviewer_api, case_id, photo("DSCN0021.jpg"), "DSCN0021.jpg"),
        reviewer_api.patch(f"/evidence/{item['id']}", json={"title": "changed"}),
        reviewer_api.post(f"/evidence/{item['id']}/links", json={"target_type": "incident", "target_id": incident}),
        reviewer_api.post(f"/evidence/{item['id']}/custody", json={"from_party": "a", "to_party": "b", "purpose": "c"}),
        post_form(
            reviewer_api,
            f"/evidence/{item['id']}/derivatives",
            {"derivation": "transcript", "file": (BytesIO(b"words"), "t.txt")},
        ),
    ]
    for response in refused:
        assert error_of(response, 403)["code"] == "forbidden"
    assert custody_count(app) == before
    assert evidence_count(app) == 1
    assert KNOWN_SHA256["DSCN0021.jpg"] not in blobs(app)
    assert spool_leftovers(app) == []

    shown = reviewer_api.get(f"/evidence/{item['id']}")
    assert shown.status_code == 200 and shown.get_json()["title"] == "DSCN0010.jpg"
    content = reviewer_api.get(f"/evidence/{item['id']}/content")
    assert content.status_code == 200
    assert hashlib.sha256(content.get_data()).hexdigest() == DSCN0010_SHA256
    assert reviewer_api.get(f"/evidence/{item['id']}/custody").status_code == 200
    assert reviewer_api.get(f"/cases/{case_id}/evidence").get_json()["total"] == 1
    # The reviewer's reads are in the trail under the reviewer's name.
    reads = entries(app, item["id"], "viewed") + entries(app, item["id"], "downloaded")
    assert {(e.action, e.actor) for e in reads} == {
        ("viewed", f"user:{reviewer.id}"),
        ("downloaded", f"user:{reviewer.id}"),
    }


def test_requests_without_a_valid_token_are_refused(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    item = ingest(api, case_id)
    anonymous = app.test_client()
    for path in (f"/api/v1/evidence/{item['id']}", f"/api/v1/evidence/{item['id']}/content"):
        assert anonymous.get(path).status_code == 401
        assert anonymous.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert custody_count(app, evidence_id=uuid.UUID(item["id"])) == 1  # only the ingest


# --- reads are custody entries -------------------------------------------------------------------


def test_download_streams_the_exact_bytes_as_an_attachment_and_is_logged(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    api, account, case_id = team
    item = ingest(api, case_id, "DSCN0021.jpg")
    assert actions(app, item["id"]) == ["ingested"]
    response = api.get(f"/evidence/{item['id']}/content")
    assert response.status_code == 200
    body = response.get_data()
    assert hashlib.sha256(body).hexdigest() == KNOWN_SHA256["DSCN0021.jpg"]
    assert len(body) == item["size"] == int(response.headers["Content-Length"])
    assert response.headers["Content-Disposition"] == 'attachment; filename="REF-00001.jpg"'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/octet-stream"  # never rendered inline by a browser
    assert "no-store" in response.headers["Cache-Control"]
    # Before the first byte: downloaded; once the last byte is taken: completed, with the bytes sent.
    assert actions(app, item["id"]) == ["ingested", "downloaded", "download_completed"]
    (entry,) = entries(app, item["id"], "downloaded")
    assert entry.actor == f"user:{account.id}"
    assert entry.sha256 == KNOWN_SHA256["DSCN0021.jpg"]
    (ended,) = entries(app, item["id"], "download_completed")
    assert ended.details == {"via": "api", "started": entry.seq, "bytes_sent": len(body), "size": len(body)}

    shown = api.get(f"/evidence/{item['id']}")
    assert shown.status_code == 200
    validate(EVIDENCE, shown.get_json())
    assert actions(app, item["id"]) == ["ingested", "downloaded", "download_completed", "viewed"]


# --- metadata changes ----------------------------------------------------------------------------


def test_patch_changes_descriptive_metadata_with_old_and_new_values_in_the_ledger(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    api, _account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    response = api.patch(
        f"/evidence/{item['id']}",
        json={
            "title": "Tarhouna, site 3",
            "classification": "under_seal",
            "source_reliability": "B",
            "info_credibility": 2,
            "collected_at": "2020-06-11T09:30:00Z",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    validate(EVIDENCE, body)
    assert body["title"] == "Tarhouna, site 3" and body["classification"] == "under_seal"
    assert body["sha256"] == DSCN0010_SHA256 and body["ern"] == "REF-00001" and body["size"] == 161713
    (entry,) = entries(app, item["id"], "metadata_changed")
    changes = entry.details["changes"]
    assert changes["title"] == {"from": "DSCN0010.jpg", "to": "Tarhouna, site 3"}
    assert changes["classification"] == {"from": "confidential", "to": "under_seal"}
    assert changes["source_reliability"] == {"from": None, "to": "B"}
    assert changes["info_credibility"] == {"from": None, "to": 2}
    assert changes["collected_at"]["from"] is None
    assert changes["collected_at"]["to"].startswith("2020-06-11T09:30:00")
    assert entry.sha256 == DSCN0010_SHA256

    # Saving the same values again is not a change and writes nothing.
    same = api.patch(f"/evidence/{item['id']}", json={"title": "Tarhouna, site 3", "classification": "under_seal"})
    assert same.status_code == 200
    assert len(entries(app, item["id"], "metadata_changed")) == 1


@pytest.mark.parametrize(
    "patch",
    [
        {"sha256": "0" * 64},
        {"size": 1},
        {"ern": "REF-00099"},
        {"media_type": "text/html"},
        {"original_filename": "other.jpg"},
        {"case_id": str(uuid.uuid4())},
        {"parent_id": str(uuid.uuid4())},
        {"title": ""},
        {"classification": "open"},
        {"info_credibility": 9},
        {"source_reliability": "Z"},
    ],
)
def test_patch_cannot_touch_content_identity_or_break_rules(
    app: Flask, team: tuple[Api, Account, uuid.UUID], patch: dict[str, Any]
) -> None:
    api, _account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    error_of(api.patch(f"/evidence/{item['id']}", json={"title": "would change", **patch}), 422)
    after = api.get(f"/evidence/{item['id']}").get_json()
    for name in ("sha256", "size", "ern", "media_type", "original_filename", "case_id", "parent_id", "title"):
        assert after[name] == item[name]
    assert entries(app, item["id"], "metadata_changed") == []


# --- links ---------------------------------------------------------------------------------------


def test_links_to_incidents_with_a_stance(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    incident = new_incident(api, case_id, "Executions at Tarhouna prison")
    response = api.post(
        f"/evidence/{item['id']}/links",
        json={"target_type": "incident", "target_id": incident, "stance": "contradicts", "note": "alibi photo"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    link = response.get_json()
    validate(LINK, link)
    assert (link["target_type"], link["target_id"], link["stance"], link["note"]) == (
        "incident",
        incident,
        "contradicts",
        "alibi photo",
    )
    shown = api.get(f"/evidence/{item['id']}").get_json()
    assert [(lk["target_id"], lk["stance"]) for lk in shown["links"]] == [(incident, "contradicts")]
    (entry,) = entries(app, item["id"], "linked")
    assert entry.details["target_type"] == "incident"
    assert entry.details["target_id"] == incident
    assert entry.details["stance"] == "contradicts"
    # Filtering by incident finds it.
    listed = api.get(f"/cases/{case_id}/evidence?incident={incident}").get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]

    before = custody_count(app)
    for bad in (
        {"target_type": "planet", "target_id": incident},
        {"target_type": "incident", "target_id": incident, "stance": "maybe"},
        {"target_type": "incident", "target_id": "not-a-uuid"},
        {"target_type": "incident", "target_id": str(uuid.uuid4())},
        {"target_type": "incident"},
        {"target_type": "incident", "target_id": incident, "weight": 3},
    ):
        error_of(api.post(f"/evidence/{item['id']}/links", json=bad), 422)
    assert custody_count(app) == before
    assert len(api.get(f"/evidence/{item['id']}").get_json()["links"]) == 1


# --- custody -------------------------------------------------------------------------------------


def test_hand_over_and_the_custody_trail(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    api.get(f"/evidence/{item['id']}/content").get_data()
    response = api.post(
        f"/evidence/{item['id']}/custody",
        json={
            "from_party": "Field team Tarhouna",
            "to_party": "Registry, The Hague",
            "purpose": "Forensic examination",
            "location": "Tunis",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    entry = response.get_json()
    validate(CUSTODY_ENTRY, entry)
    assert entry["action"] == "transferred"
    assert entry["details"]["from_party"] == "Field team Tarhouna"
    assert entry["details"]["to_party"] == "Registry, The Hague"
    assert entry["details"]["purpose"] == "Forensic examination"
    assert entry["details"]["location"] == "Tunis"
    assert entry["sha256"] == DSCN0010_SHA256
    assert entry["actor"] == f"user:{account.id}"

    before = custody_count(app)
    for bad in (
        {"from_party": "a", "to_party": "b"},
        {"from_party": "a", "to_party": "b", "purpose": "   "},
        {"to_party": "b", "purpose": "c"},
        {"from_party": "a", "to_party": "b", "purpose": "c", "signature": "x"},
    ):
        error_of(api.post(f"/evidence/{item['id']}/custody", json=bad), 422)
    assert custody_count(app) == before

    trail = api.get(f"/evidence/{item['id']}/custody")
    assert trail.status_code == 200
    page = trail.get_json()
    validate(page_of(CUSTODY_ENTRY), page)
    got = page["items"]
    assert [e["action"] for e in got] == ["ingested", "downloaded", "download_completed", "transferred"]
    assert page["total"] == 4
    seqs = [e["seq"] for e in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    for e in got:
        # Anyone can recompute each entry's hash from what the API returns.
        assert entry_hash(e) == e["entry_hash"]
        assert e["evidence_id"] == item["id"] and e["case_id"] == str(case_id)
        assert e["sha256"] == DSCN0010_SHA256
        assert len(e["prev_hash"]) == 64
    assert got[0]["details"]["ern"] == "REF-00001"
    # Every entry links to the one before it in the instance-wide chain.
    with app.app_context(), session_scope() as s:
        chain = list(s.scalars(select(CustodyEntry).order_by(CustodyEntry.seq)))
    assert chain[0].prev_hash == GENESIS_HASH
    for earlier, later in itertools.pairwise(chain):
        assert later.prev_hash == earlier.entry_hash and later.seq == earlier.seq + 1
    # Paginated like every list.
    second = api.get(f"/evidence/{item['id']}/custody?per_page=3&page=2").get_json()
    assert [e["action"] for e in second["items"]] == ["transferred"]


# --- derivatives ---------------------------------------------------------------------------------


def test_derivative_gets_its_own_ern_and_leaves_the_original_untouched(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    api, _account, case_id = team
    parent = ingest(api, case_id, "DSCN0010.jpg", kind="photo")
    transcript = b"Caption read aloud: site 3, 11 June 2020.\n"
    response = post_form(
        api,
        f"/evidence/{parent['id']}/derivatives",
        {"derivation": "transcript", "kind": "document", "title": "Transcript", "file": (BytesIO(transcript), "t.txt")},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    child = response.get_json()
    validate(EVIDENCE, child)
    assert child["ern"] == "REF-00002"
    assert child["parent_id"] == parent["id"]
    assert child["derivation"] == "transcript"
    assert child["sha256"] == hashlib.sha256(transcript).hexdigest()
    assert child["media_type"] == "text/plain"
    after = api.get(f"/evidence/{parent['id']}").get_json()
    assert after["sha256"] == DSCN0010_SHA256 and after["size"] == parent["size"]
    assert app.extensions["casefile_blobs"].rehash(DSCN0010_SHA256) == DSCN0010_SHA256
    (created,) = entries(app, parent["id"], "derivative_created")
    assert created.details["derivative"] == "REF-00002"
    assert created.details["derivation"] == "transcript"
    assert created.sha256 == DSCN0010_SHA256
    (ingested,) = entries(app, child["id"], "ingested")
    assert ingested.details["parent"] == "REF-00001"

    before = custody_count(app)
    for data in (
        {"derivation": "forgery", "file": (BytesIO(b"x"), "x.txt")},
        {"file": (BytesIO(b"x"), "x.txt")},
        {"derivation": "transcript"},
    ):
        error_of(post_form(api, f"/evidence/{parent['id']}/derivatives", data), 422)
    assert custody_count(app) == before
    assert evidence_count(app) == 2


def test_derivative_is_never_less_restricted_than_its_original_by_default(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    """A transcript or redacted copy of a sealed or secret item must not silently become merely
    "confidential" (and so exportable where the original is not) because the client left the field out."""
    api, _account, case_id = team
    for number, level in enumerate(("secret", "under_seal"), start=1):
        # The same photo twice, deliberately: each its own item (a copy), with its own level.
        parent = ingest(api, case_id, "DSCN0010.jpg", classification=level, on_duplicate="copy")
        response = post_form(
            api,
            f"/evidence/{parent['id']}/derivatives",
            {"derivation": "redacted_copy", "file": (BytesIO(photo("Canon_40D.jpg")), f"redacted-{number}.jpg")},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["classification"] == level
    # An explicit choice is the user's to make (the web form pre-fills the original's level).
    parent = ingest(api, case_id, "DSCN0021.jpg", classification="secret")
    chosen = post_form(
        api,
        f"/evidence/{parent['id']}/derivatives",
        {"derivation": "translation", "classification": "public", "file": (BytesIO(b"text"), "t.txt")},
    )
    assert chosen.status_code == 201 and chosen.get_json()["classification"] == "public"


# --- listing -------------------------------------------------------------------------------------


def test_list_filters_combine_and_paginate(app: Flask, team: tuple[Api, Account, uuid.UUID]) -> None:
    api, _account, case_id = team
    prison = new_incident(api, case_id, "Prison")
    graves = new_incident(api, case_id, "Mass graves")
    specs = [
        # (file, fields)
        ("DSCN0010.jpg", {"classification": "public", "source_reliability": "A", "info_credibility": "1"}),
        ("DSCN0021.jpg", {"classification": "public", "source_reliability": "B", "info_credibility": "2"}),
        ("Canon_40D.jpg", {"classification": "secret", "source_reliability": "A", "info_credibility": "1"}),
        ("landscape_6.jpg", {"classification": "public", "source_reliability": "A", "info_credibility": "3"}),
    ]
    items = []
    for name, fields in specs:
        items.append(ingest(api, case_id, name, **fields))
    statement = upload(
        api,
        case_id,
        b"I saw them take my brother.",
        "w7.txt",
        kind="testimony",
        classification="public",
        source_reliability="A",
        info_credibility="1",
        incident_ids=f"{prison},{graves}",
    )
    assert statement.status_code == 201, statement.get_data(as_text=True)
    items.append(statement.get_json())
    for item in items[:2]:
        api.post(f"/evidence/{item['id']}/links", json={"target_type": "incident", "target_id": prison})
    api.post(f"/evidence/{items[2]['id']}/links", json={"target_type": "incident", "target_id": graves})

    def erns(query: str) -> list[str]:
        response = api.get(f"/cases/{case_id}/evidence?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        page = response.get_json()
        validate(page_of(EVIDENCE), page)
        return [i["ern"] for i in page["items"]]

    assert erns("") == ["REF-00001", "REF-00002", "REF-00003", "REF-00004", "REF-00005"]
    assert erns("kind=photo") == ["REF-00001", "REF-00002", "REF-00003", "REF-00004"]
    assert erns("kind=testimony") == ["REF-00005"]
    assert erns("classification=public") == ["REF-00001", "REF-00002", "REF-00004", "REF-00005"]
    assert erns("classification=public&source_reliability=A") == ["REF-00001", "REF-00004", "REF-00005"]
    assert erns("classification=public&source_reliability=A&info_credibility=1") == ["REF-00001", "REF-00005"]
    assert erns("kind=photo&classification=public&source_reliability=A&info_credibility=1") == ["REF-00001"]
    assert erns(f"incident={prison}") == ["REF-00001", "REF-00002", "REF-00005"]
    assert erns(f"incident={prison}&kind=photo&source_reliability=B") == ["REF-00002"]
    assert erns(f"incident={graves}") == ["REF-00003", "REF-00005"]
    assert erns(f"incident={graves}&classification=secret") == ["REF-00003"]
    assert erns(f"incident={uuid.uuid4()}") == []
    # Items linked at upload show their links.
    listed = api.get(f"/cases/{case_id}/evidence?kind=testimony").get_json()["items"][0]
    assert {lk["target_id"] for lk in listed["links"]} == {prison, graves}

    first = api.get(f"/cases/{case_id}/evidence?per_page=2").get_json()
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    assert [i["ern"] for i in first["items"]] == ["REF-00001", "REF-00002"]
    assert erns("per_page=2&page=3") == ["REF-00005"]
    assert erns("per_page=2&page=4") == []
    filtered = api.get(f"/cases/{case_id}/evidence?classification=public&per_page=3&page=2").get_json()
    assert filtered["total"] == 4
    assert [i["ern"] for i in filtered["items"]] == ["REF-00005"]

    for bad in (
        "kind=rumour",
        "classification=open",
        "source_reliability=Z",
        "info_credibility=0",
        "incident=nope",
        "page=0",
        "per_page=x",
    ):
        error_of(api.get(f"/cases/{case_id}/evidence?{bad}"), 422)


def test_a_form_field_whose_name_cannot_be_decoded_is_a_422_not_a_500(
    app: Flask, team: tuple[Api, Account, uuid.UUID]
) -> None:
    """Found by schemathesis: a part name with invalid UTF-8 reaches the form as None (werkzeug), and sorting the
    unknown names failed with a TypeError."""
    api, _account, case_id = team
    item = ingest(api, case_id, "DSCN0010.jpg")
    body = (
        b'--b\r\nContent-Disposition: form-data; name="e|\xc2\x85\x13\xf2\x9c\xa1\x98H"\r\n\r\nx\r\n'
        b'--b\r\nContent-Disposition: form-data; name="%0DR"\r\n\r\nfalse\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n\r\nderived\r\n--b--\r\n'
    )
    for path in (f"/cases/{case_id}/evidence", f"/evidence/{item['id']}/derivatives"):
        response = api.post(path, data=body, content_type="multipart/form-data; boundary=b")
        assert response.status_code == 422, (path, response.get_data(as_text=True))
        assert "Unknown field" in response.get_json()["error"]["message"]
