"""Data derived from an evidence file: its embedded metadata (with its C2PA Content Credentials, validated:
casefile/provenance/c2pa_check.py), its text for search, its preview image. Derived, never evidence: the file is the
evidence, and all of this can be made again from it. Made during the upload for small files; for a PDF's text and a
large image, video or audio file, by a job after the upload has been answered (jobs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from casefile.evidence.metadata import extract_metadata
from casefile.evidence.preview import make_thumbnail
from casefile.evidence.similar import Perceptual, perceptual_hashes
from casefile.evidence.sniff import is_image
from casefile.evidence.text import extract_file_text, is_pdf, read_pdf
from casefile.provenance.c2pa_check import may_carry, read_credentials

# A large image's preview and metadata are made after the upload: decoding tens of megapixels takes seconds.
DERIVE_INLINE_BYTES = 16 * 1024 * 1024


def derive_later(media_type: str, size: int) -> bool:
    """Whether the file's derived data is made by a job after the upload has been answered: a PDF's text (reading
    it may take up to PDF_SECONDS in a worker process) and everything of a large image. A text file's text, a
    small image's preview and every file's basic metadata are quick and bounded: made during the upload. Validating
    a large video's Content Credentials hashes the whole file: a job too."""
    return is_pdf(media_type) or (size > DERIVE_INLINE_BYTES and (is_image(media_type) or may_carry(media_type)))


@dataclass(frozen=True)
class Derived:
    metadata: dict[str, Any]
    text: str
    thumbnail: bytes | None
    # An image's perceptual hashes, made from its preview, for finding near-duplicates (similar.py).
    perceptual: Perceptual | None = None


# What an item holds until its job has made the rest: its metadata status says "pending".
PENDING = Derived({"status": "pending"}, "", None)


def derive(staged: BinaryIO, media_type: str) -> Derived:
    """A file's derived data: embedded metadata, text for search, preview image. `staged` is a local file (the
    PDF parser runs in its own process and needs its path). Never raises for what the file holds."""
    metadata = extract_metadata(staged, media_type)
    credentials = read_credentials(staged, media_type)
    if credentials is not None:
        metadata["c2pa"] = credentials
    if is_pdf(media_type):
        text, pages = read_pdf(staged.name)  # its first pages as the preview; never near-duplicate "images"
        return Derived(metadata, text, pages, None)
    thumbnail = make_thumbnail(staged) if is_image(media_type) else None
    return Derived(metadata, extract_file_text(staged.name, media_type), thumbnail, perceptual_hashes(thumbnail))
