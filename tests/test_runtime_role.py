"""The application's database role on PostgreSQL is not the owner (`db grant-runtime`): it cannot alter, disable,
update or delete what the ledger's protections cover, and the whole application still works as it. On SQLite there
are no roles, and the command says so (exit 2) instead of pretending."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, pool, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from casefile import create_app
from casefile.config import Settings

from support import Api, upload

FORBIDDEN = (
    "ALTER TABLE custody_entries DISABLE TRIGGER ALL",
    "DROP TRIGGER custody_entries_append_only ON custody_entries",
    "SET session_replication_role = replica",
    "UPDATE custody_entries SET actor = 'user:forged'",
    "DELETE FROM custody_entries",
    "TRUNCATE custody_entries CASCADE",
    "DELETE FROM custody_checkpoints",
    "UPDATE witness_consents SET granted = NOT granted",
    "DELETE FROM evidence_items",
    "DELETE FROM evidence_links",
    "DELETE FROM witnesses",
    "DELETE FROM custody_head",
    "INSERT INTO custody_head (id, seq, entry_hash) VALUES (2, 0, 'x')",
    "DELETE FROM auth_events",
    "ALTER TABLE evidence_items ADD COLUMN x integer",
    "UPDATE alembic_version SET version_num = '0001'",
)


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def runtime_role(database_url: str) -> Iterator[tuple[str, str]]:
    """A fresh login role (name, password) on the test server, removed afterwards."""
    name, password = f"casefile_rt_{secrets.token_hex(4)}", secrets.token_hex(16)
    owner = create_engine(database_url, poolclass=pool.NullPool)
    with owner.begin() as conn:
        conn.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
    yield name, password
    with owner.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {name}"))
        conn.execute(text(f"DROP ROLE {name}"))
    owner.dispose()


def test_the_runtime_role_cannot_undo_the_protections_and_runs_the_app(
    app: Flask, settings: Settings, database_url: str, request: pytest.FixtureRequest, api_for: Any, make_case: Any
) -> None:
    if database_url.startswith("sqlite"):
        result = run(app, "db", "grant-runtime", "anyone")
        assert result.exit_code == 2
        assert "PostgreSQL only" in result.output and "CASEFILE_CHECKPOINT_WITNESS" in result.output
        return
    name, password = request.getfixturevalue("runtime_role")
    result = run(app, "db", "grant-runtime", name)
    assert result.exit_code == 0, result.output
    assert "custody_entries: SELECT, INSERT" in result.output
    assert "evidence_items: SELECT, INSERT, UPDATE" in result.output

    url = make_url(database_url)
    runtime_url = url.set(username=name, password=password, host="127.0.0.1", port=5432, query={})
    engine: Engine = create_engine(runtime_url, poolclass=pool.NullPool)
    try:
        for statement in FORBIDDEN:
            with pytest.raises(DBAPIError) as refused, engine.begin() as conn:
                conn.execute(text(statement))
            message = str(refused.value)
            assert "permission denied" in message or "must be owner" in message, (statement, message)
    finally:
        engine.dispose()

    # The application itself, connected as the runtime role: upload, read, verify with recorded fixity, fsck.
    owner_api, owner = api_for("investigator")
    case_id = make_case(owner, "ROLE")
    runtime_app = create_app(settings.with_overrides(database_url=runtime_url.render_as_string(hide_password=False)))
    try:
        api = Api(runtime_app.test_client(), owner_api.headers["Authorization"].split(" ", 1)[1])
        item = upload(api, case_id, b"uploaded through the runtime role\n")
        assert api.get(f"/evidence/{item['id']}/content").status_code == 200
        verified = run(runtime_app, "custody", "verify", "--record")
        assert verified.exit_code == 0 and verified.output.startswith("INTACT"), verified.output
        with runtime_app.app_context():
            assert run(runtime_app, "fsck").exit_code == 0, "fsck as the runtime role"
    finally:
        runtime_app.extensions["casefile_db"].dispose()
