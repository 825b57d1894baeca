"""The browser's half of a login: the signed cookie and Flask-Login, over the server-side session records of
casefile/auth/sessions.py. Shared by the login pages (views.py), the account pages (account.py) and the request
plumbing (casefile/web.py), so that a session starts and ends in one way wherever it happens."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import request, session
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import Session

from casefile import components
from casefile.auth import services, sessions
from casefile.auth.models import SessionEnd, User
from casefile.db import utcnow


def timeouts() -> sessions.Timeouts:
    cfg = components.settings()
    return sessions.Timeouts(
        idle=timedelta(minutes=cfg.session_idle_minutes), absolute=timedelta(hours=cfg.session_absolute_hours)
    )


def user_agent() -> str:
    return request.headers.get("User-Agent", "")


def cookie_time(name: str) -> datetime | None:
    """A time this module wrote into the (signed) cookie; None when absent or unreadable."""
    value = session.get(name)
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def fresh_session() -> None:
    # A new cookie at each step of authentication: nothing planted before it survives. The language stays.
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def begin_second_factor(user: User, next_url: str | None) -> None:
    """The password is proven; the browser is not logged in until the second factor is."""
    fresh_session()
    session["pending_user"] = services.pending_login(user)
    session["pending_at"] = utcnow().isoformat()
    session["pending_next"] = next_url or ""


def pending_second_factor(s: Session) -> User | None:
    """The user half-way through logging in on this browser, if that step is still valid; otherwise it is dropped."""
    user = services.user_for_pending_login(s, session.get("pending_user", ""), cookie_time("pending_at"))
    if user is None:
        session.pop("pending_user", None)
    return user


def pending_next() -> str | None:
    """Where the page that sent the user to log in wanted to go (checked by safe_next before it was kept)."""
    return session.get("pending_next") or None


def complete_login(s: Session, user: User) -> None:
    """Log this browser in as `user` under a new server-side session (a new key at every login)."""
    fresh_session()
    user.bind_login_session(sessions.start(s, user, user_agent(), timeouts()))
    login_user(user)
    now = utcnow().isoformat()
    session["auth_at"] = now
    session["seen_at"] = now


def forget_login() -> None:
    """This browser forgets its login (the server-side record is ended, or already was, by the caller)."""
    logout_user()
    session.clear()


def end_login(s: Session, reason: SessionEnd) -> None:
    """End this browser's session on the server, then in the cookie."""
    if current_user.is_authenticated:
        sessions.end(s, current_user.get_id(), reason)
    forget_login()
