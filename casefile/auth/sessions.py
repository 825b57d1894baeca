"""Server-side login sessions (table `user_sessions`). Services flush; the caller commits.

The signed cookie carries only a random key (through Flask-Login's user id, see `User.get_id`); the record found
by the key's SHA-256 says whether the session is alive. So a session ends on the server, for every web server at
once, at log out, "log out everywhere", a password change or reset, deactivation, and the idle and absolute
timeouts, and a copy of the cookie stops working with it. No Flask import: the request plumbing lives in
casefile/web.py and casefile/auth/login_flow.py.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from casefile.auth.models import SessionEnd, User, UserSession
from casefile.db import utcnow

# last_seen_at is written at most this often (not on every request), so the idle check allows the same slack.
TOUCH_EVERY = timedelta(minutes=1)
# Records are deleted (at the user's next login) this long after they can no longer be alive.
RETENTION = timedelta(days=30)
MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Lookup:
    """What the key of a cookie leads to."""

    record: UserSession | None  # None: no such session (never existed, or purged)
    account: User | None  # the record's user, whether or not the session may still be used
    alive: bool = False  # the session may be used now
    expired: SessionEnd | None = None  # a timeout the record has just reached: the caller ends it

    @property
    def user(self) -> User | None:
        return self.account if self.alive else None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def user_agent_hash(user_agent: str) -> str:
    return _digest(user_agent or "")


def expiry(started: datetime | None, seen: datetime | None, now: datetime, timeouts: Timeouts) -> SessionEnd | None:
    """The timeout a session started at `started` and last used at `seen` has reached by `now`, if any.
    No start time is treated as expired: nothing may outlive the absolute timeout by lacking one."""
    if started is None or now - started > timeouts.absolute:
        return SessionEnd.ABSOLUTE_TIMEOUT
    if seen is not None and now - seen > timeouts.idle:
        return SessionEnd.IDLE_TIMEOUT
    return None


def start(session: Session, user: User, user_agent: str, timeouts: Timeouts) -> str:
    """A new session for `user` (a new key at every login, never an old one reused); returns the key, which is
    stored nowhere but in the cookie."""
    now = utcnow()
    key = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            key_hash=_digest(key),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            user_agent_hash=user_agent_hash(user_agent),
        )
    )
    # Keep the table small: this user's sessions that are long past any timeout.
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < now - timeouts.absolute - RETENTION
        )
    )
    session.flush()
    return key


def look_up(session: Session, key: str, user_agent: str, timeouts: Timeouts, now: datetime | None = None) -> Lookup:
    """The session named by a cookie's key and its user, in one query. Writes nothing: the caller ends an expired
    session (`end`) and refreshes a live one (`touch`) in a unit of work of its own."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return Lookup(None, None)
    row = session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.key_hash == _digest(key))
    ).first()
    if row is None:
        return Lookup(None, None)
    record, user = row
    if record.ended_at is not None or not user.active or record.user_agent_hash != user_agent_hash(user_agent):
        return Lookup(record, user)
    # last_seen_at may lag the last request by up to TOUCH_EVERY: allow for it rather than end a session early.
    with_slack = Timeouts(timeouts.idle + TOUCH_EVERY, timeouts.absolute)
    expired = expiry(record.created_at, record.last_seen_at, now or utcnow(), with_slack)
    if expired is not None:
        return Lookup(record, user, expired=expired)
    user.bind_login_session(key)
    return Lookup(record, user, alive=True)


def needs_touch(record: UserSession, now: datetime | None = None) -> bool:
    return (now or utcnow()) - record.last_seen_at >= TOUCH_EVERY


def touch(session: Session, record_id: uuid.UUID, now: datetime | None = None) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.id == record_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=now or utcnow())
    )
    session.flush()


def end(session: Session, key: str, reason: SessionEnd) -> None:
    """End the session named by a cookie's key."""
    _end(session, UserSession.key_hash == _digest(key), reason)


def end_record(session: Session, record_id: uuid.UUID, reason: SessionEnd) -> None:
    _end(session, UserSession.id == record_id, reason)


def end_all(session: Session, user_id: uuid.UUID, reason: SessionEnd) -> None:
    """End every open session of a user."""
    _end(session, UserSession.user_id == user_id, reason)


def _end(session: Session, which: ColumnElement[bool], reason: SessionEnd) -> None:
    # Only open sessions: one that already ended keeps its first end and reason.
    session.execute(
        update(UserSession).where(which, UserSession.ended_at.is_(None)).values(ended_at=utcnow(), end_reason=reason)
    )
    session.flush()
