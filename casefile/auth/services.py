"""Accounts, logins (password, then second factor), memberships, API tokens and login throttling.
Services flush; the caller commits."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from casefile.auth import sessions, totp
from casefile.auth.audit import record_auth_event
from casefile.auth.models import ApiToken, CaseRole, LoginAttempt, Membership, Role, SessionEnd, User
from casefile.auth.passwords import MIN_LENGTH, hash_password, needs_rehash, verify_password
from casefile.cases.models import Case
from casefile.custody.models import CustodyEntry
from casefile.db import utcnow
from casefile.errors import Conflict, Forbidden, NotFound, ValidationFailed
from casefile.labels import word_for

if TYPE_CHECKING:
    from casefile.witnesses.crypto import FieldCipher

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
TOKEN_PREFIX = "cf_"  # noqa: S105 - a public prefix that makes leaked tokens recognisable, not a secret
# Between a proven password and the second factor: long enough to open an authenticator app, no longer.
PENDING_LOGIN_LIFETIME = timedelta(minutes=5)


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed("Enter a valid email address.", field="email")
    return email


def check_password_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"Passwords must be at least {MIN_LENGTH} characters long.", field="password")
    if len(password) > 1024:
        raise ValidationFailed("Passwords must be at most 1024 characters long.", field="password")


_RoleKind = TypeVar("_RoleKind", Role, CaseRole)


def parse_role(value: str, allowed: type[_RoleKind]) -> _RoleKind:
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(r.value for r in allowed)
        raise ValidationFailed(f"Unknown role {value!r}: choose one of {names}.", field="role") from None


def create_user(
    session: Session,
    email: str,
    role: str | Role,
    password: str,
    name: str = "",
    actor: User | None = None,
    *,
    one_time: bool = False,
) -> User:
    """`one_time`: the password was made for the user and shown to whoever created the account; the first login must
    replace it."""
    email = normalise_email(email)
    role = parse_role(role, Role) if isinstance(role, str) else role
    check_password_policy(password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("A user with this email address already exists.", field="email")
    user = User(
        email=email,
        name=(name or email.split("@")[0]).strip()[:200],
        role=role,
        password_hash=hash_password(password),
        session_token=secrets.token_hex(16),
        must_change_password=one_time,
    )
    session.add(user)
    session.flush()
    record_auth_event(session, "user_created", user=user, actor=actor, details={"role": user.role.value})
    return user


def set_password(session: Session, user: User, password: str, actor: User | None = None) -> None:
    """A new password ends every session of the user (a cookie from before the change stops working)."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    by_self = actor is None or actor.id == user.id
    # A password someone else set (an administrator's reset) is known to them: it works for one login only.
    user.must_change_password = not by_self
    end_all_sessions(session, user, SessionEnd.PASSWORD_CHANGED if by_self else SessionEnd.PASSWORD_RESET)
    session.flush()
    record_auth_event(session, "password_changed" if by_self else "password_reset", user=user, actor=actor)


def end_all_sessions(session: Session, user: User, reason: SessionEnd) -> None:
    """Every session of this user ends, on every server, and so does a login half-way through its second factor."""
    sessions.end_all(session, user.id, reason)
    user.session_token = secrets.token_hex(16)
    session.flush()


def set_active(session: Session, user: User, active: bool, actor: User | None = None) -> None:
    user.active = active
    if not active:
        end_all_sessions(session, user, SessionEnd.DEACTIVATED)
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            token.revoked_at = token.revoked_at or utcnow()
    session.flush()
    record_auth_event(session, "user_reactivated" if active else "user_deactivated", user=user, actor=actor)


def set_role(session: Session, user: User, role: str | Role, actor: User) -> User:
    """An administrator changes someone's role (never their own: an administrator cannot lock the instance out of
    its last administration by mistake). The change is in the audit log, before and after."""
    new = parse_role(role, Role) if isinstance(role, str) else role
    if user.id == actor.id:
        raise Forbidden(_("You cannot change your own role."))
    before = user.role
    if new is not before:
        user.role = new
        session.flush()
        record_auth_event(
            session,
            "role_changed",
            user=user,
            actor=actor,
            details={"role": new.value, "before": {"role": before.value}},
        )
    return user


def get_user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(f"No user with email {email!r}.")
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None  # set when this step succeeded
    throttled: bool = False

    @property
    def second_factor_required(self) -> bool:
        """The password is right, and the user is not logged in until their second factor is."""
        return self.user is not None and self.user.totp_enabled


def _recent_failures(session: Session, column: InstrumentedAttribute[str], value: str, window: timedelta) -> int:
    since = utcnow() - window
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
        )
        or 0
    )


