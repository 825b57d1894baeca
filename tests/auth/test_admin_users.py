from __future__ import annotations

import re

from flask.testing import FlaskClient

from support import Account, csrf_token, login


def test_admin_creates_user_who_can_log_in_with_the_shown_password(client: FlaskClient, logged_in, app) -> None:
    logged_in("admin")
    response = client.post(
        "/admin/users",
        data={"email": "new@example.org", "name": "New", "role": "legal"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    password = re.search(r"one-time password is: ([\w-]+)", html).group(1)
    client.post("/logout")
    fresh = app.test_client()
    login(fresh, Account(id=None, email="new@example.org", role="legal", password=password))  # type: ignore[arg-type]
    # It works once: every page sends the user to choose their own password first.
    for path in ("/", "/search?q=x", "/admin/users"):
        response = fresh.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account", path
    page = fresh.get("/account").get_data(as_text=True)
    assert "choose your own" in page
    new_password = "a brand new passphrase of mine"
    changed = fresh.post(
        "/account/password", data={"csrf_token": csrf_token(page), "current": password, "new": new_password}
    )
    assert changed.status_code == 302
    assert fresh.get("/").status_code == 200
    refused = app.test_client().post("/login", data={"email": "new@example.org", "password": password})
    assert "incorrect" in refused.get_data(as_text=True)


def test_create_user_form_defaults_to_the_least_privileged_role(client: FlaskClient, logged_in) -> None:
    logged_in("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert re.search(r'<option selected value="reviewer">|<option value="reviewer" selected>', html), "the role field"


def test_admin_deactivates_and_resets(client: FlaskClient, logged_in, make_user, app) -> None:
    target = make_user("investigator")
    other = app.test_client()
    login(other, target)
    logged_in("admin")
    assert client.post(f"/admin/users/{target.id}/active").status_code == 302
    assert "deactivated" in client.get("/admin/users").get_data(as_text=True)
    assert other.get("/").status_code == 302  # their session ended
    assert client.post(f"/admin/users/{target.id}/active").status_code == 302  # reactivate
    response = client.post(f"/admin/users/{target.id}/reset-password", follow_redirects=True)
    assert "New one-time password" in response.get_data(as_text=True)
    refused = app.test_client().post("/login", data={"email": target.email, "password": target.password})
    assert refused.status_code == 200 and "incorrect" in refused.get_data(as_text=True)
    reset = re.search(r"New one-time password for \S+: ([\w-]+)", response.get_data(as_text=True)).group(1)
    after_reset = app.test_client()
    login(after_reset, Account(target.id, target.email, "investigator", reset))
    assert after_reset.get("/").headers["Location"] == "/account"  # the administrator's password works once


def test_non_admin_cannot_manage_users(client: FlaskClient, logged_in, make_user) -> None:
    target = make_user()
    logged_in("legal")
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users", data={"email": "x@example.org", "role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{target.id}/active").status_code == 403


def test_admin_manages_members_of_a_case_it_is_not_in(client: FlaskClient, logged_in, make_user, make_case) -> None:
    owner = make_user("investigator")
    newcomer = make_user("legal")
    case_id = make_case(owner, "MEM")
    logged_in("admin")
    assert client.get(f"/cases/{case_id}").status_code == 404  # content stays members-only
    response = client.post(
        f"/cases/{case_id}/members",
        data={"email": newcomer.email, "role": "legal", "can_view_identities": "y"},
    )
    assert response.status_code == 302
    html = client.get(f"/cases/{case_id}/members").get_data(as_text=True)
    assert newcomer.email in html and "may view" in html
    assert (
        client.post(f"/cases/{case_id}/members", data={"email": "ghost@example.org", "role": "legal"}).status_code
        == 422
    )
    assert client.post(f"/cases/{case_id}/members/{newcomer.id}/remove").status_code == 302
    members_table = client.get(f"/cases/{case_id}/members").get_data(as_text=True).split("</table>")[0]
    assert newcomer.email not in members_table  # (the picker below still offers the account)


def test_member_can_see_but_not_manage_members(
    client: FlaskClient, logged_in, make_user, make_case, add_member
) -> None:
    owner = make_user("investigator")
    case_id = make_case(owner, "MEM2")
    member = logged_in("legal")
    add_member(case_id, member, "legal")
    html = client.get(f"/cases/{case_id}/members").get_data(as_text=True)
    assert owner.email in html and "Add or change a member" not in html
    assert client.post(f"/cases/{case_id}/members", data={"email": member.email, "role": "legal"}).status_code == 403


def test_an_admin_changes_roles_but_never_their_own(app, client: FlaskClient, make_user, logged_in) -> None:
    from casefile.auth.models import User
    from casefile.db import session_scope

    someone = make_user("reviewer")
    admin = logged_in("admin")
    assert client.post(f"/admin/users/{someone.id}/role", data={"role": "investigator"}).status_code == 302
    with app.app_context(), session_scope() as s:
        assert s.get(User, someone.id).role.value == "investigator"
    page = client.get("/admin/users").get_data(as_text=True)
    assert "is now investigator" in page or 'value="investigator" selected' in page
    client.post(f"/admin/users/{someone.id}/role", data={"role": "owner"})
    client.post(f"/admin/users/{admin.id}/role", data={"role": "reviewer"})
    with app.app_context(), session_scope() as s:
        assert s.get(User, someone.id).role.value == "investigator"  # an unknown role changes nothing
        assert s.get(User, admin.id).role.value == "admin"  # nor may an admin demote themselves
    audit = client.get("/admin/audit?event=role_changed").get_data(as_text=True)
    assert "role changed" in audit and "Role: <bdi>reviewer</bdi>" in audit  # before → after, in words
