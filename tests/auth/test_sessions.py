"""Server-side login sessions (issue 22, item 1): a session ends on the server, for every copy of its cookie and
on every web server, at log out, log out everywhere, a password change, deactivation and the idle and absolute
timeouts; the cookie carries only a random key, of which the database keeps the SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from casefile.auth.models import AuthEvent, SessionEnd, UserSession
from casefile.config import Settings
from casefile.db import session_scope, utcnow

from support import Account, csrf_token, login

COOKIE = "casefile_session"


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def client_with(app: Flask, cookie: str) -> FlaskClient:
    """Another browser (or an attacker) presenting a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


def session_key(app: Flask, cookie: str) -> str:
    """The login session key inside a signed cookie (what Flask-Login keeps as the user id)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return serializer.loads(cookie)["_user_id"]


def records(app: Flask, account: Account) -> list[UserSession]:
    with app.app_context(), session_scope() as s:
        return list(
            s.scalars(select(UserSession).where(UserSession.user_id == account.id).order_by(UserSession.created_at))
        )


def shift(app: Flask, **times: timedelta) -> None:
    """Move every open session's times into the past, as if that much time had gone by on the server."""
    with app.app_context(), session_scope() as s:
        s.execute(
            update(UserSession)
            .where(UserSession.ended_at.is_(None))
            .values({name: utcnow() - ago for name, ago in times.items()})
        )


def logged_in_page(response: Any) -> bool:
    return response.status_code == 200


def sent_to_login(response: Any) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_copied_cookie_stops_working_when_its_session_logs_out(app: Flask, make_user) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    account = make_user("investigator")
    browser = app.test_client()
    token = csrf_token(browser.get("/login").get_data(as_text=True))
    response = browser.post("/login", data={"email": account.email, "password": account.password, "csrf_token": token})
    assert response.status_code == 302
    copied = cookie_of(browser)
    assert logged_in_page(client_with(app, copied).get("/account"))  # the copy is a working session

    token = csrf_token(browser.get("/account").get_data(as_text=True))
    response = browser.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"

    assert sent_to_login(client_with(app, copied).get("/account"))
    (record,) = records(app, account)
    assert record.ended_at is not None and record.end_reason is SessionEnd.LOGOUT


def test_log_out_ends_only_that_session(app: Flask, make_user) -> None:
    account = make_user("investigator")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, account)
    login(phone, account)
    laptop.post("/logout")
    assert sent_to_login(laptop.get("/account"))
    assert logged_in_page(phone.get("/account"))


