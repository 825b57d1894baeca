"""Login, logout and the administrators' user pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from casefile.auth import services
from casefile.auth.forms import ConfirmForm, LoginForm, UserCreateForm
from casefile.auth.gate import parse_id
from casefile.auth.models import User
from casefile.auth.passwords import generate_password
from casefile.db import db_session, utcnow
from casefile.errors import CasefileError
from casefile.web import safe_next, settings

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        cfg = settings()
        result = services.authenticate(
            db_session(),
            form.email.data or "",
            form.password.data or "",
            request.remote_addr or "?",
            per_account=cfg.login_failures_per_minute,
            per_address=cfg.login_failures_per_address_per_minute,
        )
        if result.throttled:
            flash(_("Too many failed attempts. Wait a minute before trying again."), "error")
            return render_template("auth/login.html", form=form), 429
        if result.user is None:
            # One message for unknown email, wrong password and deactivated account: no account probing.
            flash(_("Email or password is incorrect."), "error")
            return render_template("auth/login.html", form=form)
        next_url = safe_next(request.args.get("next"))
        locale = session.get("locale")
        # A fresh session at login: nothing planted before authentication survives it.
        session.clear()
        if locale:
            session["locale"] = locale
        login_user(result.user)
        now = utcnow().isoformat()
        session["auth_at"] = now
        session["seen_at"] = now
        return redirect(next_url or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


@bp.get("/admin/users")
def users() -> str:
    _require_admin()
    rows = db_session().scalars(select(User).order_by(User.email)).all()
    return render_template("auth/users.html", users=rows, form=UserCreateForm(), confirm=ConfirmForm())


@bp.post("/admin/users")
def create_user() -> str | Response | tuple[str, int]:
    _require_admin()
    form = UserCreateForm()
    s = db_session()
    if form.validate_on_submit():
        password = generate_password()
        try:
            user = services.create_user(s, form.email.data or "", form.role.data, password, form.name.data or "")
        except CasefileError as error:
            form.email.errors = [error.message]
        else:
            # Shown once, now; only the hash is kept.
            flash(
                _("Created %(email)s. Their one-time password is: %(pw)s", email=user.email, pw=password),
                "secret",
            )
            return redirect(url_for("auth.users"))
    rows = s.scalars(select(User).order_by(User.email)).all()
    return render_template("auth/users.html", users=rows, form=form, confirm=ConfirmForm()), 422


def _admin_user_action(user_id: str) -> User:
    _require_admin()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = db_session().get(User, parse_id(user_id))
    if user is None:
        abort(404)
    return user


@bp.post("/admin/users/<user_id>/active")
def toggle_active(user_id: str) -> Response:
    user = _admin_user_action(user_id)
    if user.id == current_user.id:
        flash(_("You cannot deactivate your own account."), "error")
        return redirect(url_for("auth.users"))
    services.set_active(db_session(), user, not user.active)
    flash(
        _(
            "%(email)s is now %(state)s.",
            email=user.email,
            state=_("active") if user.active else _("deactivated"),
        ),
        "info",
    )
    return redirect(url_for("auth.users"))


@bp.post("/admin/users/<user_id>/reset-password")
def reset_password(user_id: str) -> Response:
    user = _admin_user_action(user_id)
    password = generate_password()
    services.set_password(db_session(), user, password)
    flash(_("New one-time password for %(email)s: %(pw)s", email=user.email, pw=password), "secret")
    return redirect(url_for("auth.users"))
