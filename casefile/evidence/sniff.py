"""Content-based media type detection for evidence blobs.

The media type is derived from the bytes only. File names and client-supplied
``Content-Type`` headers are attacker-controlled and are never consulted.

All functions take a seekable binary file object, always examine the blob from
offset 0 (callers often hash or copy the file first and leave the position at
the end) and restore the caller's position afterwards.

We deliberately never return an "active" type such as ``text/html`` or
``image/svg+xml``: markup is reported as ``text/plain`` so that a careless
consumer cannot be tricked into rendering uploaded evidence as a web page.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

import filetype

#: How much of the blob is examined. ``filetype`` itself only looks at the first 8 KiB.
SNIFF_BYTES = 8192

EMPTY = "application/x-empty"
OCTET_STREAM = "application/octet-stream"
PDF = "application/pdf"
TEXT = "text/plain"

# Office and similar document formats that ``filetype`` can recognise.
_DOCUMENT_TYPES = frozenset(
    {
        PDF,
        "application/rtf",
        "application/epub+zip",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)


def _read_head(fp: BinaryIO) -> bytes:
    position = fp.tell()
    try:
        fp.seek(0)
        return fp.read(SNIFF_BYTES)
    finally:
        fp.seek(position)


def _looks_like_utf8_text(head: bytes, *, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    # An incremental decoder tolerates a multi-byte character cut off at the
    # 8 KiB boundary, but only when the blob really continues past it.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def sniff_media_type(fp: BinaryIO) -> str:
    """Return the media type of the blob in ``fp``, judged from its content only."""
    head = _read_head(fp)
    if not head:
        return EMPTY
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    # PDF readers accept a header anywhere in the first KiB; filetype only checks offset 0.
    if b"%PDF-" in head[:1024]:
        return PDF
    if _looks_like_utf8_text(head, complete=len(head) < SNIFF_BYTES):
        return TEXT
    return OCTET_STREAM


def _base_type(media_type: str) -> str:
    # Tolerate parameters and case ("Image/JPEG; foo=bar") from other callers.
    return media_type.split(";", 1)[0].strip().lower()


def is_image(media_type: str) -> bool:
    """True for any ``image/*`` media type."""
    return _base_type(media_type).startswith("image/")


def kind_hint(media_type: str) -> str:
    """Suggest an evidence kind: "photo", "video", "audio", "document" or "other"."""
    base = _base_type(media_type)
    major = base.split("/", 1)[0]
    if major == "image":
        return "photo"
    if major in ("video", "audio"):
        return major
    if major == "text" or base in _DOCUMENT_TYPES:
        return "document"
    return "other"
