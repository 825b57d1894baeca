"""The one HTTP helper for downloads: a service's Download streamed from the blob store with safe headers."""

from __future__ import annotations

import hashlib
import io

from flask import Flask

from casefile.components import blob_store
from casefile.downloads import Download
from casefile.storage import CHUNK_SIZE
from casefile.web_downloads import send_download

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
