"""Dashboard and language choice."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from casefile.auth.models import User
from casefile.cases.services import cases_for
from casefile.db import db_session
from casefile.web import LOCALES, safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
def dashboard() -> str:
    return render_template("main/dashboard.html", cases=cases_for(db_session(), current_user))


@bp.post("/language")
def set_language() -> Response:
    locale = request.form.get("locale", "")
    if locale not in LOCALES:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        user = db_session().get(User, current_user.id)
        if user is not None:
            user.locale = locale
    return redirect(safe_next(request.form.get("next")) or url_for("main.dashboard"))
