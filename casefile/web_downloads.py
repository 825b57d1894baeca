"""Downloads over HTTP: a service's :class:`~casefile.downloads.Download` streamed from the blob store.

The one place where a stored blob becomes a response, for the pages and the API alike:

* constant memory: the file is read in chunks as the client takes them, and closed when the response is;
* an attachment, sent as ``application/octet-stream``, unless the page shows it inline (previews), so a browser
  never renders evidence in the app's origin; always under our own file name;
* ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``: evidence must not linger in caches.

The blob is opened here, after the service that made the ``Download`` has written the custody entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from flask import Response

from casefile.components import blob_store
from casefile.downloads import Download
from casefile.storage import CHUNK_SIZE


def _chunks(fp: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := fp.read(CHUNK_SIZE):
            yield chunk
    finally:
        fp.close()


def send_download(download: Download, *, inline: bool = False) -> Response:
    fp = blob_store().open(download.sha256)
    response = Response(
        _chunks(fp), mimetype=download.media_type if inline else "application/octet-stream", direct_passthrough=True
    )
    if download.size is not None:
        response.content_length = download.size
    # The name is ours (ERN-based, ASCII), never the uploader's, so no quoting tricks are possible.
    response.headers["Content-Disposition"] = (
        f'{"inline" if inline else "attachment"}; filename="{download.download_name}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(fp.close)
    return response