def authenticate(
    session: Session, email: str, password: str, address: str, *, per_account: int, per_address: int
) -> LoginResult:
    """Check a login. Throttled attempts are refused before the password is even looked at,
    so an attacker learns nothing from them; every attempt is recorded."""
    email = (email or "").strip().lower()[:254]
    window = timedelta(minutes=1)
    if (
        _recent_failures(session, LoginAttempt.email, email, window) >= per_account
        or _recent_failures(session, LoginAttempt.address, address, window) >= per_address
    ):
        record_auth_event(session, "login_throttled", email=email, address=address)
        return LoginResult(None, throttled=True)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    session.add(LoginAttempt(email=email, address=address[:64], success=ok))
    record_auth_event(
        session,
        "login_success" if ok else "login_failure",
        user=user if ok else None,
        email=email,
        address=address,
        details={} if ok or user is None else {"reason": "password or inactive"},
    )
    if ok and user is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    # Old attempts are only needed for the throttling window; keep the table small.
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(days=1)))
    session.flush()
    return LoginResult(user if ok else None)


def pending_login(user: User) -> str:
    """What a browser keeps between the password and the second factor. It names the user's session_token, so
    ending all their sessions (a password change, deactivation) voids a login half-way through as well."""
    return f"{user.id}:{user.session_token}"


def user_for_pending_login(session: Session, reference: str, started: datetime | None) -> User | None:
    """The user of a pending login, if it is still valid: recent, for an active account, not voided since."""
    if started is None or utcnow() - started > PENDING_LOGIN_LIFETIME:
        return None
    user_id, _sep, token = (reference or "").partition(":")
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        return None
    user = session.get(User, uid)
    if user is None or not user.active or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def verify_second_factor(
    session: Session, cipher: FieldCipher, user: User, code: str, address: str, *, per_account: int
) -> LoginResult:
    """Check the second step of a login, for a user whose password was just proven. As in `authenticate`,
    throttled attempts are refused before the code is looked at (so they use up no recovery code), and a wrong
    code counts towards the same per-account throttle as a wrong password; every attempt is recorded."""
    if _recent_failures(session, LoginAttempt.email, user.email, timedelta(minutes=1)) >= per_account:
        record_auth_event(session, "login_throttled", user=user, address=address)
        return LoginResult(None, throttled=True)
    used = totp.verify(session, cipher, user, code)
    if used is None:
        session.add(LoginAttempt(email=user.email, address=address[:64], success=False))
        record_auth_event(session, "second_factor_failure", user=user, address=address)
        return LoginResult(None)
    if used == "recovery":
        record_auth_event(
            session, "recovery_code_used", user=user, address=address, details={"remaining": len(user.recovery_codes)}
        )
    return LoginResult(user)


def enable_second_factor(
    session: Session, cipher: FieldCipher, user: User, secret: str, code: str, address: str
) -> list[str] | None:
    """Turn the second factor on when `code` proves the authenticator holds `secret`: the recovery codes, to be
    shown once, or None when the code does not match."""
    codes = totp.enable(session, cipher, user, secret, code)
    if codes is not None:
        record_auth_event(session, "second_factor_enabled", user=user, address=address)
    return codes


def disable_second_factor(session: Session, cipher: FieldCipher, user: User, code: str, address: str) -> None:
    """Turn the second factor off, for a role that need not use one, with a current code as proof."""
    if totp.must_use(session, user):
        raise Forbidden(_("Your role, or your permission to see protected identities, requires a second factor."))
    if totp.verify(session, cipher, user, code) is None:
        raise ValidationFailed(_("Enter a current code to turn the second factor off."), field="code")
    totp.disable(session, user)
    record_auth_event(session, "second_factor_disabled", user=user, address=address)


