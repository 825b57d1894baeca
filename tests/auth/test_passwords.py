"""Password hashing profiles: production keeps argon2-cffi's RFC 9106 parameters; the test suite's cheapest
profile only makes hashing fast, and its hashes stay valid argon2id hashes that production verifies and upgrades."""

from __future__ import annotations

from pathlib import Path

import argon2
import pytest
from flask import Flask

from casefile import create_app
from casefile.auth.passwords import hash_password, needs_rehash, verify_password
from casefile.config import Settings, load_settings

PASSWORD = "correct horse battery staple"

# Written out rather than read from argon2-cffi, so a library upgrade that changed its defaults is noticed here.
PRODUCTION = argon2.Parameters(
    type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=3, memory_cost=65536, parallelism=4
)
CHEAPEST = argon2.Parameters(
    type=argon2.Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=8, parallelism=1
)


def test_production_settings_hash_with_rfc_9106_parameters(settings: Settings, tmp_path: Path) -> None:
    assert load_settings(env={"CASEFILE_INSTANCE_PATH": str(tmp_path / "i")}).argon2_profile == "production"
    # Outside any application only the production parameters apply.
    assert argon2.extract_parameters(hash_password(PASSWORD)) == PRODUCTION

    app = create_app(settings.with_overrides(argon2_profile="production"))
    try:
        with app.app_context():
            assert argon2.extract_parameters(hash_password(PASSWORD)) == PRODUCTION
    finally:
        app.extensions["casefile_db"].dispose()


def test_a_cheap_hash_verifies_under_production_and_is_upgraded(app: Flask) -> None:
    with app.app_context():  # the test settings choose the cheapest profile
        cheap = hash_password(PASSWORD)
        assert argon2.extract_parameters(cheap) == CHEAPEST
        assert verify_password(cheap, PASSWORD)
        assert not needs_rehash(cheap)

    assert verify_password(cheap, PASSWORD)
    assert not verify_password(cheap, PASSWORD + "!")
    assert needs_rehash(cheap)  # production replaces it with a full-strength hash at the next login


def test_an_unknown_profile_is_refused(settings: Settings) -> None:
    with pytest.raises(ValueError, match="argon2 profile"):
        settings.with_overrides(argon2_profile="fast")
