from __future__ import annotations

import re

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select

from casefile.auth.models import AuthEvent, User
from casefile.db import session_scope

from support import login, totp_codes


def events(app, event: str | None = None) -> list[AuthEvent]:
    with app.app_context(), session_scope() as s:
        stmt = select(AuthEvent).order_by(AuthEvent.at)
        if event:
            stmt = stmt.where(AuthEvent.event == event)
        return list(s.scalars(stmt))


def test_password_alone_does_not_log_in_a_user_with_a_second_factor(client: FlaskClient, make_user) -> None:
    account = make_user("investigator", second_factor=True)
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert response.headers["Location"].startswith("/login/second-factor")
    assert client.get("/").status_code == 302  # not logged in yet
    wrong = client.post("/login/second-factor", data={"code": "000000"})
    assert wrong.status_code == 200 and "not valid" in wrong.get_data(as_text=True)
    ok = client.post("/login/second-factor", data={"code": totp_codes(account.totp_secret)[0]})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_code_cannot_be_replayed(app, make_user) -> None:
    account = make_user("investigator", second_factor=True)
    code = totp_codes(account.totp_secret)[0]
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"email": account.email, "password": account.password})
    assert first.post("/login/second-factor", data={"code": code}).status_code == 302
    replay = second.post("/login/second-factor", data={"code": code})
    assert replay.status_code == 200 and "already used" in replay.get_data(as_text=True)
    assert second.get("/").status_code == 302
    assert events(app, "second_factor_failure")


def test_recovery_code_works_once(app, client: FlaskClient, make_user) -> None:
    account = make_user("legal")
    login(client, account)
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'<span class="mono">([A-Z2-7]{16,})</span>', page).group(1)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn locally
    shown = client.post("/account/second-factor", data={"code": pyotp.TOTP(secret).now()})
    codes = re.findall(r"<li>([0-9a-f]{10})</li>", shown.get_data(as_text=True))
    assert len(codes) == 10
    client.post("/logout")
    client.post("/login", data={"email": account.email, "password": account.password})
    assert client.post("/login/second-factor", data={"code": codes[0]}).status_code == 302
    client.post("/logout")
    client.post("/login", data={"email": account.email, "password": account.password})
    reused = client.post("/login/second-factor", data={"code": codes[0]})
    assert reused.status_code == 200
    assert [e.event for e in events(app, "recovery_code_used")] == ["recovery_code_used"]


def test_admins_must_enrol_before_doing_anything(app, client: FlaskClient, make_user) -> None:
    admin = make_user("admin", second_factor=False)
    client.post("/login", data={"email": admin.email, "password": admin.password})
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/account/second-factor")
    assert client.get("/account/second-factor").status_code == 200


def test_an_admin_setting_requires_it_for_chosen_roles(app, client: FlaskClient, make_user) -> None:
    admin = make_user("admin")
    login(client, admin)
    assert client.post("/admin/security", data={"roles": ["legal"]}).status_code == 302
    lawyer = make_user("legal")
    other = app.test_client()
    login(other, lawyer)
    assert other.get("/").headers["Location"].startswith("/account/second-factor")
    investigator = make_user("investigator")
    third = app.test_client()
    login(third, investigator)
    assert third.get("/").status_code == 200
    assert events(app, "settings_changed")[0].details == {
        "second_factor_required_roles": ["admin", "legal"],
        "second_factor_identity_viewers": False,  # the form's box was not sent: turned off
    }


