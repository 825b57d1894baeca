"""Streaming stored blobs to the client: constant memory, attachment by default, safe file names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flask import Response, current_app

from casefile.storage import CHUNK_SIZE, BlobStore


def blob_store() -> BlobStore:
    return current_app.extensions["casefile_blobs"]


def _chunks(fp: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := fp.read(CHUNK_SIZE):
            yield chunk
    finally:
        fp.close()


def send_blob(sha256: str, *, download_name: str, media_type: str, size: int | None, inline: bool = False) -> Response:
    fp = blob_store().open(sha256)
    response = Response(
        _chunks(fp), mimetype=media_type if inline else "application/octet-stream", direct_passthrough=True
    )
    if size is not None:
        response.content_length = size
    # The name is ours (ERN-based, ASCII), never the uploader's, so no quoting tricks are possible.
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{download_name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(fp.close)
    return response
