"""TOTP second factor (RFC 6238) with single-use codes and recovery codes.

A code is accepted once: the last accepted time step is stored and any code of that step or an earlier one
is refused, so a code seen over someone's shoulder cannot be replayed. The shared secret is encrypted with
the field keys (it is as sensitive as a password), and recovery codes are stored as SHA-256 hashes (they are
random, 80 bits, and single-use).
"""

from __future__ import annotations

import hashlib
import secrets
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from casefile.auth.models import InstanceSetting, Membership, Role, User
from casefile.witnesses.crypto import FieldCipher

ISSUER = "Casefile"
RECOVERY_CODES = 10
REQUIRED_ROLES_KEY = "second_factor_required_roles"
IDENTITY_VIEWERS_KEY = "second_factor_identity_viewers"


def _context(user: User) -> str:
    return f"casefile:totp:{user.id}"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An SVG QR code (inline data, no external service)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5)


def _step(at: float | None = None) -> int:
    return int((at if at is not None else time.time()) // 30)


def _matching_step(secret: str, code: str, at: float | None = None) -> int | None:
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = _step(at)
    for step in (now - 1, now, now + 1):  # one step of clock drift either way
        if secrets.compare_digest(totp.at(step * 30), code):
            return step
    return None


def enable(session: Session, cipher: FieldCipher, user: User, secret: str, code: str) -> list[str] | None:
    """Turn the second factor on if `code` proves the authenticator has the secret; returns the recovery codes
    (shown once), or None when the code is wrong."""
    step = _matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret = cipher.encrypt({"secret": secret}, _context(user))
    user.totp_enabled = True
    user.totp_last_step = step
    codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
    user.recovery_codes = [hashlib.sha256(c.encode()).hexdigest() for c in codes]
    session.flush()
    return codes


def disable(session: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_step = None
    user.recovery_codes = []
    session.flush()


def verify(session: Session, cipher: FieldCipher, user: User, code: str, at: float | None = None) -> str | None:
    """Check a login code: "totp" or "recovery" when accepted (and consumed), None when refused."""
    if not user.totp_enabled or not user.totp_secret:
        return None
    secret = cipher.decrypt(user.totp_secret, _context(user))["secret"]
    step = _matching_step(secret, code, at)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return None  # replayed (or older) code
        user.totp_last_step = step
        session.flush()
        return "totp"
    digest = hashlib.sha256(code.strip().lower().encode()).hexdigest()
    if digest in user.recovery_codes:
        user.recovery_codes = [c for c in user.recovery_codes if c != digest]
        session.flush()
        return "recovery"
    return None


def required_roles(session: Session) -> set[str]:
    setting = session.get(InstanceSetting, REQUIRED_ROLES_KEY)
    roles = set(setting.value) if setting and isinstance(setting.value, list) else set()
    return roles | {Role.ADMIN.value}  # administrators always


def set_required_roles(session: Session, roles: list[str]) -> set[str]:
    valid = {r.value for r in Role}
    chosen = sorted({r for r in roles if r in valid} | {Role.ADMIN.value})
    setting = session.get(InstanceSetting, REQUIRED_ROLES_KEY)
    if setting is None:
        session.add(InstanceSetting(key=REQUIRED_ROLES_KEY, value=chosen))
    else:
        setting.value = chosen
    session.flush()
    return set(chosen)


def identity_viewers_required(session: Session) -> bool:
    """The instance policy: whoever may see protected witness identities in any case must use a second factor
    (on unless an administrator turned it off)."""
    setting = session.get(InstanceSetting, IDENTITY_VIEWERS_KEY)
    return setting is None or setting.value is not False


def set_identity_viewers_required(session: Session, required: bool) -> bool:
    setting = session.get(InstanceSetting, IDENTITY_VIEWERS_KEY)
    if setting is None:
        session.add(InstanceSetting(key=IDENTITY_VIEWERS_KEY, value=bool(required)))
    else:
        setting.value = bool(required)
    session.flush()
    return bool(required)


def must_use(session: Session, user: User) -> bool:
    """Whether the instance's policy requires this person to use a second factor: by role, or because they may see
    protected identities (a permission of one of their memberships) while the identity policy is on."""
    if user.role.value in required_roles(session):
        return True
    if not identity_viewers_required(session):
        return False
    return bool(
        session.scalar(
            select(Membership.id)
            .where(Membership.user_id == user.id, Membership.can_view_identities.is_(True))
            .limit(1)
        )
    )


def must_enrol(session: Session, user: User) -> bool:
    return not user.totp_enabled and must_use(session, user)
