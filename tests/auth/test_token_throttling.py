"""10,000 forged tokens used to leave no trace and meet no resistance. Now bad tokens are counted per address: past
the limit every token from that address is refused (429, Retry-After) for the rest of the minute, before it is even
looked up, and the audit log gets one entry when a burst starts and one when the throttle begins, not a row a guess.
Other addresses are not affected."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask
from sqlalchemy import func, select

from casefile import create_app
from casefile.auth.models import AuthEvent, LoginAttempt
from casefile.config import Settings
from casefile.db import session_scope

from support import Account, Api

LIMIT = 20  # the default CASEFILE_TOKEN_FAILURES_PER_MINUTE


def events(app: Flask, *names: str) -> list[tuple[str, str]]:
    with app.app_context(), session_scope() as s:
        rows = s.execute(select(AuthEvent.event, AuthEvent.address).where(AuthEvent.event.in_(names)))
        return sorted((event, address) for event, address in rows)


def attempts(app: Flask) -> int:
    with app.app_context(), session_scope() as s:
        return s.scalar(select(func.count()).select_from(LoginAttempt)) or 0


def test_a_burst_of_forged_tokens_is_throttled_and_recorded_once(
    app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, owner = api_for("investigator")
    make_case(owner, "TOK")
    guesser = app.test_client()
    statuses = []
    for n in range(200):
        forged = {"Authorization": f"Bearer cf_{uuid.uuid4().hex}{n}"}
        response = guesser.get("/api/v1/cases", headers=forged, environ_base={"REMOTE_ADDR": "203.0.113.7"})
        statuses.append(response.status_code)
    assert statuses[:LIMIT] == [401] * LIMIT  # each of the first ones is looked up and refused
    assert set(statuses[LIMIT:]) == {429}
    throttled = guesser.get(
        "/api/v1/cases", headers={"Authorization": "Bearer cf_x"}, environ_base={"REMOTE_ADDR": "203.0.113.7"}
    )
    assert throttled.headers["Retry-After"] == "60"
    assert throttled.get_json()["error"]["code"] == "too_many_requests"
    # A real token from the same address waits too: no yes/no answer for a guesser during the throttle.
    valid = {"Authorization": api.headers["Authorization"]}
    assert guesser.get("/api/v1/cases", headers=valid, environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 429
    # Another address is unaffected.
    assert api.get("/cases").status_code == 200
    # Bounded records: one row per counted failure (LIMIT), two audit events for the whole burst.
    assert attempts(app) == LIMIT
    assert events(app, "token_rejected", "token_throttled") == [
        ("token_rejected", "203.0.113.7"),
        ("token_throttled", "203.0.113.7"),
    ]


def test_a_request_without_a_token_is_not_counted(app: Flask) -> None:
    client = app.test_client()
    for _ in range(LIMIT + 5):
        assert client.get("/api/v1/cases").status_code == 401
    assert attempts(app) == 0 and events(app, "token_rejected") == []


def test_behind_a_proxy_the_clients_own_address_is_throttled(settings: Settings) -> None:
    """With CASEFILE_PROXY_HOPS=1 the address X-Forwarded-For names is the one counted (not the proxy's, which would
    throttle everyone); without it the header is ignored, since any client could send it."""
    for hops, counted in ((1, "198.51.100.9"), (0, "127.0.0.1")):
        app = create_app(settings.with_overrides(proxy_hops=hops))
        try:
            client = app.test_client()
            headers = {"Authorization": "Bearer cf_forged", "X-Forwarded-For": "198.51.100.9"}
            assert client.get("/api/v1/cases", headers=headers).status_code == 401
            with app.app_context(), session_scope() as s:
                addresses = set(s.scalars(select(LoginAttempt.address)))
            assert counted in addresses, (hops, addresses)
            if hops:
                assert "127.0.0.1" not in addresses
        finally:
            app.extensions["casefile_db"].dispose()
