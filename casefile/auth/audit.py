"""The authentication audit log: every login, failure, lock-out, token, membership and permission change."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from casefile.auth.models import AuthEvent, User

EVENTS = (
    "login_success",
    "login_failure",
    "login_throttled",
    "logout",
    "logout_everywhere",
    "session_expired",
    "password_changed",
    "password_reset",
    "second_factor_enabled",
    "second_factor_disabled",
    "second_factor_failure",
    "recovery_code_used",
    "token_created",
    "token_revoked",
    "token_rejected",
    "token_throttled",
    "user_created",
    "user_deactivated",
    "user_reactivated",
    "role_changed",
    "membership_added",
    "membership_changed",
    "membership_removed",
    "settings_changed",
)


def record_auth_event(
    session: Session,
    event: str,
    *,
    user: User | None = None,
    email: str = "",
    actor: User | None = None,
    address: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuthEvent:
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    entry = AuthEvent(
        event=event,
        user_id=user.id if user is not None else None,
        email=(email or (user.email if user is not None else ""))[:254],
        actor_id=actor.id if actor is not None else None,
        address=(address or "")[:64],
        details=dict(details or {}),
    )
    session.add(entry)
    session.flush()
    return entry


def audit_query(
    event: str | None = None,
    email: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: uuid.UUID | None = None,
) -> Select[AuthEvent]:
    stmt = select(AuthEvent)
    if event:
        stmt = stmt.where(AuthEvent.event == event)
    if email:
        stmt = stmt.where(AuthEvent.email == email.strip().lower())
    if since:
        stmt = stmt.where(AuthEvent.at >= since)
    if until:
        stmt = stmt.where(AuthEvent.at < until)
    if user_id:
        stmt = stmt.where(AuthEvent.user_id == user_id)
    return stmt.order_by(AuthEvent.at.desc(), AuthEvent.id)
