"""Uploads stream straight into the blob store: Werkzeug hands each file part to a BlobWriter, which
hashes (SHA-256) and writes in the same pass, so the hash is known the moment the upload ends and
memory stays flat whatever the size."""

from __future__ import annotations

from typing import IO, Any

from flask import Request, current_app


class UploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        writer: Any = current_app.extensions["casefile_blobs"].writer()
        # Closed (and so discarded unless committed) when the request ends.
        return writer
