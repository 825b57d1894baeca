"""Web capture against a real HTTPS site on loopback (its own CA), recorded as evidence, packaged as a WACZ that
webrecorder's own validator accepts, and timestamped by OpenSSL's TSA.

The site and the TSA are tests/local_servers.py; the browser is Debian's Chromium through Playwright, as in
production."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import socket
import subprocess
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from casefile import components
from casefile.auth.models import User
from casefile.capture.models import WebCapture
from casefile.config import Settings
from casefile.custody.models import CustodyEntry
from casefile.db import session_scope

from local_servers import STATEMENT, LocalTSA, TestSite, tool
from support import Account, Api, build_dossier_now, run_queued_jobs

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def world(api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]) -> tuple[Api, uuid.UUID]:
    api, owner = api_for("investigator")
    return api, make_case(owner, reference="TRH")


def capture(app: Flask, api: Api, case_id: uuid.UUID, url: str, **fields: Any) -> dict[str, Any]:
    """Ask for a capture through the API, run its job, and check its WACZ with webrecorder's validator."""
    response = api.post(f"/cases/{case_id}/captures", json={"url": url, **fields})
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    accepted = response.get_json()
    assert accepted["state"] == "queued" and accepted["job"]["kind"] == "capture.page"
    run_queued_jobs(app)
    done = api.get(f"/captures/{accepted['id']}")
    assert done.status_code == 200
    body = done.get_json()
    assert body["state"] == "done", body["error"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "capture.wacz"
        path.write_bytes(blob(app, body["web_archive"]["sha256"]))
        check = subprocess.run([tool("wacz"), "validate", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "Validation succeeded" in check.stdout, check.stdout + check.stderr
    return body


def blob(app: Flask, sha256: str) -> bytes:
    with app.app_context(), components.blob_store(app).open(sha256) as file:
        return file.read()


def warc_records(wacz: bytes) -> list[tuple[str, str, bytes]]:
    """(type, target URI, HTTP payload) of every record in the WACZ's WARC files."""
    from warcio.archiveiterator import ArchiveIterator

    records = []
    with zipfile.ZipFile(io.BytesIO(wacz)) as archive:
        for name in archive.namelist():
            if name.startswith("archive/"):
                for record in ArchiveIterator(io.BytesIO(archive.read(name))):
                    uri = record.rec_headers.get_header("WARC-Target-URI") or ""
                    records.append((record.rec_type, uri, record.content_stream().read()))
    return records


def test_an_article_behind_a_redirect_is_captured_archived_and_timestamped(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite, tsa: LocalTSA, tmp_path: Path
) -> None:
    api, case_id = world
    incident = api.post(f"/cases/{case_id}/incidents", json={"title": "Tarhouna, mass grave 1"}).get_json()
    body = capture(
        app, api, case_id, site.url("/old-address"), incident_ids=[incident["id"]], note="Posted by the ministry"
    )
    assert body["state"] == "done", body["error"]
    assert body["final_url"] == site.url("/article") and body["http_status"] == 200
    assert body["title"] == "Exhumation at Tarhouna"
    # The chain the browser was given, judged against the site's CA (configured as a capture root).
    assert body["tls"]["valid"] is True and len(body["tls"]["chain"]) == 2
    assert body["tls"]["chain"][1]["subject"] == "CN=Casefile Test Site CA"
    roles = {item["derivation"] for item in body["artefacts"]}
    assert roles == {"screenshot", "page_print"}  # no media on an article
    archive = body["web_archive"]
    assert archive["media_type"] == "application/zip" and archive["ern"].startswith("TRH-")

    # The WACZ (valid: `capture` ran webrecorder's validator) holds the redirect and the page.
    wacz = blob(app, archive["sha256"])
    assert hashlib.sha256(wacz).hexdigest() == archive["sha256"]
    responses = {uri: payload for kind, uri, payload in warc_records(wacz) if kind == "response"}
    assert site.url("/old-address") in responses
    assert b"Kaniyat farm" in responses[site.url("/article")]
    with zipfile.ZipFile(io.BytesIO(wacz)) as zipped:
        pages = zipped.read("pages/pages.jsonl").decode().splitlines()
        [warc] = [zipped.read(n) for n in zipped.namelist() if n.startswith("archive/")]
    assert gzip.decompress(warc).startswith(b"WARC/1.1")
    assert json.loads(pages[1])["url"] == site.url("/article")

    # The screenshot is the whole page: the document's full height (far taller than the 900-pixel window).
    shot = next(item for item in body["artefacts"] if item["derivation"] == "screenshot")
    with app.app_context(), session_scope() as s:
        width, height = s.get_one(WebCapture, uuid.UUID(body["id"])).details["page_size"]
    with Image.open(io.BytesIO(blob(app, shot["sha256"]))) as image:
        assert image.format == "PNG" and (image.width, image.height) == (width, height) and height > 3000
    pdf = next(item for item in body["artefacts"] if item["derivation"] == "page_print")
    assert blob(app, pdf["sha256"]).startswith(b"%PDF-")

    # The ledger: every artefact ingested, the capture with its manifest's hash; the incident linked.
    with app.app_context(), session_scope() as s:
        row = s.get_one(WebCapture, uuid.UUID(body["id"]))
        manifest = row.manifest.encode()
        entries = list(s.scalars(select(CustodyEntry).where(CustodyEntry.case_id == case_id)))
    assert hashlib.sha256(manifest).hexdigest() == body["manifest_sha256"]
    captured = [e for e in entries if e.action == "captured"]
    assert len(captured) == 1 and captured[0].details["manifest_sha256"] == body["manifest_sha256"]
    assert sum(e.action == "ingested" for e in entries) == 3
    assert json.loads(manifest)["artefacts"][0] == {
        "role": "web_archive",
        "ern": archive["ern"],
        "sha256": archive["sha256"],
        "size": archive["size"],
        "media_type": "application/zip",
    }
    item = api.get(f"/evidence/{archive['id']}").get_json()
    assert item["kind"] == "open_source_capture" and item["source"] == site.url("/article")
    assert [(link["target_type"], link["target_id"]) for link in item["links"]] == [("incident", incident["id"])]

    # One token from the TSA over the manifest, which OpenSSL itself verifies against the TSA's root.
    [token] = body["timestamps"]
    assert token["message_sha256"] == body["manifest_sha256"] and token["tsa_url"] == tsa.url
    (tmp_path / "manifest.json").write_bytes(manifest)
    (tmp_path / "capture.tsr").write_bytes(base64.b64decode(token["token_base64"]))
    verified = tsa.openssl_verify(tmp_path / "capture.tsr", tmp_path / "manifest.json")
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr

    # The page's text is searchable; the capture is listed.
    found = api.get(f"/search?q=Kaniyat&case_id={case_id}").get_json()
    assert archive["id"] in [r["object_id"] for r in found["items"]]
    listed = api.get(f"/cases/{case_id}/captures").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_content_loaded_by_script_and_a_video_are_kept(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
) -> None:
    api, case_id = world
    scripted = capture(app, api, case_id, site.url("/scripted"))
    assert scripted["state"] == "done", scripted["error"]
    wacz = blob(app, scripted["web_archive"]["sha256"])
    responses = {uri: payload for kind, uri, payload in warc_records(wacz) if kind == "response"}
    assert responses[site.url("/data/statement.json")] == STATEMENT
    found = api.get(f"/search?q=detainees&case_id={case_id}").get_json()
    assert scripted["web_archive"]["id"] in [r["object_id"] for r in found["items"]]

    video = capture(app, api, case_id, site.url("/video"))
    assert video["state"] == "done", video["error"]
    [media] = [item for item in video["artefacts"] if item["derivation"] == "page_media"]
    assert media["sha256"] == hashlib.sha256(site.video).hexdigest() and media["size"] == len(site.video)


def test_a_page_that_changes_after_capture_keeps_what_was_captured(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
) -> None:
    api, case_id = world
    site.changing = "<html><head><title>Militia statement</title></head><body><p>First version</p></body></html>"
    first = capture(app, api, case_id, site.url("/changing"))
    site.changing = "<html><head><title>Militia statement</title></head><body><p>Second version</p></body></html>"
    second = capture(app, api, case_id, site.url("/changing"))
    old = {u: p for k, u, p in warc_records(blob(app, first["web_archive"]["sha256"])) if k == "response"}
    new = {u: p for k, u, p in warc_records(blob(app, second["web_archive"]["sha256"])) if k == "response"}
    assert b"First version" in old[site.url("/changing")] and b"Second" not in old[site.url("/changing")]
    assert b"Second version" in new[site.url("/changing")]
    assert first["web_archive"]["sha256"] != second["web_archive"]["sha256"]


def test_session_cookies_are_used_for_that_capture_only_and_erased(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
) -> None:
    api, case_id = world
    with_session = capture(app, api, case_id, site.url("/whoami"), cookies="session=s3cr3t; lang=ar")
    without = capture(app, api, case_id, site.url("/whoami"))
    texts = {}
    for body in (with_session, without):
        responses = {u: p for k, u, p in warc_records(blob(app, body["web_archive"]["sha256"])) if k == "response"}
        texts[body["id"]] = responses[site.url("/whoami")]
    assert b"session=s3cr3t; lang=ar" in texts[with_session["id"]]
    assert b"no cookie" in texts[without["id"]]
    with app.app_context(), session_scope() as s:
        assert all(row.session_cookies is None for row in s.scalars(select(WebCapture)))
    refused = api.post(f"/cases/{case_id}/captures", json={"url": site.url("/whoami"), "cookies": "not a cookie"})
    assert refused.status_code == 422 and "cookies" in refused.get_json()["error"]["fields"]


def test_a_dossier_carries_the_capture_and_the_timestamps_it_relies_on(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite, tsa: LocalTSA, tmp_path: Path
) -> None:
    api, case_id = world
    body = capture(app, api, case_id, site.url("/article"))
    ids = [body["web_archive"]["id"], *[item["id"] for item in body["artefacts"]]]
    built = build_dossier_now(api, app, case_id, {"profile": "generic", "evidence_ids": ids})
    assert built["status"] == "ready", built
    download = api.get(f"/dossiers/{built['id']}/download")
    assert download.status_code == 200
    path = tmp_path / "dossier.zip"
    path.write_bytes(download.get_data())
    download.close()  # the streamed file
    with zipfile.ZipFile(path) as zipped:
        names = zipped.namelist()
        [document_name] = [n for n in names if n.endswith("data/dossier.json")]
        root = document_name.removesuffix("data/dossier.json")
        document = json.loads(zipped.read(document_name))
        zipped.extractall(tmp_path / "bag")
    [captured] = document["captures"]
    assert captured["ern"] == body["web_archive"]["ern"] and captured["tls_valid"] is True
    subjects = sorted(t["subject"] for t in document["timestamps"])
    assert subjects == ["capture", "checkpoint"]
    bag = tmp_path / "bag" / root
    for token in document["timestamps"]:  # each one verified by OpenSSL against the TSA's root
        verified = tsa.openssl_verify(bag / token["token_file"], bag / token["data_file"])
        assert "Verification: OK" in verified.stdout, (token, verified.stderr)
    result = app.test_cli_runner().invoke(args=["dossier", "verify", str(path), "--tsa-roots", str(tsa.root_file)])
    assert result.exit_code == 0, result.output
    assert result.output.count("signature and chain verified") == 2
    # A token from an authority the recipient does not trust is reported.
    other = app.test_cli_runner().invoke(args=["dossier", "verify", str(path), "--tsa-roots", str(site.ca_file)])
    assert other.exit_code == 1 and "PROBLEM" in other.output


def test_the_command_line_captures_into_a_case_as_a_named_person(
    app: Flask, world: tuple[Api, uuid.UUID], site: TestSite
) -> None:
    with app.app_context(), session_scope() as s:
        email = s.scalars(select(User.email).order_by(User.created_at)).first()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["capture", "TRH", site.url("/article"), "--user", email, "--note", "from the CLI"])
    assert result.exit_code == 0, result.output
    assert f"Captured {site.url('/article')} (HTTP 200): Exhumation at Tarhouna" in result.output
    assert "Certificate chain: valid" in result.output and "TRH-00001" in result.output
    assert "Timestamp " in result.output
    assert runner.invoke(args=["capture", "NOPE", site.url("/article"), "--user", email]).exit_code != 0
    refused = runner.invoke(args=["capture", "TRH", "http://10.0.0.1/", "--user", email])
    assert refused.exit_code != 0 and "private network address" in refused.output
    queued = runner.invoke(args=["capture", "TRH", site.url("/article"), "--user", email, "--background"])
    assert queued.exit_code == 0 and "Queued capture" in queued.output


class TestAnAuthorityThatIsDown:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return settings.with_overrides(tsa_urls=(f"http://127.0.0.1:{port}/tsa",))

    def test_the_capture_is_recorded_and_says_it_has_no_timestamp(
        self,
        app: Flask,
        client: FlaskClient,
        logged_in: Callable[..., Account],
        make_case: Callable[..., uuid.UUID],
        site: TestSite,
    ) -> None:
        owner = logged_in("investigator")
        case_id = make_case(owner, reference="TRH")
        posted = client.post(f"/cases/{case_id}/captures", data={"url": site.url("/article")})
        assert posted.status_code == 303
        run_queued_jobs(app)
        shown = client.get(posted.headers["Location"]).get_data(as_text=True)
        assert 'data-state="done"' in shown and "No timestamp was obtained for this capture" in shown
        assert "Connection refused" in shown
        with app.app_context(), session_scope() as s:
            capture_row = s.scalars(select(WebCapture)).one()
            job_id = capture_row.job_id
        job_page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
        assert "Open the capture" in job_page and "succeeded" in job_page