def test_second_factor_step_expires_and_is_throttled(app, client: FlaskClient, make_user) -> None:
    account = make_user("investigator", second_factor=True)
    client.post("/login", data={"email": account.email, "password": account.password})
    statuses = [client.post("/login/second-factor", data={"code": "123456"}).status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    with client.session_transaction() as sess:
        sess["pending_at"] = "2000-01-01T00:00:00+00:00"
    assert client.post("/login/second-factor", data={"code": "123456"}).headers["Location"] == "/login"


def test_audit_log_records_authentication_events(app, client: FlaskClient, make_user, make_case) -> None:
    account = make_user("investigator")
    client.post("/login", data={"email": account.email, "password": "wrong password!!"})
    login(client, account)
    client.post("/account/tokens", data={"name": "laptop"})
    client.post("/account/logout-everywhere")
    kinds = [e.event for e in events(app)]
    for expected in ("user_created", "login_failure", "login_success", "token_created", "logout_everywhere"):
        assert expected in kinds, kinds
    failure = events(app, "login_failure")[0]
    assert failure.email == account.email and failure.address


def test_audit_log_is_append_only(app) -> None:
    from sqlalchemy import text

    from casefile.auth.audit import record_auth_event

    with app.app_context(), session_scope() as s:
        record_auth_event(s, "login_failure", email="x@example.org")
    engine = app.extensions["casefile_db"].engine
    for statement in ("UPDATE auth_events SET email = 'y'", "DELETE FROM auth_events"):
        try:
            with engine.begin() as conn:
                conn.execute(text(statement))
        except Exception as error:
            assert "append-only" in str(error)
        else:
            raise AssertionError(f"{statement} was allowed")


def test_reviewers_and_admins_read_the_audit_log_others_do_not(app, client: FlaskClient, make_user) -> None:
    reviewer = make_user("reviewer")
    login(client, reviewer)
    page = client.get("/admin/audit?event=login_success")
    assert page.status_code == 200 and reviewer.email in page.get_data(as_text=True)
    assert client.get("/admin/audit?since=2000-01-01&until=not-a-date").status_code == 200
    other = app.test_client()
    login(other, make_user("investigator"))
    assert other.get("/admin/audit").status_code == 403


def test_session_cookie_from_before_a_password_change_stops_working(app, make_user) -> None:
    account = make_user("investigator")
    old, new = app.test_client(), app.test_client()
    login(old, account)
    login(new, account)
    changed = new.post("/account/password", data={"current": account.password, "new": "another long password"})
    assert changed.status_code == 302
    assert new.get("/").status_code == 200  # the session that changed it carries on
    assert old.get("/").status_code == 302


def test_tokens_are_shown_once_and_can_be_revoked(app, client: FlaskClient, make_user) -> None:
    account = make_user("investigator")
    login(client, account)
    created = client.post("/account/tokens", data={"name": "script"}).get_data(as_text=True)
    token = re.search(r"(cf_[\w-]+)", created).group(1)
    api = app.test_client()
    assert api.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True)
    with app.app_context(), session_scope() as s:
        from casefile.auth.models import ApiToken

        token_id = s.scalar(select(ApiToken.id).where(ApiToken.user_id == account.id))
    client.post(f"/account/tokens/{token_id}/revoke")
    assert api.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert events(app, "token_revoked")


def test_deactivated_users_token_is_refused(app, make_user, api_for) -> None:
    api, account = api_for("investigator")
    assert api.get("/cases").status_code == 200
    with app.app_context(), session_scope() as s:
        from casefile.auth.services import set_active

        set_active(s, s.get(User, account.id), False)
    assert api.get("/cases").status_code == 401


def test_the_audit_log_names_people_and_their_roles_not_ids(
    app, client: FlaskClient, make_user, make_case, api_for
) -> None:
    lead_api, lead = api_for("investigator")
    case = lead_api.post("/cases", {"reference": "AUD", "title": "Audit"}).get_json()
    newcomer = make_user("legal")
    lead_api.post(f"/cases/{case['id']}/members", {"email": newcomer.email, "role": "legal", "lead": True})
    lead_api.post(f"/cases/{case['id']}/members", {"email": newcomer.email, "role": "investigator"})
    login(client, make_user("reviewer"))
    page = client.get("/admin/audit?event=membership_changed").get_data(as_text=True)
    row = page.split('data-event="membership_changed"', 1)[1].split("</tr>", 1)[0]
    assert "membership changed" in row
    assert f'{newcomer.email.split("@")[0]}</bdi> <span class="hint">(legal)' in row  # the account, as it was
    assert f'{lead.email.split("@")[0]}</bdi> <span class="hint">(investigator)' in row  # who did it
    assert str(lead.id) not in row and "{" not in row  # no ids, no Python dicts
    assert "<dt>Case lead</dt><dd>yes</dd>" in row and "<dt>Before</dt>" in row and "Role: <bdi>legal</bdi>" in row
