"""Helpers shared by the tests (kept out of conftest.py so test modules can import them by a unique name)."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from casefile.storage import LocalBlobStore

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO / "tests" / "data" / "photos"
PASSWORD = "correct horse battery staple"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    role: str
    password: str = PASSWORD
    totp_secret: str | None = None  # set for accounts with a second factor (every admin)


def totp_codes(secret: str) -> list[str]:
    """The codes the server accepts now (this time step and the next): each is single-use."""
    import time

    import pyotp

    step = int(time.time() // 30)
    return [pyotp.TOTP(secret).at(s * 30) for s in (step, step + 1)]


def login(client: FlaskClient, account: Account) -> None:
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].startswith("/login/second-factor"):
        assert account.totp_secret, "this account needs a second factor"
        for code in totp_codes(account.totp_secret):
            response = client.post("/login/second-factor", data={"code": code})
            if response.status_code == 302 and "/login" not in response.headers["Location"]:
                return
        raise AssertionError("second factor refused: " + response.get_data(as_text=True)[:300])


class Api:
    """A JSON API client authenticated with a Bearer token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, headers=self.headers, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch("/api/v1" + path, headers=self.headers, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete("/api/v1" + path, headers=self.headers, **kw)


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in page"
    return match.group(1)


def flip_blob_byte(app: Flask, sha256: str) -> str:
    """Change one byte of a stored file behind the application's back; returns the new SHA-256."""
    store = app.extensions["casefile_blobs"]
    if isinstance(store, LocalBlobStore):
        path = store.path_for(sha256)
        os.chmod(path, 0o600)
        with open(path, "rb") as f:
            data = bytearray(f.read())
        data[-2] ^= 0x20
        with open(path, "wb") as f:
            f.write(data)
    else:
        key = store.key_for(sha256)
        data = bytearray(store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read())
        data[-2] ^= 0x20
        store.client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
    return hashlib.sha256(data).hexdigest()


def upload(api: Api, case_id: uuid.UUID, content: bytes, name: str = "exhibit.txt") -> dict[str, Any]:
    """One file through the API (title = its name); asserts 201 and returns the item."""
    from io import BytesIO

    response = api.post(
        f"/cases/{case_id}/evidence",
        data={"file": (BytesIO(content), name), "title": name},
        content_type="multipart/form-data",
    )
    response.request.input_stream.close()  # a large body is spooled to a temporary file by the test client
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    return response.get_json()


def load_demo(app: Flask) -> uuid.UUID:
    """`demo load` through the CLI; the id of the demo case (TRH)."""
    from sqlalchemy import select

    from casefile.cases.models import Case
    from casefile.db import session_scope

    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context(), session_scope() as s:
        case_id = s.scalar(select(Case.id).where(Case.reference == "TRH"))
    assert case_id is not None
    return case_id


def ledger(app: Flask) -> list[Any]:
    """Every custody entry, in ledger order."""
    from sqlalchemy import select

    from casefile.custody.models import CustodyEntry
    from casefile.db import session_scope

    with app.app_context(), session_scope() as s:
        return list(s.scalars(select(CustodyEntry).order_by(CustodyEntry.seq)))


def validate(schema: dict[str, Any], body: Any) -> None:
    """Assert that body matches a JSON Schema (Draft 2020-12, formats checked), naming every mismatch."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def operation_for(app: Flask, method: str, path: str) -> Any:
    """The declared API Operation serving METHOD PATH (PATH without /api/v1, query string allowed)."""
    from casefile.api.core import OPERATIONS

    adapter = app.url_map.bind("localhost")
    rule, _args = adapter.match("/api/v1" + path.split("?", 1)[0], method=method, return_rule=True)
    template = re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
    matches = [op for op in OPERATIONS if op.path == template and op.method == method.lower()]
    assert len(matches) == 1, f"{method} {template} is not declared exactly once in OPERATIONS"
    return matches[0]


def run_queued_jobs(app: Flask) -> list[uuid.UUID]:
    """Run every queued job in this process, one after another, as a worker thread would (casefile.jobs.runner.run:
    claim, access check, handler, outcome), until none is left; the ids run. For tests of what a job does; the
    tests of the queue itself (tests/jobs, the browser journeys) run real worker processes."""
    from sqlalchemy import select

    from casefile import components
    from casefile.db import session_scope
    from casefile.jobs import runner
    from casefile.jobs.models import Job, JobState

    ran: list[uuid.UUID] = []
    with app.app_context():
        while True:
            with session_scope() as s:
                job_id = s.scalar(
                    select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.created_at, Job.id).limit(1)
                )
            if job_id is None or job_id in ran:
                return ran
            runner.run(app, components.job_queue(app), job_id)
            ran.append(job_id)


def case_for_a_dossier(api: Api, reference: str) -> dict[str, Any]:
    """A new case holding one public item linked to an incident: the least any dossier profile will include."""
    from io import BytesIO

    case = api.post("/cases", json={"reference": reference, "title": f"Case {reference}"}).get_json()
    incident = api.post(f"/cases/{case['id']}/incidents", json={"title": "Graves"}).get_json()
    uploaded = api.post(
        f"/cases/{case['id']}/evidence",
        data={
            "file": (BytesIO(b"a statement\n"), "statement.txt"),
            "classification": "public",
            "incident_ids": incident["id"],
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)[:300]
    return case


def approve_release(app: Flask, dossier_id: Any) -> None:
    """A second legal member of the dossier's case (made for the purpose) approves its release, through the same
    service as the page and the API (tests/dossier/test_release.py tests the approval itself)."""
    import secrets

    from casefile.auth import services as auth_services
    from casefile.cases.models import Case
    from casefile.db import session_scope
    from casefile.dossier import services
    from casefile.dossier.models import Dossier

    with app.app_context(), session_scope() as s:
        dossier = s.get_one(Dossier, uuid.UUID(str(dossier_id)))
        approver = auth_services.create_user(
            s, f"approver-{secrets.token_hex(4)}@example.org", "legal", secrets.token_urlsafe(16)
        )
        auth_services.add_member(s, s.get_one(Case, dossier.case_id), approver, "legal", False)
        services.approve(s, dossier, approver)


def build_dossier_now(
    api: Api, app: Flask, case_id: Any, body: dict[str, Any], *, approve: bool = True
) -> dict[str, Any]:
    """POST /cases/{id}/dossiers (202, building), run the build job here, have a second legal member approve its
    release (unless `approve` is False), and the dossier as GET then shows it."""
    response = api.post(f"/cases/{case_id}/dossiers", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    accepted = response.get_json()
    assert accepted["status"] == "building" and accepted["job"]["id"] == accepted["job_id"]
    run_queued_jobs(app)
    if approve and api.get(f"/dossiers/{accepted['id']}").get_json()["status"] == "ready":
        approve_release(app, accepted["id"])
    response = api.get(f"/dossiers/{accepted['id']}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_json()


@contextmanager
def counting_queries(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement sent to the database (on the request engine and the auth read engine)."""
    database = app.extensions["casefile_db"]
    engines = [database.engine] + ([database.read_engine] if database.read_engine is not database.engine else [])
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_environment_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile syntax as the shipped files use it: KEY=VALUE lines, # comments."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and line[0] != "#")
    return {key.strip(): value.strip() for key, value in pairs}


@contextmanager
def as_insider(app: Flask) -> Iterator[Any]:
    """A connection in one transaction with the append-only triggers out of the way, as an insider with the database
    owner's rights (PostgreSQL: `session_replication_role = replica`) or with the SQLite file (every trigger dropped)
    would have it: the triggers only stop accidents, the hashes and signed heads are what make tampering evident."""
    from sqlalchemy import text

    engine = app.extensions["casefile_db"].engine
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        yield conn
