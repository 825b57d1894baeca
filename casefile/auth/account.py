"""The user's own account (password, second factor, API tokens, sessions) and the audit and security pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from casefile.auth import login_flow, services, totp
from casefile.auth.audit import EVENTS, audit_query
from casefile.auth.forms import ConfirmForm, EnrolForm, PasswordForm, SecuritySettingsForm, TokenForm
from casefile.auth.gate import parse_id, require_admin, require_audit_reader
from casefile.auth.models import SessionEnd, User
from casefile.auth.passwords import verify_password
from casefile.components import field_cipher
from casefile.db import db_session, utcnow
from casefile.errors import CasefileError, ValidationFailed
from casefile.web import page_arg

bp = Blueprint("account", __name__)


def _me() -> User:
    user = db_session().get(User, current_user.id)
    if user is None:
        abort(404)
    return user


@bp.get("/account")
def overview() -> str:
    s = db_session()
    me = _me()
    return render_template(
        "auth/account.html",
        me=me,
        tokens=services.tokens_of(s, me),
        password_form=PasswordForm(),
        token_form=TokenForm(),
        confirm=ConfirmForm(),
        required=totp.must_use(s, me),
    )


@bp.post("/account/password")
def change_password() -> Response:
    s = db_session()
    me = _me()
    form = PasswordForm()
    if not form.validate_on_submit() or not verify_password(me.password_hash, form.current.data or ""):
        flash(_("The current password is not correct."), "error")
        return redirect(url_for("account.overview"))
    try:
        services.set_password(s, me, form.new.data or "", actor=me)
    except ValidationFailed as error:
        flash(error.message, "error")
        return redirect(url_for("account.overview"))
    # Every session ended with the password change; this browser carries on under a new one.
    login_flow.complete_login(s, me)
    flash(_("Password changed. Every other session of yours has been logged out."), "info")
    return redirect(url_for("account.overview"))


@bp.post("/account/logout-everywhere")
def logout_everywhere() -> Response:
    s = db_session()
    me = _me()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.end_all_sessions(s, me, SessionEnd.LOGOUT_EVERYWHERE)
    services.record_auth_event(s, "logout_everywhere", user=me, address=request.remote_addr or "")
    login_flow.forget_login()
    flash(_("You have been logged out everywhere."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/tokens")
def create_token() -> str | Response:
    s = db_session()
    me = _me()
    form = TokenForm()
    if not form.validate_on_submit():
        flash(_("Give the token a name."), "error")
        return redirect(url_for("account.overview"))
    token = services.create_api_token(s, me, form.name.data or "api")
    # Shown once, on this response only; it is never stored in clear.
    return render_template("auth/token_created.html", token=token)


@bp.post("/account/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.revoke_token(db_session(), _me(), parse_id(token_id))
    flash(_("Token revoked."), "info")
    return redirect(url_for("account.overview"))


@bp.route("/account/second-factor", methods=["GET", "POST"])
def enrol() -> str | Response | tuple[str, int]:
    s = db_session()
    me = _me()
    if me.totp_enabled:
        flash(_("Your second factor is already set up."), "info")
        return redirect(url_for("account.overview"))
    # The candidate secret lives in the (signed, server-issued) session until a code proves the app has it.
    secret = session.get("enrol_secret")
    started = session.get("enrol_at")
    if (
        not secret
        or not started
        or datetime.fromisoformat(started)
        < datetime.fromisoformat(services.utcnow().isoformat()) - timedelta(minutes=15)
    ):
        secret = totp.new_secret()
        session["enrol_secret"] = secret
        session["enrol_at"] = utcnow().isoformat()
    form = EnrolForm()
    if form.validate_on_submit():
        codes = services.enable_second_factor(
            s, field_cipher(), me, secret, form.code.data or "", request.remote_addr or ""
        )
        if codes is None:
            flash(_("That code does not match. Check the time on your device and try again."), "error")
        else:
            session.pop("enrol_secret", None)
            return render_template("auth/recovery_codes.html", codes=codes)
    uri = totp.provisioning_uri(me, secret)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "auth/enrol.html", form=form, qr=totp.qr_svg(uri), secret=secret, required=totp.must_enrol(s, me)
    ), status


@bp.post("/account/second-factor/disable")
def disable_second_factor() -> Response:
    form = EnrolForm()
    # An invalid form is an empty code: refused by the service with the same message as a wrong one.
    code = (form.code.data or "") if form.validate_on_submit() else ""
    try:
        services.disable_second_factor(db_session(), field_cipher(), _me(), code, request.remote_addr or "")
    except CasefileError as error:
        flash(error.message, "error")
        return redirect(url_for("account.overview"))
    flash(_("Second factor turned off."), "info")
    return redirect(url_for("account.overview"))


@bp.get("/admin/audit")
def audit() -> str:
    """Admins and reviewers read the audit log of authentication events."""
    require_audit_reader(current_user)
    s = db_session()
    event = request.args.get("event") or None
    if event and event not in EVENTS:
        event = None
    email = request.args.get("email") or None

    def day(name: str) -> datetime | None:
        raw = request.args.get(name)
        try:
            return datetime.fromisoformat(raw).replace(tzinfo=UTC) if raw else None
        except ValueError:
            return None

    since, until = day("since"), day("until")
    page = page_arg()
    stmt = audit_query(event, email, since, until + timedelta(days=1) if until else None)
    fetched = list(s.scalars(stmt.limit(101).offset((page - 1) * 100)))
    rows = fetched[:100]
    # Names and roles instead of ids: the accounts of the page's rows, in one query.
    people = services.people_by_id(s, {i for r in rows for i in (r.user_id, r.actor_id) if i is not None})
    return render_template(
        "auth/audit.html",
        rows=rows,
        more=len(fetched) > 100,
        page=page,
        events=EVENTS,
        args=request.args,
        people=people,
    )


@bp.route("/admin/security", methods=["GET", "POST"])
def security_settings() -> str | Response:
    require_admin(current_user)
    s = db_session()
    form = SecuritySettingsForm()
    if form.validate_on_submit():
        roles = totp.set_required_roles(s, form.roles.data or [])
        viewers = totp.set_identity_viewers_required(s, bool(form.identity_viewers.data))
        services.record_auth_event(
            s,
            "settings_changed",
            actor=current_user,
            details={"second_factor_required_roles": sorted(roles), "second_factor_identity_viewers": viewers},
        )
        flash(_("Security settings saved."), "info")
        return redirect(url_for("account.security_settings"))
    form.roles.data = sorted(totp.required_roles(s))
    form.identity_viewers.data = totp.identity_viewers_required(s)
    return render_template("auth/security.html", form=form)
