from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casefile.db import Base, UUIDPrimaryKey, enum_type, utcnow

if TYPE_CHECKING:
    from casefile.cases.models import Case


class Role(enum.StrEnum):
    ADMIN = "admin"
    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    REVIEWER = "reviewer"


class CaseRole(enum.StrEnum):
    """What a member may do inside one case. Reviewers read and verify; they never write."""

    INVESTIGATOR = "investigator"
    LEGAL = "legal"
    REVIEWER = "reviewer"


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    # Rotated whenever every session of the user ends (password change, "log out everywhere", deactivation):
    # a login half-way through its second factor has no session record yet and is bound to this instead.
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # TOTP second factor: the secret is encrypted like a protected identity; the last accepted time step
    # makes every code single-use; recovery codes are stored hashed.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What Flask-Login keeps in the signed cookie and hands back to the user loader: the key of the
        server-side login session (UserSession) this object was logged in with or loaded through, never
        anything about the account itself, so ending the record ends the cookie."""
        key: str | None = getattr(self, "_login_session_key", None)
        if key is None:
            raise LookupError("this user was not logged in or loaded through a login session")
        return key

    def bind_login_session(self, key: str) -> None:
        # A plain attribute, not a column: the key exists only in the cookie (the table holds its SHA-256).
        self._login_session_key = key

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class Membership(UUIDPrimaryKey, Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "case_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[CaseRole] = mapped_column(enum_type(CaseRole, "membership_role"))
    can_view_identities: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    case: Mapped[Case] = relationship(back_populates="memberships")

    @property
    def can_write(self) -> bool:
        return self.role is not CaseRole.REVIEWER


class ApiToken(UUIDPrimaryKey, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # SHA-256 of a 256-bit random token: the token is unguessable, so a slow hash buys nothing here.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class SessionEnd(enum.StrEnum):
    """Why a login session ended."""

    LOGOUT = "logout"
    LOGOUT_EVERYWHERE = "logout_everywhere"
    IDLE_TIMEOUT = "idle_timeout"
    ABSOLUTE_TIMEOUT = "absolute_timeout"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - why a session ended, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - the same, when an administrator reset it
    DEACTIVATED = "deactivated"


class UserSession(UUIDPrimaryKey, Base):
    """A login session, held on the server so that any web server can end it for all of them: the signed
    cookie carries only a random key, and every request finds its record by the key's SHA-256."""

    __tablename__ = "user_sessions"

    # SHA-256 of a 256-bit random key: a leaked table cannot be replayed as cookies, and the key is unguessable,
    # so a slow hash buys nothing (as for API tokens).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[SessionEnd | None] = mapped_column(enum_type(SessionEnd, "session_end_reason"))
    # SHA-256 of the User-Agent header at login: the session is bound to the browser that logged in, as the
    # cookie's own Flask-Login identifier is ("strong" session protection), and now on the server as well.
    user_agent_hash: Mapped[str] = mapped_column(String(64))


class LoginAttempt(UUIDPrimaryKey, Base):
    """Recent login attempts, for throttling per account and per address across worker processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    email: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthEvent(UUIDPrimaryKey, Base):
    """Append-only audit log of authentication and authorization events (the database refuses edits)."""

    __tablename__ = "auth_events"
    __table_args__ = (Index("ix_auth_events_at", "at"), Index("ix_auth_events_event_at", "event", "at"))

    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[uuid.UUID | None]  # no foreign key: the log outlives accounts
    email: Mapped[str] = mapped_column(String(254), default="")
    actor_id: Mapped[uuid.UUID | None]  # who did it, when not the user themselves (an admin)
    address: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InstanceSetting(Base):
    """Settings an administrator changes at run time (e.g. which roles must use a second factor)."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
