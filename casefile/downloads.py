"""What a download sends, as decided by a service: :class:`Download`.

A service that hands out stored content (an evidence file, a dossier ZIP) records the read in the custody ledger
and returns a ``Download``; it never builds a response. Views and API routes pass it to
:func:`casefile.web_downloads.send_download`, the one place a stored blob becomes an HTTP response. So the custody
entry is always written before any byte is read, and the HTTP details live in one place. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Download:
    sha256: str  # the blob in the store
    # Ours (ERN- or bag-based, ASCII), never the uploader's: it goes into Content-Disposition as it is.
    download_name: str
    media_type: str  # sent only when the content is shown inline (previews); attachments are octet-stream
    size: int | None  # Content-Length, when known
