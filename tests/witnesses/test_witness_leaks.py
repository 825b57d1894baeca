"""A witness's identity must not leak anywhere (DESIGN §2 Witness, §6): not in the database files or a database
dump, not in any page or API response a member without the identity permission can reach, not in error responses,
not in the logs and not in the custody ledger, even after reveals and edits by permitted members."""

from __future__ import annotations

import html
import json
import logging
import re
import sqlite3
import subprocess
import uuid
from collections import deque
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from casefile.custody.models import CustodyEntry
from casefile.db import session_scope

from support import PHOTOS
from witness_support import ARABIC, NAME, PHONE, WitnessCase, finished, web_client

ADDRESS = "Wadi Rabie farm road 17"
NOTES = "Brother detained at Tarhouna prison; fears the Kaniyat"
SECRETS = (NAME, PHONE, ARABIC, ADDRESS, NOTES)
# Fragments, so a name that is split, reformatted or partly escaped is still caught.
FRAGMENTS = ("Zubaida", "Qarawi", "5550199", "زبيدة", "القراوي", "Wadi Rabie", "fears the Kaniyat")
FIRST = {"full_name": NAME, "other_names": ARABIC, "contact": PHONE, "address": ADDRESS, "notes": NOTES}
SECOND = {"full_name": ARABIC, "contact": PHONE, "date_of_birth": "1990-01-31", "risk_level": "extreme"}
NEW_PHONE = "+218-92-5550777"

# --- helpers --------------------------------------------------------------------------------------------------------


def texts_of(response: Any) -> list[str]:
    data = response.get_data()
    raw = data.decode("utf-8", errors="replace")
    texts = [raw, html.unescape(raw)]
    if response.is_json:
        texts.append(json.dumps(response.get_json(), ensure_ascii=False))
    texts.extend(f"{k}: {v}" for k, v in response.headers.items())
    return texts


def leaked_in(text: str) -> list[str]:
    return [s for s in (*SECRETS, *FRAGMENTS, NEW_PHONE) if s in text]


def assert_clean(response: Any, where: str = "") -> None:
    for text in texts_of(response):
        found = leaked_in(text)
        assert not found, f"{found} leaked by {response.request.method} {where or response.request.path}"


