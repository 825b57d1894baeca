"""What a download sends, as decided by a service: :class:`Download`.

A service that hands out stored content (an evidence file, a dossier ZIP) records the read in the custody ledger
and returns a ``Download``; it never builds a response. Views and API routes pass it to
:func:`casefile.web_downloads.send_download`, the one place a stored blob becomes an HTTP response. So the custody
entry is always written before any byte is read, and the HTTP details live in one place. No Flask here. How the
download ended (every byte sent, or cut off after so many) is a second entry, written when the response closes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from casefile.custody.models import CustodyEntry


@dataclass(frozen=True)
class Download:
    sha256: str  # the blob in the store
    # Ours (ERN- or bag-based, ASCII), never the uploader's: it goes into Content-Disposition as it is.
    download_name: str
    media_type: str  # sent only when the content is shown inline (previews); attachments are octet-stream
    size: int | None  # Content-Length, when known
    # The `downloaded` entry written before the first byte: how the download ended is recorded against it.
    started: Started | None = None


@dataclass(frozen=True)
class Started:
    seq: int
    actor_id: uuid.UUID
    case_id: uuid.UUID | None
    evidence_id: uuid.UUID | None
    sha256: str | None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, entry: CustodyEntry, actor_id: uuid.UUID, **details: Any) -> Started:
        return cls(entry.seq, actor_id, entry.case_id, entry.evidence_id, entry.sha256, details)
