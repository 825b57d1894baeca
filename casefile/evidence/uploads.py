"""Uploads stream straight into the blob store: Werkzeug hands each file part to a BlobWriter, which
hashes (SHA-256) and writes in the same pass, so the hash is known the moment the upload ends and
memory stays flat whatever the size."""

from __future__ import annotations

from typing import IO, cast

from flask import Request, request
from werkzeug.datastructures import FileStorage

from casefile.components import blob_store
from casefile.storage import BlobWriter


class UploadRequest(Request):
    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # Closed (and so discarded unless committed) when the request ends. A BlobWriter is file-like enough for
        # Werkzeug, which only writes to it and seeks back to the start.
        return cast("IO[bytes]", blob_store().writer())


def upload_writer(upload: FileStorage) -> BlobWriter:
    """The blob writer an uploaded file part already streamed into (see UploadRequest)."""
    stream = upload.stream
    if not isinstance(stream, BlobWriter):
        raise TypeError("uploads must be parsed by UploadRequest, which streams them into the blob store")
    return stream


def uploaded_part(name: str) -> tuple[BlobWriter, str] | None:
    """The file part `name` of the current request (its writer and the sender's file name), or None when the form
    has no such part or left it empty (a browser sends an empty part for a file input nobody filled)."""
    upload = request.files.get(name)
    if upload is None or (not upload.filename and not upload_writer(upload).size):
        return None
    return upload_writer(upload), upload.filename or ""
