"""Login, logout and the administrators' user pages."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from casefile.auth import login_flow, services
from casefile.auth.forms import ConfirmForm, LoginForm, SecondFactorForm, UserCreateForm
from casefile.auth.gate import parse_id, require_admin
from casefile.auth.models import Role, SessionEnd, User
from casefile.auth.passwords import generate_password
from casefile.components import field_cipher, settings
from casefile.db import db_session
from casefile.errors import CasefileError
from casefile.labels import word_for
from casefile.web import safe_next

ROLES = [r.value for r in Role]

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        cfg = settings()
        s = db_session()
        result = services.authenticate(
            s,
            form.email.data or "",
            form.password.data or "",
            request.remote_addr or "?",
            per_account=cfg.login_failures_per_minute,
            per_address=cfg.login_failures_per_address_per_minute,
        )
        if result.throttled:
            g.keep_on_error = True  # the audit event of the refused attempt must be kept
            flash(_("Too many failed attempts. Wait a minute before trying again."), "error")
            return render_template("auth/login.html", form=form), 429
        if result.user is None:
            # One message for unknown email, wrong password and deactivated account: no account probing.
            flash(_("Email or password is incorrect."), "error")
            return render_template("auth/login.html", form=form)
        next_url = safe_next(request.args.get("next"))
        if result.second_factor_required:
            login_flow.begin_second_factor(result.user, next_url)
            return redirect(url_for("auth.second_factor"))
        login_flow.complete_login(s, result.user)
        return redirect(next_url or url_for("main.dashboard"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/second-factor", methods=["GET", "POST"])
def second_factor() -> str | Response | tuple[str, int]:
    s = db_session()
    user = login_flow.pending_second_factor(s)
    if user is None:
        flash(_("Please log in again."), "warning")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        result = services.verify_second_factor(
            s,
            field_cipher(),
            user,
            form.code.data or "",
            request.remote_addr or "?",
            per_account=settings().login_failures_per_minute,
        )
        if result.throttled:
            g.keep_on_error = True
            flash(_("Too many failed attempts. Wait a minute before trying again."), "error")
            return render_template("auth/second_factor.html", form=form), 429
        if result.user is None:
            flash(_("That code is not valid, or was already used."), "error")
            return render_template("auth/second_factor.html", form=form)
        next_url = login_flow.pending_next() or url_for("main.dashboard")
        login_flow.complete_login(s, result.user)
        return redirect(next_url)
    return render_template("auth/second_factor.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    s = db_session()
    if current_user.is_authenticated:
        services.record_auth_event(s, "logout", user=current_user, address=request.remote_addr or "")
    login_flow.end_login(s, SessionEnd.LOGOUT)
    flash(_("You have been logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.get("/admin/users")
def users() -> str:
    require_admin(current_user)
    rows = db_session().scalars(select(User).order_by(User.email)).all()
    return render_template("auth/users.html", users=rows, form=UserCreateForm(), confirm=ConfirmForm(), roles=ROLES)


@bp.post("/admin/users")
def create_user() -> str | Response | tuple[str, int]:
    require_admin(current_user)
    form = UserCreateForm()
    s = db_session()
    if form.validate_on_submit():
        password = generate_password()
        try:
            user = services.create_user(
                s,
                form.email.data or "",
                form.role.data,
                password,
                form.name.data or "",
                actor=current_user,
                one_time=True,
            )
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
    return render_template("auth/users.html", users=rows, form=form, confirm=ConfirmForm(), roles=ROLES), 422


def _admin_user_action(user_id: str) -> User:
    require_admin(current_user)
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
    services.set_active(db_session(), user, not user.active, actor=current_user)
    flash(
        _(
            "%(email)s is now %(state)s.",
            email=user.email,
            state=_("active") if user.active else _("deactivated"),
        ),
        "info",
    )
    return redirect(url_for("auth.users"))


@bp.post("/admin/users/<user_id>/role")
def change_role(user_id: str) -> Response:
    user = _admin_user_action(user_id)
    try:
        services.set_role(db_session(), user, request.form.get("role", ""), actor=current_user)
    except CasefileError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.users"))
    flash(_("%(email)s is now %(role)s.", email=user.email, role=_label_role(user)), "info")
    return redirect(url_for("auth.users"))


def _label_role(user: User) -> str:
    return word_for(user.role.value, "role", _)


@bp.post("/admin/users/<user_id>/reset-password")
def reset_password(user_id: str) -> Response:
    user = _admin_user_action(user_id)
    password = generate_password()
    services.set_password(db_session(), user, password, actor=current_user)
    flash(_("New one-time password for %(email)s: %(pw)s", email=user.email, pw=password), "secret")
    return redirect(url_for("auth.users"))
