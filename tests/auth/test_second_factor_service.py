"""The second step of a login as a service (casefile.auth.services.verify_second_factor), shaped like
`authenticate`: throttled before the code is looked at, every attempt recorded, single-use codes."""

from __future__ import annotations

import hashlib

from flask import Flask
from sqlalchemy import func, select

from casefile.auth import services
from casefile.auth.models import AuthEvent, LoginAttempt, User
from casefile.components import field_cipher
from casefile.db import session_scope

from support import totp_codes


def verify(app: Flask, user_id, code: str, per_account: int = 5) -> services.LoginResult:
    with app.app_context(), session_scope() as s:
        user = s.get(User, user_id)
        assert user is not None
        return services.verify_second_factor(s, field_cipher(), user, code, "192.0.2.7", per_account=per_account)


def count(app: Flask, model: type, *where) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_right_code_passes_once_and_a_wrong_one_is_recorded(app: Flask, make_user) -> None:
    account = make_user("investigator", second_factor=True)
    code = totp_codes(account.totp_secret)[0]
    assert verify(app, account.id, code).user is not None
    replayed = verify(app, account.id, code)
    assert replayed.user is None and not replayed.throttled
    assert count(app, AuthEvent, AuthEvent.event == "second_factor_failure") == 1
    assert count(app, LoginAttempt, LoginAttempt.email == account.email, LoginAttempt.success.is_(False)) == 1


def test_throttled_attempts_use_up_no_recovery_code(app: Flask, make_user) -> None:
    account = make_user("investigator", second_factor=True)
    with app.app_context(), session_scope() as s:
        user = s.get(User, account.id)
        assert user is not None
        user.recovery_codes = [hashlib.sha256(b"aaaaabbbbb").hexdigest()]
    for _ in range(3):
        assert not verify(app, account.id, "000000", per_account=3).throttled
    refused = verify(app, account.id, "aaaaabbbbb", per_account=3)
    assert refused.throttled and refused.user is None
    assert count(app, AuthEvent, AuthEvent.event == "login_throttled") == 1
    assert verify(app, account.id, "aaaaabbbbb", per_account=10).user is not None  # still there to be used
    assert count(app, AuthEvent, AuthEvent.event == "recovery_code_used") == 1
