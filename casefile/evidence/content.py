"""Handing out an evidence item's stored files: the custody entry first, then what to send.

These return a :class:`~casefile.downloads.Download`; the views and API routes stream it with
:func:`casefile.web_downloads.send_download`.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from casefile.auth.models import User
from casefile.custody.actions import Action
from casefile.downloads import Download, Started
from casefile.evidence.models import EvidenceItem
from casefile.evidence.services import download_name, record_read


def evidence_file(session: Session, item: EvidenceItem, user: User, via: str) -> Download:
    """An item's original file, after its `downloaded` custody entry (pages and API alike)."""
    entry = record_read(session, item, user, Action.DOWNLOADED, via)
    return Download(item.sha256, download_name(item), item.media_type, item.size, Started.of(entry, user.id, via=via))


def preview_image(session: Session, item: EvidenceItem, user: User) -> Download | None:
    """An item's preview image (a JPEG made at ingest), after its `viewed` custody entry; None if it has none."""
    if not item.preview_sha256:
        return None
    record_read(session, item, user, Action.VIEWED, "preview")
    return Download(item.preview_sha256, f"{item.ern}-preview.jpg", "image/jpeg", None)
