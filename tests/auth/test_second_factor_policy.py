"""The instance's second-factor policy: whoever may see protected witness identities in any case must use a second
factor (on by default), enforced when they log in: until they set it up, every page leads to the enrolment; once
set up, the login asks for it. Administrators turn the policy off or on, with an audit entry."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete

from casefile.auth import totp
from casefile.auth.models import InstanceSetting, User
from casefile.db import session_scope

from support import Account, login, totp_codes


def policy(app: Flask, required: bool | None) -> None:
    """None: as a new instance has it (no setting stored)."""
    with app.app_context(), session_scope() as s:
        if required is None:
            s.execute(delete(InstanceSetting).where(InstanceSetting.key == totp.IDENTITY_VIEWERS_KEY))
        else:
            totp.set_identity_viewers_required(s, required)


def test_on_by_default_for_identity_viewers_only(
    app: Flask, make_user: Callable[..., Account], make_case: Callable[..., uuid.UUID], add_member: Callable[..., None]
) -> None:
    policy(app, None)
    owner = make_user("investigator")
    case_id = make_case(owner)
    viewer, plain = make_user("reviewer"), make_user("legal")
    add_member(case_id, viewer, "reviewer", identities=True)
    add_member(case_id, plain, "legal")
    with app.app_context(), session_scope() as s:
        assert totp.identity_viewers_required(s) is True
        assert totp.must_enrol(s, s.get(User, viewer.id)) is True
        assert totp.must_enrol(s, s.get(User, plain.id)) is False
        assert totp.must_enrol(s, s.get(User, owner.id)) is False  # the creator joins without the permission


def test_an_identity_viewer_must_set_up_a_second_factor_before_anything_else(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
) -> None:
    policy(app, None)
    viewer = make_user("investigator")
    case_id = make_case(make_user("investigator"))
    add_member(case_id, viewer, "investigator", identities=True)
    login(client, viewer)
    for path in ("/", f"/cases/{case_id}", f"/cases/{case_id}/witnesses"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/account/second-factor", path
    # Set up, the next login asks for the code, and turning it off is refused while the permission lasts.
    with app.app_context(), session_scope() as s:
        user = s.get(User, viewer.id)
        secret = totp.new_secret()
        assert totp.enable(s, app.extensions["casefile_cipher"], user, secret, totp_codes(secret)[0])
        user.totp_last_step = None
    viewer.totp_secret = secret
    fresh = app.test_client()
    first = fresh.post("/login", data={"email": viewer.email, "password": viewer.password})
    assert first.headers["Location"].startswith("/login/second-factor")
    login(app.test_client(), viewer)
    refused = fresh.post("/account/second-factor/disable", data={"code": totp_codes(secret)[0]})
    assert refused.status_code in (302, 403)
    with app.app_context(), session_scope() as s:
        assert s.get(User, viewer.id).totp_enabled is True


def test_an_administrator_turns_the_policy_off(
    app: Flask, client: FlaskClient, make_user: Callable[..., Account]
) -> None:
    policy(app, None)
    admin = make_user("admin")
    login(client, admin)
    page = client.get("/admin/security").get_data(as_text=True)
    checkbox = re.search(r'<input[^>]*name="identity_viewers"[^>]*>', page)
    assert checkbox is not None and "checked" in checkbox.group(0)  # on, as a new instance has it
    saved = client.post("/admin/security", data={"roles": ["admin"]})
    assert saved.status_code == 302
    with app.app_context(), session_scope() as s:
        assert totp.identity_viewers_required(s) is False
    client.post("/admin/security", data={"roles": ["admin"], "identity_viewers": "y"})
    with app.app_context(), session_scope() as s:
        assert totp.identity_viewers_required(s) is True
    audit = client.get("/admin/audit?event=settings_changed").get_data(as_text=True)
    assert "Identity viewers must use a second factor" in audit
