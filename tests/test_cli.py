"""The command line of DESIGN §8, run through Flask's CLI runner against the test database."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select

from casefile import migrate
from casefile.auth import services as auth_services
from casefile.auth.models import Role, User
from casefile.auth.passwords import MIN_LENGTH
from casefile.cases.models import Case, Incident
from casefile.db import session_scope

from support import Account, login

STRONG = "a perfectly long passphrase"


def run(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def assert_clean_failure(result: Any, message: str) -> None:
    """Non-zero exit with a one-line explanation, never a traceback."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert result.output.strip().startswith("Error:"), result.output


def can_log_in(app: Flask, email: str, password: str) -> bool:
    with app.app_context(), session_scope() as s:
        result = auth_services.authenticate(s, email, password, "127.0.0.1", per_account=100, per_address=100)
        return result.user is not None


def user_count(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(User)) or 0


def test_create_user_prints_a_generated_password_once(app: Flask, client: FlaskClient) -> None:
    result = run(app, "users", "create", "Lawyer@Example.org", "--role", "legal")
    assert result.exit_code == 0, result.output
    assert "Created legal lawyer@example.org." in result.output
    match = re.search(r"Password \(shown once\): (\S+)", result.output)
    assert match, result.output
    password = match.group(1)
    assert len(password) >= MIN_LENGTH
    assert result.output.count(password) == 1
    assert can_log_in(app, "lawyer@example.org", password)
    assert not can_log_in(app, "lawyer@example.org", password + "x")
    with app.app_context(), session_scope() as s:
        user = s.scalar(select(User).where(User.email == "lawyer@example.org"))
        assert user is not None and user.role is Role.LEGAL and user.active
        account = Account(user.id, user.email, "legal", password)
    login(client, account)  # the web form accepts it too


def test_create_user_with_password_from_stdin(app: Flask) -> None:
    result = run(
        app, "users", "create", "inv@example.org", "--role", "investigator", "--password-stdin", input=STRONG + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created investigator inv@example.org." in result.output
    assert STRONG not in result.output and "Password" not in result.output
    assert can_log_in(app, "inv@example.org", STRONG)


def test_too_short_password_is_refused(app: Flask) -> None:
    result = run(app, "users", "create", "short@example.org", "--role", "reviewer", "--password-stdin", input="short\n")
    assert_clean_failure(result, f"at least {MIN_LENGTH} characters")
    assert user_count(app) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["not-an-email", "--role", "legal"], "valid email"),
        (["x@example.org", "--role", "superuser"], "superuser"),
    ],
)
def test_invalid_user_arguments(app: Flask, args: list[str], message: str) -> None:
    result = run(app, "users", "create", *args)
    assert result.exit_code != 0 and message in result.output and "Traceback" not in result.output
    assert user_count(app) == 0


def test_duplicate_email_is_refused(app: Flask) -> None:
    assert run(app, "users", "create", "dup@example.org", "--role", "legal").exit_code == 0
    result = run(app, "users", "create", "DUP@example.org", "--role", "admin", "--password-stdin", input=STRONG + "\n")
    assert_clean_failure(result, "already exists")
    with app.app_context(), session_scope() as s:
        assert [u.role for u in s.scalars(select(User))] == [Role.LEGAL]


def test_token_works_against_the_api(app: Flask, make_user: Callable[..., Account]) -> None:
    account = make_user("investigator")
    result = run(app, "users", "token", account.email)
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert result.output == token + "\n"  # printed once, alone: easy to capture in a script
    assert token.startswith("cf_") and len(token) > 40
    api = app.test_client()
    response = api.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.get_json()["total"] == 0
    # Each call mints a new, different token; both work.
    second = run(app, "users", "token", account.email).output.strip()
    assert second != token
    assert api.get("/api/v1/cases", headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_token_for_unknown_email(app: Flask) -> None:
    assert_clean_failure(run(app, "users", "token", "ghost@example.org"), "No user with email")


def test_demo_load_is_idempotent(app: Flask, api_for: Callable[..., Any], make_user: Callable[..., Account]) -> None:
    admin = make_user("admin")  # existing admins join the demo case
    first = run(app, "demo", "load")
    assert first.exit_code == 0, first.output
    assert "Loaded" in first.output
    second = run(app, "demo", "load")
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.output
    with app.app_context(), session_scope() as s:
        cases = list(s.scalars(select(Case).where(Case.reference == "TRH")))
        assert len(cases) == 1
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.case_id == cases[0].id)) == 4
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    api, _ = api_for(account=admin)
    listed = api.get("/cases").get_json()["items"]
    assert [c["reference"] for c in listed] == ["TRH"]
    assert api.get(f"/cases/{listed[0]['id']}/incidents").get_json()["total"] == 4


def test_db_upgrade_is_idempotent_at_head(app: Flask, database_url: str) -> None:
    for _ in range(2):
        result = run(app, "db", "upgrade")
        assert result.exit_code == 0, result.output
        assert "Database at head." in result.output
    head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        engine.dispose()


def test_first_admin_only_once(app: Flask) -> None:
    first = run(app, "users", "first-admin")
    assert first.exit_code == 0, first.output
    assert "Created the first administrator" in first.output and "admin@casefile.local" in first.output
    match = re.search(r"password \(shown once, change it\): (\S+)", first.output)
    assert match, first.output
    assert can_log_in(app, "admin@casefile.local", match.group(1))

    second = run(app, "users", "first-admin", "--email", "other@example.org")
    assert second.exit_code == 0, second.output
    assert "Users exist already" in second.output
    assert match.group(1) not in second.output
    with app.app_context(), session_scope() as s:
        assert [(u.email, u.role) for u in s.scalars(select(User))] == [("admin@casefile.local", Role.ADMIN)]


def test_first_admin_when_other_users_exist(app: Flask, make_user: Callable[..., Account]) -> None:
    make_user("investigator")
    result = run(app, "users", "first-admin")
    assert result.exit_code == 0 and "Users exist already" in result.output
    assert user_count(app) == 1
