"""Downloads over HTTP: a service's :class:`~casefile.downloads.Download` streamed from the blob store.

The one place where a stored blob becomes a response, for the pages and the API alike:

* constant memory: the file is read in chunks as the client takes them, and closed when the response is;
* an attachment, sent as ``application/octet-stream``, unless the page shows it inline (previews), so a browser
  never renders evidence in the app's origin; always under our own file name;
* ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``: evidence must not linger in caches;
* when the response closes, a `download_completed` or `download_aborted` entry (bytes sent) follows the
  `downloaded` entry: a download cut off after 14 MB of 268 is not recorded as a download of the file.

The blob is opened here, after the service that made the ``Download`` has written the custody entry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask import Flask, Response

from casefile.components import application, blob_store
from casefile.custody.actions import Action
from casefile.custody.ledger import record_custody
from casefile.db import session_scope
from casefile.downloads import Download, Started
from casefile.storage import CHUNK_SIZE

log = logging.getLogger("casefile")


class _Stream:
    """The file in chunks as the client takes them. The server closes it when the response ends (every byte sent,
    the client gone, or never started, as for HEAD): the file is closed and how the download ended is recorded."""

    def __init__(self, fp: BinaryIO, download: Download, app: Flask) -> None:
        self.fp, self.download, self.app = fp, download, app
        self.sent, self.finished, self.closed = 0, False, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self.fp.read(CHUNK_SIZE):
                yield chunk
                self.sent += len(chunk)
            self.finished = True
        finally:  # exhausted, or closed early by a server whose client went away
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.fp.close()
        if self.download.started is not None:
            _record_outcome(self.app, self.download, self.download.started, self.sent, self.finished)


def _record_outcome(app: Flask, download: Download, started: Started, sent: int, finished: bool) -> None:
    try:
        with app.app_context(), session_scope(app) as session:
            record_custody(
                session,
                actor=_Someone(started.actor_id),
                action=Action.DOWNLOAD_COMPLETED if finished else Action.DOWNLOAD_ABORTED,
                case_id=started.case_id,
                evidence_id=started.evidence_id,
                sha256=started.sha256,
                details={**started.details, "started": started.seq, "bytes_sent": sent, "size": download.size},
            )
    except Exception:
        # The response is over: nothing can be told to the client. The `downloaded` entry stands; the log says why
        # its outcome is missing.
        log.exception("could not record how download %s (entry %s) ended", download.download_name, started.seq)


@dataclass(frozen=True)
class _Someone:
    id: uuid.UUID


def send_download(download: Download, *, inline: bool = False) -> Response:
    fp = blob_store().open(download.sha256)
    response = Response(
        _Stream(fp, download, application()),
        mimetype=download.media_type if inline else "application/octet-stream",
        direct_passthrough=True,
    )
    if download.size is not None:
        response.content_length = download.size
    # The name is ours (ERN-based, ASCII), never the uploader's, so no quoting tricks are possible.
    response.headers["Content-Disposition"] = (
        f'{"inline" if inline else "attachment"}; filename="{download.download_name}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
