"""Plain text of evidence files, so that search finds an item by what its file says.

``extract_text(fp, media_type)`` is a pure function over a seekable binary file object, like
``extract_metadata``: it reads the blob from offset 0, restores the caller's position and never raises, because
an ingest must succeed whatever the file is. "Where available": text files (any ``text/*`` type the sniffer gives,
which reports all text as ``text/plain``) and PDFs with a text layer. Anything else, an encrypted or broken PDF
included, gives "". The text is derived data for search, never evidence: the file itself is the evidence.

Bounded in every dimension, since files are attacker-controlled and may be gigabytes:

* at most ``MAX_TEXT_CHARS`` characters are kept;
* a text file is read only up to what those characters can take (``MAX_TEXT_BYTES``), never whole;
* a PDF is read through ``_BoundedReads``, which refuses any single read larger than ``MAX_PDF_READ`` (pypdf
  reads a whole file only to rebuild a broken cross-reference table), and at most ``MAX_PDF_PAGES`` pages are
  read; pypdf's own limits cap what one stream may decompress to;
* at ingest (``extract_file_text``) a PDF is parsed in a worker process with at most ``PDF_SECONDS`` of time and
  ``PDF_MEMORY`` bytes of address space, killed past either.

The result holds no NUL or other control characters (except tab and line breaks) and no unpaired surrogates,
so both databases store it as it is.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import logging
import re
import resource
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 200_000
#: UTF-8 takes at most four bytes a character.
MAX_TEXT_BYTES = MAX_TEXT_CHARS * 4
MAX_PDF_PAGES = 200
MAX_PDF_READ = 64 * 1024 * 1024
# The PDF worker's bounds (extract_file_text): wall time for the whole file, and address space (the worker starts at
# under 100 MB; pypdf's decompression limits keep a normal file far below this).
PDF_SECONDS = 30.0
PDF_WORKER_NAME = "casefile-pdf-text"
PDF_MEMORY = 1024 * 1024 * 1024
_READ_CHUNK = 64 * 1024

PDF = "application/pdf"

# C0 controls but tab, line feed and carriage return; DEL and C1 controls.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class ReadTooLarge(Exception):
    """A parser asked for more bytes at once than MAX_PDF_READ."""


class _BoundedReads(io.RawIOBase):
    """A read-only view of a file in which no single read may ask for more than MAX_PDF_READ bytes."""

    def __init__(self, fp: BinaryIO) -> None:
        super().__init__()
        self._fp = fp
        self._size = fp.seek(0, io.SEEK_END)
        fp.seek(0)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fp.seek(offset, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._size - self._fp.tell() if size is None or size < 0 else size
        if wanted > MAX_PDF_READ:
            raise ReadTooLarge(f"a read of {wanted} bytes")
        return self._fp.read(wanted)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)


def clean(text: str) -> str:
    """Storable text: unpaired surrogates replaced, control characters (but tab and line breaks) removed."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROLS.sub("", text)


def _text_file(fp: BinaryIO) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    parts: list[str] = []
    remaining = MAX_TEXT_BYTES
    while remaining > 0:
        chunk = fp.read(min(_READ_CHUNK, remaining))
        if not chunk:
            parts.append(decoder.decode(b"", final=True))
            break
        remaining -= len(chunk)
        # Not final: a character cut at the cap is left out rather than turned into a replacement character.
        parts.append(decoder.decode(chunk))
    return "".join(parts)


def _pdf(fp: BinaryIO) -> str:
    from pypdf import PdfReader  # imported on first use: only PDF ingest needs it

    reader = PdfReader(cast("BinaryIO", _BoundedReads(fp)), strict=False)  # file-like: reads are bounded
    if reader.is_encrypted:
        return ""  # not even an empty password is tried: an encrypted document stays as it came
    parts: list[str] = []
    length = 0
    for number, page in enumerate(reader.pages):
        if number >= MAX_PDF_PAGES or length >= MAX_TEXT_CHARS:
            break
        text = page.extract_text() or ""
        parts.append(text)
        length += len(text) + 1
    return "\n".join(parts)


def extract_file_text(path: str, media_type: str) -> str:
    """extract_text of a file on disk (an upload staged for ingest); a PDF's through `read_pdf`. Never raises."""
    if _base_type(media_type) == PDF:
        return read_pdf(path)[0]
    try:
        with open(path, "rb") as fp:
            return extract_text(fp, media_type)
    except OSError:
        return ""


def read_pdf(path: str) -> tuple[str, bytes | None]:
    """A PDF's text and the preview of its first pages (evidence/preview.py), made in a worker process
    (casefile.workers) that may take at most PDF_SECONDS and PDF_MEMORY bytes of address space: a hostile PDF can
    neither hold the job for long nor exhaust or crash the process that asked. Never raises."""
    from casefile.workers import worker_context

    context = worker_context()
    receiving, sending = context.Pipe(duplex=False)
    # The limits travel as arguments: the worker is forked from the fork server, not from this process.
    worker = context.Process(
        target=_pdf_text_worker, args=(path, sending, PDF_MEMORY), name=PDF_WORKER_NAME, daemon=True
    )
    try:
        worker.start()
        sending.close()  # only the worker writes: the pipe reads as closed when it exits without an answer
        if receiving.poll(PDF_SECONDS):
            text, preview = receiving.recv()
            return str(text), preview if isinstance(preview, bytes) else None
        log.warning("PDF text extraction gave up after %.0f s", PDF_SECONDS)
        return "", None
    except EOFError:
        return "", None  # the worker died (killed at its memory limit, or crashed) before it answered
    except Exception:
        log.exception("PDF text extraction could not run")
        return "", None
    finally:
        receiving.close()
        if worker.is_alive():
            worker.kill()
        if worker.pid is not None:
            worker.join()


def _pdf_text_worker(path: str, answer: Connection, memory: int) -> None:
    from casefile.evidence.preview import make_pdf_preview

    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    with open(path, "rb") as fp:
        text = extract_text(fp, PDF)
    answer.send((text, make_pdf_preview(path)))
    answer.close()


def is_pdf(media_type: object) -> bool:
    return _base_type(media_type) == PDF


def has_text(media_type: object) -> bool:
    """Whether files of this type may have text to read."""
    base = _base_type(media_type)
    return base.startswith("text/") or base == PDF


def _base_type(media_type: object) -> str:
    return media_type.split(";", 1)[0].strip().lower() if isinstance(media_type, str) else ""


def extract_text(fp: BinaryIO, media_type: str) -> str:
    """The plain text of the blob in ``fp`` (at most MAX_TEXT_CHARS characters), or "" when there is none to
    be had. Never raises."""
    if not has_text(media_type):
        return ""
    base = _base_type(media_type)
    try:
        position = fp.tell()
    except Exception:
        return ""
    try:
        fp.seek(0)
        text = _pdf(fp) if base == PDF else _text_file(fp)
        return clean(text[:MAX_TEXT_CHARS])
    except Exception:
        # A damaged, hostile or unsupported file has no text to offer; its ingest goes on.
        return ""
    finally:
        with contextlib.suppress(Exception):
            fp.seek(position)
