"""How phones log in: HTTP Digest (RFC 7616, MD5 with qop=auth, what OpenRosa clients speak) with a person's device
credential, or Basic over HTTPS only. Never the person's password, and never a session cookie.

Nonces are stateless (a time and an HMAC under the instance's secret key), so any web server checks any other's;
each answered (nonce, nc) pair is recorded, so a captured Authorization header cannot be sent again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import Authorization

from casefile.auth.models import User
from casefile.db import utcnow
from casefile.fieldintake.models import DeviceCredential, DigestNonceUse
from casefile.witnesses.crypto import FieldCipher, FieldKeyError

REALM = "Casefile"
NONCE_LIFETIME = timedelta(minutes=10)
PREFIX = "/openrosa/"


def _md5(text: str) -> str:
    # Digest's MD5 is what the clients implement; the secret is 160 random bits, so MD5's weaknesses as a hash
    # of a guessable password do not apply, and replays are refused by nonce and counter.
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _mac(key: str, message: str) -> str:
    return hmac.new(key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def make_nonce(key: str, now: datetime | None = None) -> str:
    stamp = str(int((now or utcnow()).timestamp()))
    salt = secrets.token_hex(8)
    return base64.urlsafe_b64encode(f"{stamp}:{salt}:{_mac(key, stamp + ':' + salt)}".encode()).decode()


def nonce_state(key: str, nonce: str, now: datetime | None = None) -> str:
    """'fresh', 'stale' (ours, but older than NONCE_LIFETIME: the client retries with a new one) or 'forged'."""
    try:
        stamp, salt, mac = base64.urlsafe_b64decode(nonce.encode()).decode().split(":")
        issued = datetime.fromtimestamp(int(stamp), tz=(now or utcnow()).tzinfo)
    except (ValueError, UnicodeDecodeError, OverflowError):
        return "forged"
    if not hmac.compare_digest(mac, _mac(key, stamp + ":" + salt)):
        return "forged"
    age = (now or utcnow()) - issued
    return "fresh" if -timedelta(minutes=1) <= age <= NONCE_LIFETIME else "stale"


def challenge(key: str, *, stale: bool = False) -> str:
    value = f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{make_nonce(key)}", opaque="{_mac(key, REALM)}"'
    return value + (", stale=true" if stale else "")


@dataclass
class Outcome:
    credential: DeviceCredential | None = None
    user: User | None = None
    stale: bool = False  # a good response to an expired nonce: answer with a fresh challenge, stale=true
    attempted: bool = False  # credentials were sent (a failure counts towards the bad-token throttle)


def _credential(session: Session, username: str | None) -> tuple[DeviceCredential, User] | None:
    if not username or len(username) > 64:
        return None
    row = session.execute(
        select(DeviceCredential, User)
        .join(User, User.id == DeviceCredential.user_id)
        .where(DeviceCredential.username == username, DeviceCredential.revoked_at.is_(None), User.active.is_(True))
    ).first()
    return (row[0], row[1]) if row is not None else None


def secret_of(cipher: FieldCipher, credential: DeviceCredential) -> str | None:
    try:
        return str(cipher.decrypt(credential.secret, context=f"device-credential:{credential.id}")["secret"])
    except (FieldKeyError, KeyError):
        return None


def authenticate(
    session: Session,
    cipher: FieldCipher,
    key: str,
    auth: Authorization | None,
    *,
    method: str,
    uri: str,
    secure: bool,
) -> Outcome:
    """Who sent this request, from its Authorization header (read only; `remember_nonce` records a success)."""
    if auth is None:
        return Outcome()
    outcome = Outcome(attempted=True)
    if auth.type == "basic":
        if not secure:  # the secret would cross the network in clear
            return outcome
        found = _credential(session, auth.username)
        if found is None:
            return outcome
        secret = secret_of(cipher, found[0])
        if secret is not None and hmac.compare_digest(secret.encode(), (auth.password or "").encode()):
            outcome.credential, outcome.user = found
        return outcome
    if auth.type != "digest":
        return outcome
    params = auth.parameters
    nonce, nc, cnonce = params.get("nonce") or "", params.get("nc") or "", params.get("cnonce") or ""
    if (
        params.get("realm") != REALM
        or params.get("qop") != "auth"
        or str(params.get("algorithm") or "MD5").upper() != "MD5"
        or not nc
        or not cnonce
        or len(nonce) > 120
        or len(nc) > 16
        or params.get("uri") != uri
    ):
        return outcome
    state = nonce_state(key, nonce)
    if state == "forged":
        return outcome
    found = _credential(session, auth.username)
    if found is None:
        return outcome
    secret = secret_of(cipher, found[0])
    if secret is None:
        return outcome
    ha1 = _md5(f"{auth.username}:{REALM}:{secret}")
    ha2 = _md5(f"{method}:{uri}")
    expected = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    if not hmac.compare_digest(expected, str(params.get("response") or "")):
        return outcome
    if state == "stale":
        outcome.stale, outcome.attempted = True, False  # right secret, old nonce: not a guess
        return outcome
    outcome.credential, outcome.user = found
    return outcome


def remember_nonce(session: Session, auth: Authorization) -> bool:
    """Record a Digest (nonce, nc) pair as answered: False when it was already (a replayed header). Basic has no
    nonce. The caller's transaction commits it; expired pairs are swept as new ones arrive."""
    if auth.type != "digest":
        return True
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(DigestNonceUse(nonce=auth.parameters["nonce"], nc=auth.parameters["nc"], used_at=now))
    except IntegrityError:
        return False
    if secrets.randbelow(50) == 0:
        session.execute(delete(DigestNonceUse).where(DigestNonceUse.used_at < now - 2 * NONCE_LIFETIME))
    return True
