"""Streaming stored blobs to the client: constant memory, attachment by default, safe file names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from flask import Response, current_app
from sqlalchemy.orm import Session

from casefile.custody.actions import Action
from casefile.evidence.models import EvidenceItem
from casefile.evidence.services import download_name, record_read
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


def send_evidence_file(session: Session, item: EvidenceItem, user: Any, via: str) -> Response:
    """An item's original file, as an attachment, after its `downloaded` custody entry (pages and API alike)."""
    record_read(session, item, user, Action.DOWNLOADED, via)
    return send_blob(item.sha256, download_name=download_name(item), media_type=item.media_type, size=item.size)