class Scene(WitnessCase):
    """A case whose two witnesses were registered (form and API), consented, gave a statement that was
    translated, and whose identities a permitted member revealed over the API."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        case_id, api, web = self.case_id, self.owner_api, self.owner_web
        created = web.post(f"/cases/{case_id}/witnesses/new", data={**FIRST, "risk_level": "high"})
        assert created.status_code == 302, created.get_data(as_text=True)[:300]
        assert_clean(created)
        second = api.post(f"/cases/{case_id}/witnesses", json=SECOND)
        assert second.status_code == 201
        assert_clean(second)
        witnesses = api.get(f"/cases/{case_id}/witnesses").get_json()["items"]
        assert [w["code"] for w in witnesses] == ["W-0001", "W-0002"]
        first_id = witnesses[0]["id"]

        consent = {"purpose": "share_icc", "granted": True, "how_recorded": "signed form", "recorded_on": "2020-07-14"}
        assert api.post(f"/witnesses/{first_id}/consents", json=consent).status_code == 201

        upload = web.post(
            f"/cases/{case_id}/evidence/upload",
            data={
                "file": (BytesIO(b"Statement of W-0001: the detention of my brother.\n"), "statement.txt"),
                "title": "Statement of W-0001",
                "classification": "confidential",
                "witness_id": first_id,
                "interview_date": "2020-07-14",
                "interview_place": "Tripoli",
                "interviewer": "Investigator A",
                "language": "Arabic",
                "interpreter": "Interpreter B",
            },
            content_type="multipart/form-data",
        )
        finished(upload)
        assert upload.status_code == 302, upload.get_data(as_text=True)[:300]
        items = api.get(f"/cases/{case_id}/evidence").get_json()["items"]
        (statement,) = items
        derivative = finished(
            api.post(
                f"/evidence/{statement['id']}/derivatives",
                data={
                    "file": (BytesIO(b"English translation of the statement.\n"), "en.txt"),
                    "derivation": "translation",
                },
                content_type="multipart/form-data",
            )
        )
        assert derivative.status_code == 201, derivative.get_data(as_text=True)[:300]
        photo = finished(
            api.post(
                f"/cases/{case_id}/evidence",
                data={"file": (BytesIO((PHOTOS / "DSCN0010.jpg").read_bytes()), "DSCN0010.jpg"), "kind": "photo"},
                content_type="multipart/form-data",
            )
        )
        assert photo.status_code == 201

        for witness in witnesses:
            query = {"reveal": "true", "reason": "prepare interview"}
            revealed = api.get(f"/witnesses/{witness['id']}", query_string=query)
            assert revealed.status_code == 200
            assert revealed.get_json()["identity"]["contact"] == PHONE
        self.witnesses: list[dict[str, Any]] = witnesses
        self.evidence: list[dict[str, Any]] = api.get(f"/cases/{case_id}/evidence").get_json()["items"]


@pytest.fixture
def scene(app: Flask, make_user, make_case, add_member, api_for) -> Scene:
    return Scene(app, make_user, make_case, add_member, api_for)


def encodings(secret: str) -> list[bytes]:
    return [secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("utf-16-be")]


def assert_bytes_clean(blob: bytes, where: str) -> None:
    for secret in (*SECRETS, *FRAGMENTS):
        for encoded in encodings(secret):
            assert encoded not in blob, f"{secret!r} ({len(encoded)} bytes) found in {where}"


def database_bytes(app: Flask, database_url: str) -> dict[str, bytes]:
    url = make_url(database_url)
    # From the URL, not the root conftest's DB_KIND: in a full run the module name `conftest` is ambiguous.
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(FULL)").fetchall()
        finally:
            conn.close()
        files = {}
        for suffix in ("", "-wal", "-journal"):
            candidate = Path(f"{path}{suffix}")
            if candidate.exists():
                files[candidate.name] = candidate.read_bytes()
        assert path.name in files and len(files[path.name]) > 0
        return files
    host = url.query.get("host", "/var/run/postgresql")
    host = host[0] if isinstance(host, tuple) else host
    dump = subprocess.run(
        ["pg_dump", "-h", host, "-U", url.username or "root", "--no-owner", url.database or ""],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return {"pg_dump": dump.stdout}


# --- (a) the database ----------------------------------------------------------------------------------------------


def test_the_database_holds_no_identity_in_any_encoding(scene: Scene, database_url: str) -> None:
    # Refused input must not leave a trace either (a rolled-back write may still reach the WAL).
    bad = scene.owner_api.post(f"/cases/{scene.case_id}/witnesses", json={**FIRST, "risk_level": "nope"})
    assert bad.status_code == 422
    files = database_bytes(scene.app, database_url)
    for name, blob in files.items():
        assert_bytes_clean(blob, name)
    # The check is not vacuous: what is stored in the clear is found in the very same bytes.
    everything = b"".join(files.values())
    assert b"W-0002" in everything
    assert b"signed form" in everything
    assert b"prepare interview" in everything
    assert b"Investigator A" in everything


# --- (b) everything a member without the permission can reach ------------------------------------------------------

SKIP = re.compile(r"^/(static/|logout|language)")


def crawl(client: FlaskClient, starts: list[str], limit: int = 300) -> dict[str, Any]:
    """Breadth-first over every same-site link and form GET target reachable from the start pages."""
    seen: dict[str, Any] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response
        if response.status_code in (301, 302, 303):
            queue.append(response.headers["Location"])
            continue
        if not (response.mimetype or "").startswith("text/html"):
            continue
        for href in re.findall(r'(?:href|src)="([^"#]+)"', response.get_data(as_text=True)):
            target = urljoin(url, html.unescape(href))
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "localhost":
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if path.startswith("/") and not SKIP.match(path) and path not in seen:
                queue.append(path)
    return seen


@pytest.mark.parametrize("role", ["investigator", "reviewer", "legal"])
def test_member_without_permission_reaches_no_identity(scene: Scene, role: str) -> None:
    member = scene.member(role)
    client = web_client(scene.app, member)
    case = scene.case_id
    witness_pages = [f"/witnesses/{w['id']}" for w in scene.witnesses]
    item_pages = [f"/evidence/{e['id']}" for e in scene.evidence]
    required = [
        "/",
        f"/cases/{case}",
        f"/cases/{case}/witnesses",
        f"/cases/{case}/evidence",
        f"/cases/{case}/members",
        "/custody",
        *witness_pages,
        *item_pages,
    ]
    pages = crawl(client, required)
    for url in required:
        assert pages[url].status_code == 200, (url, pages[url].status_code)
    for url, response in pages.items():
        assert response.status_code < 500, (url, response.status_code)
        assert_clean(response, url)
    # The crawl really saw the witnesses and their statements, by pseudonym.
    everything = "".join(r.get_data().decode("utf-8", errors="replace") for r in pages.values())
    assert "W-0001" in everything and "W-0002" in everything and "Investigator A" in everything
    verify = client.post("/custody/verify", data={"case_id": str(case)})
    assert verify.status_code == 200
    assert_clean(verify)

    api = scene.api(member)
    routes = [
        f"/cases/{case}",
        f"/cases/{case}/witnesses",
        f"/cases/{case}/evidence",
        f"/cases/{case}/members",
        f"/custody/verify?case_id={case}",
        *(f"/witnesses/{w['id']}" for w in scene.witnesses),
        *(f"/evidence/{e['id']}" for e in scene.evidence),
        *(f"/evidence/{e['id']}/custody" for e in scene.evidence),
        *(f"/evidence/{e['id']}/content" for e in scene.evidence),
    ]
    for path in routes:
        response = api.get(path)
        assert response.status_code == 200, (path, response.status_code)
        assert_clean(response, path)
    statements = api.get(f"/witnesses/{scene.witnesses[0]['id']}").get_json()["statements"]
    assert [s["interviewer"] for s in statements] == ["Investigator A"]
    for path in (f"/witnesses/{w['id']}?reveal=true&reason=curious" for w in scene.witnesses):
        refused = api.get(path)
        assert refused.status_code == 403
        assert_clean(refused, path)


def test_a_permitted_member_sees_no_identity_without_asking(scene: Scene) -> None:
    for url in (
        f"/cases/{scene.case_id}/witnesses",
        *(f"/witnesses/{w['id']}" for w in scene.witnesses),
        *(f"/evidence/{e['id']}" for e in scene.evidence),
    ):
        response = scene.owner_web.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert_clean(response, url)
    for w in scene.witnesses:
        assert_clean(scene.owner_api.get(f"/witnesses/{w['id']}"))


# --- (c) error paths -------------------------------------------------------------------------------------------------


def test_validation_errors_on_witness_forms_do_not_show_the_identity(scene: Scene) -> None:
    wid = scene.witnesses[0]["id"]
    client = scene.owner_web
    consent_errors = [
        {"purpose": "share_icc", "granted": "false", "how_recorded": ""},
        {"purpose": "share_icc", "granted": "false", "how_recorded": "   "},
        {"purpose": "share_icc", "granted": "false", "how_recorded": "form", "recorded_on": "2999-01-01"},
        {"purpose": "share_everyone", "granted": "true", "how_recorded": "form"},
        {"purpose": "share_icc", "granted": "maybe", "how_recorded": "form"},
        {"purpose": "share_icc", "granted": "true", "how_recorded": "x" * 301},
    ]
    for data in consent_errors:
        response = client.post(f"/witnesses/{wid}/consent", data=data)
        assert response.status_code == 422, (data, response.status_code)
        assert_clean(response)
    for risk in ("catastrophic", "", "HIGH"):
        response = client.post(f"/witnesses/{wid}/risk", data={"risk_level": risk})
        assert 400 <= response.status_code < 500, (risk, response.status_code)
        assert_clean(response)
    for reason in ("", " "):
        response = client.post(f"/witnesses/{wid}/reveal", data={"reason": reason})
        assert response.status_code == 422
        assert_clean(response)
    # Registering another witness with a mistake re-displays what was just typed, never a stored identity.
    for data in ({"full_name": "Another Person", "risk_level": "catastrophic"}, {"full_name": "", "contact": "x"}):
        response = client.post(f"/cases/{scene.case_id}/witnesses/new", data=data)
        assert response.status_code == 422, (data, response.status_code)
        assert_clean(response)
    too_long = client.post(f"/witnesses/{wid}/reveal", data={"reason": "r" * 501})
    assert too_long.status_code == 422
    assert_clean(too_long)

    api = scene.owner_api
    for body in (
        {"purpose": "share_icc", "granted": True, "how_recorded": ""},
        {"purpose": "share_icc", "granted": True},
        {"purpose": "share_icc", "granted": True, "how_recorded": "form", "recorded_on": "2999-01-01"},
        {"purpose": "share_icc", "granted": True, "how_recorded": "form", "recorded_on": "14/07/2020"},
        {"purpose": "nope", "granted": True, "how_recorded": "form"},
        {"purpose": "share_icc", "granted": "perhaps", "how_recorded": "form"},
        {"purpose": "share_icc", "granted": True, "how_recorded": "form", "extra": NAME},
    ):
        response = api.post(f"/witnesses/{wid}/consents", json=body)
        assert response.status_code == 422, (body, response.status_code)
        assert_clean(response)
    for query in ({"reveal": "true", "reason": ""}, {"reveal": "true", "reason": "r" * 501}):
        response = api.get(f"/witnesses/{wid}", query_string=query)
        assert response.status_code == 422
        assert_clean(response)
    for payload in (
        {**SECOND, "risk_level": "catastrophic"},
        {**SECOND, "date_of_birth": "31/01/1990"},
        {**SECOND, "full_name": 42},
        {**SECOND, "address": ADDRESS * 100},
    ):
        response = api.post(f"/cases/{scene.case_id}/witnesses", json=payload)
        assert response.status_code == 422, (payload, response.status_code)
        assert_clean(response)

    # A member without the permission who mistypes gets the pseudonym page back, never the identity.
    plain = scene.member("investigator", identities=False)
    other = web_client(scene.app, plain)
    response = other.post(f"/witnesses/{wid}/consent", data={"purpose": "share_icc", "granted": "true"})
    assert response.status_code == 422
    assert_clean(response)
    # And a stranger guessing ids learns nothing.
    for path in (f"/witnesses/{uuid.uuid4()}", f"/witnesses/{wid}x"):
        response = other.get(path)
        assert response.status_code == 404
        assert_clean(response)


# --- (d) logs ---------------------------------------------------------------------------------------------------------


def debug_everything(caplog: pytest.LogCaptureFixture) -> None:
    # SQLAlchemy pins its own logger at WARNING; lift it too, so every statement and its parameters are captured.
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy", "casefile", "werkzeug", "flask"):
        caplog.set_level(logging.DEBUG, logger=name)


def assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "nothing was logged at all: the check would be vacuous"
    for record in caplog.records:
        rendered = [record.getMessage(), repr(record.args), record.exc_text or "", str(record.msg)]
        if record.exc_info and record.exc_info[1] is not None:
            rendered.append(repr(record.exc_info[1]))
        for text in rendered:
            found = leaked_in(text)
            assert not found, f"{found} in a {record.levelname} record of {record.name}: {text[:300]}"
    assert not leaked_in(caplog.text)


def test_api_flow_logs_no_identity(witness_case: WitnessCase, caplog: pytest.LogCaptureFixture) -> None:
    debug_everything(caplog)
    case_id, api = witness_case.case_id, witness_case.owner_api
    created = api.post(f"/cases/{case_id}/witnesses", json={**FIRST, "risk_level": "high"})
    assert created.status_code == 201
    wid = created.get_json()["id"]
    revealed = api.get(f"/witnesses/{wid}", query_string={"reveal": "true", "reason": "court filing"})
    assert revealed.status_code == 200
    assert revealed.get_json()["identity"]["full_name"] == NAME
    assert api.post(f"/cases/{case_id}/witnesses", json={**FIRST, "date_of_birth": "bad"}).status_code == 422
    assert_logs_clean(caplog)
    # SQL statements are in the capture (DEBUG reaches SQLAlchemy's engine logger), so the check bites.
    assert any(record.name.startswith("sqlalchemy.engine") for record in caplog.records)


def test_web_flow_logs_no_identity(witness_case: WitnessCase, caplog: pytest.LogCaptureFixture) -> None:
    debug_everything(caplog)
    case_id, client = witness_case.case_id, witness_case.owner_web
    created = client.post(f"/cases/{case_id}/witnesses/new", data=FIRST)
    assert created.status_code == 302
    page = created.headers["Location"]
    revealed = client.post(f"{page}/reveal", data={"reason": "court filing"})
    assert revealed.status_code == 200
    assert NAME in revealed.get_data(as_text=True)
    assert client.post(f"{page}/identity", data={"step": "open", "reason": "edit"}).status_code == 200
    edited = client.post(f"{page}/identity", data={**FIRST, "contact": NEW_PHONE})
    assert edited.status_code == 302
    assert client.post(f"{page}/identity", data={**FIRST, "full_name": ""}).status_code == 422
    assert_logs_clean(caplog)


# --- (e) the custody ledger -------------------------------------------------------------------------------------------


def test_the_ledger_never_holds_the_identity(scene: Scene) -> None:
    wid = scene.witnesses[0]["id"]
    client = scene.owner_web
    assert client.post(f"/witnesses/{wid}/reveal", data={"reason": "check the file"}).status_code == 200
    assert client.post(f"/witnesses/{wid}/identity", data={"step": "open", "reason": "edit"}).status_code == 200
    assert client.post(f"/witnesses/{wid}/identity", data={**FIRST, "contact": NEW_PHONE}).status_code == 302
    assert client.post(f"/witnesses/{wid}/risk", data={"risk_level": "extreme"}).status_code == 302

    with scene.app.app_context(), session_scope() as s:
        entries = list(s.scalars(select(CustodyEntry).order_by(CustodyEntry.seq)))
        dumped = [(e.action, json.dumps(e.details, ensure_ascii=False), e.actor) for e in entries]
    for action, details, actor in dumped:
        assert not leaked_in(details), (action, details)
        assert not leaked_in(actor)
    actions = [action for action, _details, _actor in dumped]
    # Two API reveals in the scene, one on the page, one for the edit form.
    assert actions.count("identity_revealed") == 4
    assert "metadata_changed" in actions and "linked" in actions

    # The ledger as served over the API and on the item pages, too.
    for item in scene.evidence:
        assert_clean(scene.owner_api.get(f"/evidence/{item['id']}/custody"))
        assert_clean(client.get(f"/evidence/{item['id']}"))
    verify = scene.owner_api.get(f"/custody/verify?case_id={scene.case_id}")
    assert verify.status_code == 200
    assert_clean(verify)
