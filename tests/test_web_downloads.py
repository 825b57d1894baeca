"""The one HTTP helper for downloads: a service's Download streamed from the blob store with safe headers."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import threading
import time
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from casefile.components import blob_store
from casefile.downloads import Download
from casefile.storage import CHUNK_SIZE
from casefile.web_downloads import send_download

from support import ledger, upload

CONTENT = b"<html><script>alert(1)</script></html>" + bytes(range(256)) * (CHUNK_SIZE // 128)


def stored(app: Flask) -> str:
    with app.app_context():
        return blob_store().put(io.BytesIO(CONTENT), hashlib.sha256(CONTENT).hexdigest())


def test_an_attachment_is_streamed_as_octet_stream_with_safe_headers(app: Flask) -> None:
    sha256 = stored(app)
    with app.test_request_context():
        response = send_download(Download(sha256, "TRH-00001.html", "text/html", len(CONTENT)))
        assert response.is_streamed
        assert response.mimetype == "application/octet-stream"  # never rendered by the browser
        assert response.headers["Content-Disposition"] == 'attachment; filename="TRH-00001.html"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.content_length == len(CONTENT)
        chunks = list(response.response)
        response.close()
    assert len(chunks) > 1  # read a chunk at a time, not at once
    assert b"".join(chunks) == CONTENT


def test_inline_keeps_the_media_type_and_an_unknown_size_sends_no_length(app: Flask) -> None:
    sha256 = stored(app)
    with app.test_request_context():
        response = send_download(Download(sha256, "TRH-00001-preview.jpg", "image/jpeg", None), inline=True)
        assert response.mimetype == "image/jpeg"
        assert response.headers["Content-Disposition"] == 'inline; filename="TRH-00001-preview.jpg"'
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Content-Length" not in response.headers
        response.close()


def test_a_download_cut_off_by_the_client_is_recorded_as_aborted_with_the_bytes_sent(
    app: Flask, api_for: Any, make_case: Any
) -> None:
    """Over a real socket: the client takes the headers and a little of a 24 MiB file, then hangs up. The ledger says
    the download began and was cut off, with how much was sent, never that the file was downloaded whole."""
    api, owner = api_for("investigator")
    case_id = make_case(owner, "ABRT")
    size = 24 * 1024 * 1024
    item = upload(api, case_id, os.urandom(size), "large.bin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port), timeout=10) as conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # the client's buffer stays small
            request = (
                f"GET /api/v1/evidence/{item['id']}/content HTTP/1.1\r\nHost: localhost\r\n"
                f"Authorization: {api.headers['Authorization']}\r\nConnection: close\r\n\r\n"
            )
            conn.sendall(request.encode())
            received = b""
            while len(received) < 256 * 1024:
                received += conn.recv(65536)
            assert received.startswith(b"HTTP/1.1 200")
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, as a dropped line
        ended = None
        for _ in range(100):  # the server notices at its next write
            ended = [e for e in ledger(app) if e.action in ("download_completed", "download_aborted")]
            if ended:
                break
            time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
    assert ended, "no outcome recorded"
    (outcome,) = ended
    (started,) = [e for e in ledger(app) if e.action == "downloaded"]
    assert outcome.action == "download_aborted" and outcome.evidence_id == started.evidence_id
    assert outcome.details["started"] == started.seq and outcome.details["size"] == size
    assert 0 < outcome.details["bytes_sent"] < size