def create_api_token(session: Session, user: User, name: str = "api") -> str:
    """Returns the token once; only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, name=name[:100], token_hash=hashlib.sha256(token.encode()).hexdigest(), prefix=token[:10]
    )
    session.add(row)
    session.flush()
    record_auth_event(session, "token_created", user=user, details={"token": row.prefix, "name": row.name})
    return token


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))


def revoke_token(session: Session, user: User, token_id: uuid.UUID) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound("Not found.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        record_auth_event(session, "token_revoked", user=user, details={"token": token.prefix})


# Bad API tokens are counted as failed attempts of this pseudo-account, per address (LoginAttempt has no other use for
# a value that is not an e-mail address). They count towards the address's login throttle too: one guesser.
TOKEN_ATTEMPT = "api-token"  # noqa: S105 - a label, not a secret
TOKEN_WINDOW = timedelta(minutes=1)


def token_throttled(session: Session, address: str, limit: int) -> bool:
    """Has this address sent `limit` bad tokens within the last minute? Then no token from it is even looked at."""
    return _recent_token_failures(session, address) >= limit


def record_bad_token(session: Session, address: str, limit: int) -> None:
    """One bad token from `address`: counted for the throttle; the audit log gets the first of a burst
    (`token_rejected`) and the one that starts the throttle (`token_throttled`), not a row per guess."""
    before = _recent_token_failures(session, address)
    session.add(LoginAttempt(email=TOKEN_ATTEMPT, address=address[:64], success=False))
    if before == 0:
        record_auth_event(session, "token_rejected", address=address)
    if before + 1 == limit:
        record_auth_event(session, "token_throttled", address=address, details={"failures_per_minute": limit})
    session.flush()


def _recent_token_failures(session: Session, address: str) -> int:
    since = utcnow() - TOKEN_WINDOW
    return (
        session.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(
                LoginAttempt.email == TOKEN_ATTEMPT,
                LoginAttempt.address == address[:64],
                LoginAttempt.success.is_(False),
                LoginAttempt.at >= since,
            )
        )
        or 0
    )


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None), User.active.is_(True))
    ).first()
    if row is None:
        return None
    return row[1]


def add_member(
    session: Session,
    case: Case,
    user: User,
    role: str | CaseRole,
    can_view_identities: bool = False,
    actor: User | None = None,
    lead: bool | None = None,
) -> Membership:
    """Add a user to a case, or change their role, identity permission and lead right if already a member
    (`lead` None keeps it). `actor` is an administrator or a lead of the case (the gate checked); a lead who may not
    see protected identities cannot give that permission to anyone."""
    case_role = parse_role(role, CaseRole) if isinstance(role, str) else role
    if not user.active:
        raise ValidationFailed("This account is deactivated.", field="email")
    if lead and case_role is CaseRole.REVIEWER:
        raise ValidationFailed(_("A reviewer only reads: a case lead must be able to write."), field="lead")
    membership = session.scalar(select(Membership).where(Membership.case_id == case.id, Membership.user_id == user.id))
    if can_view_identities and actor is not None and not actor.is_admin:
        own = session.scalar(
            select(Membership.can_view_identities).where(Membership.case_id == case.id, Membership.user_id == actor.id)
        )
        already = membership is not None and membership.can_view_identities
        if not own and not already:
            raise ValidationFailed(
                _("You may not see protected identities in this case, so you cannot give that permission."),
                field="can_view_identities",
            )
    event = "membership_changed"
    before = (
        {
            "role": membership.role.value,
            "can_view_identities": membership.can_view_identities,
            "lead": membership.is_lead,
        }
        if membership
        else {}
    )
    if membership is None:
        event = "membership_added"
        membership = Membership(case_id=case.id, user_id=user.id, role=case_role)
        session.add(membership)
    membership.role = case_role
    membership.can_view_identities = bool(can_view_identities)
    if lead is not None:
        membership.is_lead = bool(lead)
    if membership.is_lead and case_role is CaseRole.REVIEWER:
        membership.is_lead = False  # a lead who becomes a reviewer stops managing members
    session.flush()
    record_auth_event(
        session,
        event,
        user=user,
        actor=actor,
        details={
            "case": case.reference,
            "role": case_role.value,
            "can_view_identities": membership.can_view_identities,
            "lead": membership.is_lead,
            **({"before": before} if before else {}),
        },
    )
    return membership


def remove_member(session: Session, case: Case, user_id: uuid.UUID, actor: User | None = None) -> None:
    membership = session.scalar(select(Membership).where(Membership.case_id == case.id, Membership.user_id == user_id))
    if membership is None:
        raise NotFound("This user is not a member of the case.")
    user = membership.user
    session.delete(membership)
    session.flush()
    record_auth_event(session, "membership_removed", user=user, actor=actor, details={"case": case.reference})


PEOPLE_SHOWN = 1000


def people_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """The accounts behind ids shown on a page (audit log, custody trails), in one query."""
    if not ids:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(ids)))}


def active_people(session: Session) -> list[tuple[str, str]]:
    """(email, name) of the active accounts, for the member picker: who may be added to a case."""
    rows = session.execute(
        select(User.email, User.name).where(User.active.is_(True)).order_by(User.email).limit(PEOPLE_SHOWN)
    )
    return [(email, name) for email, name in rows]


def members_of(session: Session, case: Case) -> list[Membership]:
    return list(
        session.scalars(
            select(Membership)
            .join(User)
            .where(Membership.case_id == case.id)
            .options(selectinload(Membership.user))
            .order_by(User.email)
        )
    )


def person_label(user: User) -> str:
    """How pages name a person: "Name (role)"."""
    return f"{user.name or user.email} ({word_for(user.role.value, 'role', _)})"


def actors_of(session: Session, entries: Iterable[CustodyEntry]) -> dict[str, User]:
    """`user:<uuid>` → that person, for every actor of the given entries, in one query."""
    ids = {uuid.UUID(e.actor[5:]) for e in entries if e.actor.startswith("user:")}
    return {f"user:{user.id}": user for user in people_by_id(session, ids).values()}


def actor_labels(session: Session, entries: Iterable[CustodyEntry]) -> dict[str, str]:
    """`user:<uuid>` → "Name (role)" of that person, for every actor of the given entries, in one query."""
    return {actor: person_label(user) for actor, user in actors_of(session, entries).items()}