def test_the_cookie_carries_a_random_key_and_the_database_only_its_hash(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    first = session_key(app, cookie_of(client))
    client.post("/logout")
    login(client, account)
    second = session_key(app, cookie_of(client))
    assert first != second and str(account.id) not in first + second  # a new session at each login
    stored = records(app, account)
    assert [r.key_hash for r in stored] == [hashlib.sha256(k.encode()).hexdigest() for k in (first, second)]
    assert {first, second}.isdisjoint({r.key_hash for r in stored})


def test_idle_timeout_is_enforced_from_the_record_and_ends_it(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    assert logged_in_page(client.get("/"))
    # The cookie says the browser was just used; only the server's record knows it has been idle.
    shift(app, last_seen_at=timedelta(minutes=32))
    response = client.get("/account")
    assert sent_to_login(response)
    assert "expired" in client.get("/login").get_data(as_text=True)
    (record,) = records(app, account)
    assert record.end_reason is SessionEnd.IDLE_TIMEOUT
    with app.app_context(), session_scope() as s:
        expired = s.scalars(select(AuthEvent).where(AuthEvent.event == "session_expired")).one()
        assert expired.user_id == account.id and expired.details == {"reason": "idle_timeout"}


def test_absolute_timeout_is_enforced_from_the_record_and_ends_it(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    shift(app, created_at=timedelta(hours=13), last_seen_at=timedelta(seconds=1))
    assert sent_to_login(client.get("/account"))
    (record,) = records(app, account)
    assert record.end_reason is SessionEnd.ABSOLUTE_TIMEOUT


def test_a_timeout_seen_in_the_cookie_ends_the_record_for_every_copy(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    copied = cookie_of(client)  # taken while the session was fresh
    with client.session_transaction() as sess:
        sess["seen_at"] = (utcnow() - timedelta(minutes=31)).isoformat()
    assert sent_to_login(client.get("/"))
    assert sent_to_login(client_with(app, copied).get("/"))
    (record,) = records(app, account)
    assert record.end_reason is SessionEnd.IDLE_TIMEOUT


def test_a_session_in_use_stays_alive_and_its_record_is_kept_up_to_date(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    shift(app, last_seen_at=timedelta(minutes=20))
    assert logged_in_page(client.get("/"))
    (record,) = records(app, account)
    assert record.ended_at is None and utcnow() - record.last_seen_at < timedelta(minutes=1)


def test_a_password_change_ends_the_other_sessions_and_renews_this_one(app: Flask, make_user) -> None:
    account = make_user("investigator")
    mine, other = app.test_client(), app.test_client()
    login(mine, account)
    login(other, account)
    before = cookie_of(mine)
    response = mine.post("/account/password", data={"current": account.password, "new": "another long password"})
    assert response.status_code == 302
    assert logged_in_page(mine.get("/account"))
    assert sent_to_login(other.get("/account"))
    assert sent_to_login(client_with(app, before).get("/account"))  # this browser's own old key is gone too
    ended = [r.end_reason for r in records(app, account) if r.ended_at is not None]
    assert ended == [SessionEnd.PASSWORD_CHANGED, SessionEnd.PASSWORD_CHANGED]
    assert len([r for r in records(app, account) if r.ended_at is None]) == 1


def test_log_out_everywhere_and_deactivation_end_every_record(app: Flask, make_user, logged_in) -> None:
    account = make_user("investigator")
    first, second = app.test_client(), app.test_client()
    login(first, account)
    login(second, account)
    first.post("/account/logout-everywhere")
    assert sent_to_login(second.get("/"))
    assert {r.end_reason for r in records(app, account)} == {SessionEnd.LOGOUT_EVERYWHERE}

    other = make_user("legal")
    theirs = app.test_client()
    login(theirs, other)
    admin = app.test_client()
    login(admin, make_user("admin"))
    assert admin.post(f"/admin/users/{other.id}/active").status_code == 302
    assert sent_to_login(theirs.get("/"))
    assert {r.end_reason for r in records(app, other)} == {SessionEnd.DEACTIVATED}


@pytest.fixture
def second_server(settings: Settings) -> Iterator[Flask]:
    """Another web server over the same database (as behind a load balancer)."""
    from casefile import create_app

    other = create_app(settings)
    yield other
    other.extensions["casefile_db"].dispose()


def test_a_logout_on_one_server_is_honoured_by_another(app: Flask, second_server: Flask, make_user) -> None:
    account = make_user("investigator")
    browser = app.test_client()
    login(browser, account)
    on_the_other_server = client_with(second_server, cookie_of(browser))
    assert logged_in_page(on_the_other_server.get("/account"))
    browser.post("/logout")
    assert sent_to_login(on_the_other_server.get("/account"))


def test_each_page_request_looks_its_session_up_once(app: Flask, make_user) -> None:
    account = make_user("investigator")
    client = app.test_client()
    login(client, account)
    database = app.extensions["casefile_db"]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "user_sessions" in statement:
            statements.append(statement)

    # On SQLite the read engine is an engine of its own; on PostgreSQL it shares the main engine's events.
    engines = {database.engine, database.read_engine} if database.is_sqlite else {database.engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        assert logged_in_page(client.get("/"))
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    # One query finds the session and its user together; a session used within the minute is not rewritten.
    assert len(statements) == 1, statements
    assert statements[0].lstrip().upper().startswith("SELECT") and "JOIN users" in statements[0]
