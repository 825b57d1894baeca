from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from casefile.db import utcnow

from support import csrf_token, login


def test_pages_require_login_and_redirect(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_login_and_logout(client: FlaskClient, make_user) -> None:
    account = make_user("investigator")
    login(client, account)
    page = client.get("/")
    assert page.status_code == 200
    assert account.email in page.get_data(as_text=True)
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_has_one_message_for_all_failures(client: FlaskClient, make_user) -> None:
    account = make_user()
    wrong = client.post("/login", data={"email": account.email, "password": "nope nope nope"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 200
    assert "Email or password is incorrect." in wrong.get_data(as_text=True)
    assert "Email or password is incorrect." in unknown.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_fifty_wrong_passwords_are_throttled_without_error(client: FlaskClient, make_user) -> None:
    account = make_user()
    statuses = [
        client.post("/login", data={"email": account.email, "password": f"wrong {i}"}).status_code for i in range(50)
    ]
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    # Throttled: even the right password is refused for now, with a clear message.
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_throttle_window_expires(app, client: FlaskClient, make_user) -> None:
    from sqlalchemy import update

    from casefile.auth.models import LoginAttempt
    from casefile.db import session_scope

    account = make_user()
    for i in range(5):
        client.post("/login", data={"email": account.email, "password": f"wrong {i}"})
    assert client.post("/login", data={"email": account.email, "password": account.password}).status_code == 429
    with app.app_context(), session_scope() as s:
        s.execute(update(LoginAttempt).values(at=utcnow() - timedelta(minutes=2)))
    login(client, account)


def test_deactivated_user_cannot_log_in(app, client: FlaskClient, make_user) -> None:
    from casefile.auth.models import User
    from casefile.auth.services import set_active
    from casefile.db import session_scope

    account = make_user()
    with app.app_context(), session_scope() as s:
        set_active(s, s.get(User, account.id), False)
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_session_is_regenerated_at_login(client: FlaskClient, make_user) -> None:
    account = make_user()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker before login"
    login(client, account)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert "auth_at" in sess


def test_idle_session_expires(client: FlaskClient, make_user) -> None:
    account = make_user()
    login(client, account)
    with client.session_transaction() as sess:
        sess["seen_at"] = (utcnow() - timedelta(minutes=31)).isoformat()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/").status_code == 302


def test_absolute_session_lifetime(client: FlaskClient, make_user) -> None:
    account = make_user()
    login(client, account)
    with client.session_transaction() as sess:
        sess["auth_at"] = (utcnow() - timedelta(hours=13)).isoformat()
    assert client.get("/").status_code == 302


def test_password_reset_ends_existing_sessions(app, client: FlaskClient, make_user) -> None:
    from casefile.auth.models import User
    from casefile.auth.services import set_password
    from casefile.db import session_scope

    account = make_user()
    login(client, account)
    assert client.get("/").status_code == 200
    with app.app_context(), session_scope() as s:
        set_password(s, s.get(User, account.id), "a brand new long password")
    assert client.get("/").status_code == 302


def test_next_parameter_cannot_redirect_off_site(client: FlaskClient, make_user) -> None:
    account = make_user()
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.post(f"/login?next={target}", data={"email": account.email, "password": account.password})
        assert response.status_code == 302
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in response.get_data(as_text=True)


def test_csrf_token_is_required_when_enabled(app, client: FlaskClient, make_user) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    account = make_user()
    missing = client.post("/login", data={"email": account.email, "password": account.password})
    assert missing.status_code == 400
    assert "security token" in missing.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    ok = client.post("/login", data={"email": account.email, "password": account.password, "csrf_token": token})
    assert ok.status_code == 302
    # A form post without the token after login is refused too, and changes nothing.
    refused = client.post("/cases/new", data={"reference": "CSRF", "title": "x"})
    assert refused.status_code == 400
    assert "CSRF" not in client.get("/").get_data(as_text=True)
