"""Password hashing with argon2id.

Production uses argon2-cffi's defaults, which follow RFC 9106's recommendations. The test suite hashes a password
for every user it makes, so it sets `Settings.argon2_profile = "cheapest"` to pay microseconds instead of
a tenth of a second and 64 MiB per hash. A hash records its own parameters: every profile verifies every hash,
and `needs_rehash` moves a hash made under other parameters to the running profile at the next login.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import has_app_context

from casefile import components
from casefile.config import Argon2Profile

PROFILES: dict[Argon2Profile, PasswordHasher] = {
    "production": PasswordHasher(),
    # argon2's minimum: one pass over 8 KiB, the least memory one lane allows. Worthless against guessing.
    "cheapest": PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID),
}
# Verified against when the account does not exist, so a wrong email costs as much time as a wrong password.
_DUMMY_HASHES = {name: hasher.hash(secrets.token_hex(16)) for name, hasher in PROFILES.items()}

MIN_LENGTH = 12


def _profile() -> Argon2Profile:
    # Outside an application (no settings to read) only the production parameters are safe.
    return components.settings().argon2_profile if has_app_context() else "production"


def hash_password(password: str) -> str:
    return PROFILES[_profile()].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    profile = _profile()
    try:
        return PROFILES[profile].verify(password_hash or _DUMMY_HASHES[profile], password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return PROFILES[_profile()].check_needs_rehash(password_hash)


def generate_password() -> str:
    # ~120 bits, readable aloud, no ambiguous characters.
    return "-".join(secrets.token_urlsafe(6).replace("_", "x").replace("-", "y") for _ in range(4))
