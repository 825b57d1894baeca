"""Bad input from issue 7 not covered elsewhere: CSRF tokens of another session, HTTPS-only headers and cookies,
a decompression-bomb upload."""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from flask.testing import FlaskClient

from support import csrf_token, login


def test_a_csrf_token_from_another_session_is_refused(app, make_user) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    account = make_user()
    mine, theirs = app.test_client(), app.test_client()
    their_token = csrf_token(theirs.get("/login").get_data(as_text=True))
    token = csrf_token(mine.get("/login").get_data(as_text=True))
    mine.post("/login", data={"email": account.email, "password": account.password, "csrf_token": token})
    # Markers long enough that the random CSRF token in the page can never contain them by chance.
    case = {"reference": "CROSS-SESSION", "title": "Forged across sessions"}
    refused = mine.post("/cases/new", data={**case, "csrf_token": their_token})
    assert refused.status_code == 400
    dashboard = mine.get("/").get_data(as_text=True)
    assert case["reference"] not in dashboard and case["title"] not in dashboard

    # The same form with the session's own token is accepted and shows on the dashboard, so the check above can fail.
    accepted = mine.post(
        "/cases/new", data={**case, "csrf_token": csrf_token(mine.get("/cases/new").get_data(as_text=True))}
    )
    assert accepted.status_code == 302
    dashboard = mine.get("/").get_data(as_text=True)
    assert case["reference"] in dashboard and case["title"] in dashboard


def test_https_deployments_send_hsts_and_secure_cookies(settings, make_user) -> None:
    from casefile import create_app

    app = create_app(settings.with_overrides(https=True))
    try:
        client = app.test_client()
        response = client.get("/login")
        assert "max-age=" in response.headers["Strict-Transport-Security"]
        assert app.config["SESSION_COOKIE_SECURE"] is True
        cookie = response.headers.get("Set-Cookie", "")
        assert not cookie or ("Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie)
    finally:
        app.extensions["casefile_db"].dispose()


def test_plain_http_sends_no_hsts_but_httponly_samesite_cookies(client: FlaskClient, make_user) -> None:
    account = make_user()
    response = client.post("/login", data={"email": account.email, "password": account.password})
    assert "Strict-Transport-Security" not in response.headers
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _bomb_png(side: int = 20_000) -> bytes:
    """A real 20,000 × 20,000 1-bit PNG that compresses to a few tens of kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x00" * (side // 8)
    raw = zlib.compress(row * side, 9)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def test_a_decompression_bomb_png_is_recorded_without_decoding_it(client: FlaskClient, make_user, make_case) -> None:
    import tracemalloc

    account = make_user()
    case_id = make_case(account, "BOMB")
    login(client, account)
    data = _bomb_png()
    tracemalloc.start()
    try:
        response = client.post(
            f"/cases/{case_id}/evidence/upload",
            data={"file": (BytesIO(data), "huge.png"), "classification": "confidential"},
            content_type="multipart/form-data",
            headers={"Accept": "application/json"},
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.get_data(as_text=True)
    assert peak < 64 * 1024 * 1024  # 400 megapixels were never decoded
    page = client.get(response.get_json()["items"][0]["url"]).get_data(as_text=True)
    assert "image/png" in page and "No preview for this kind of file." in page
