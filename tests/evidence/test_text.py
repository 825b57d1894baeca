"""Plain text of evidence files (casefile.evidence.text): text files and PDFs give their words, in Arabic and Latin
script; everything is bounded (characters, bytes read, pages, size of one read); encrypted, damaged, hostile and
unsupported files give "" and never an exception."""

from __future__ import annotations

import io
import multiprocessing
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from casefile.evidence import text
from casefile.evidence.text import extract_file_text, extract_text

PDF = "application/pdf"


def pdf_of(*pages: str) -> bytes:
    """A real PDF (WeasyPrint, as the dossier uses), one page per argument, Arabic set right to left."""
    from weasyprint import HTML

    body = "".join(f'<p dir="auto" style="page-break-before: always">{page}</p>' for page in pages)
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


class CountingReads(io.BytesIO):
    """A file that remembers how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_a_text_file_gives_its_words_and_the_position_is_restored() -> None:
    fp = io.BytesIO("Testimony of W-0001: شهد المعتقل في ترهونة\r\n\tsecond line".encode())
    fp.seek(7)
    assert extract_text(fp, "text/plain") == "Testimony of W-0001: شهد المعتقل في ترهونة\r\n\tsecond line"
    assert fp.tell() == 7
    assert extract_text(io.BytesIO(b"a,b\n1,2"), "text/csv; charset=utf-8") == "a,b\n1,2"


def test_text_is_storable_whatever_the_bytes() -> None:
    # Invalid UTF-8 becomes U+FFFD; NUL and other controls (which PostgreSQL refuses or nobody types) go.
    raw = b"caf\xe9 \x00nul \x1b[31mred\x7f \xc2\x85next\xe2\x80"
    assert extract_text(io.BytesIO(raw), "text/plain") == "caf\ufffd nul [31mred next\ufffd"


def test_a_long_text_file_is_read_only_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "MAX_TEXT_CHARS", 1000)
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 4000)
    fp = CountingReads("ترهونة ".encode() * 100_000)  # 1.3 MB
    got = extract_text(fp, "text/plain")
    assert len(got) == 1000 and set(got) == set("ترهونة ")
    assert fp.bytes_read == 4000
    # A character cut by the byte cap is left out, not turned into U+FFFD.
    monkeypatch.setattr(text, "MAX_TEXT_BYTES", 3)
    assert extract_text(io.BytesIO("تت".encode()), "text/plain") == "ت"


def test_a_pdf_gives_its_words_in_both_scripts() -> None:
    got = extract_text(io.BytesIO(pdf_of("Interview with Qashoot", "شهد المعتقل في سجن ترهونة")), PDF)
    assert "Qashoot" in got and "ترهونة" in got and "المعتقل" in got


def test_pages_and_characters_of_a_pdf_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = pdf_of("Alpha", "Bravo", "Charlie")
    monkeypatch.setattr(text, "MAX_PDF_PAGES", 2)
    assert extract_text(io.BytesIO(pdf), PDF).split() == ["Alpha", "Bravo"]
    monkeypatch.setattr(text, "MAX_PDF_PAGES", 200)
    monkeypatch.setattr(text, "MAX_TEXT_CHARS", 8)
    assert extract_text(io.BytesIO(pdf), PDF) == "Alpha\nBr"


def test_a_pdf_is_never_read_in_one_large_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken cross-reference table makes pypdf rebuild it from the whole file, read at once.
    broken = re.sub(rb"startxref\s+\d+", b"startxref\n999", pdf_of("Alpha", "Bravo"))
    assert extract_text(io.BytesIO(broken), PDF).split() == ["Alpha", "Bravo"]  # recovered: the file is small
    monkeypatch.setattr(text, "MAX_PDF_READ", 200)
    assert extract_text(io.BytesIO(broken), PDF) == ""


def encrypted(pdf: bytes, user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password, "owner password", algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize(("user_password", "algorithm"), [("", "RC4-128"), ("secret", "AES-256")])
def test_an_encrypted_pdf_gives_no_text(user_password: str, algorithm: str) -> None:
    assert extract_text(io.BytesIO(encrypted(pdf_of("Confidential Alpha"), user_password, algorithm)), PDF) == ""


def hostile_pdfs() -> dict[str, bytes]:
    pdf = pdf_of("Alpha")
    return {
        "truncated": pdf[: len(pdf) // 2],
        "header only": b"%PDF-1.7\n",
        "not a pdf": b"This is a note, not a PDF.",
        "garbage after header": b"%PDF-1.4\n" + bytes(range(256)) * 64,
        "empty": b"",
        "endless nesting": b"%PDF-1.4\n1 0 obj\n" + b"[" * 100_000 + b"\nendobj\ntrailer\n<</Root 1 0 R>>\n%%EOF",
        "xref loop": b"%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<</Prev 9>>\nstartxref\n9\n%%EOF\n",
    }


@pytest.mark.parametrize("name", list(hostile_pdfs()))
def test_damaged_and_hostile_pdfs_give_no_text_and_no_exception(name: str) -> None:
    assert extract_text(io.BytesIO(hostile_pdfs()[name]), PDF) == ""


@pytest.mark.parametrize("media_type", ["image/jpeg", "application/octet-stream", "video/mp4", "", None])
def test_other_files_have_no_text(media_type: Any) -> None:
    assert extract_text(io.BytesIO(b"Alpha Bravo"), media_type) == ""


def test_an_unusable_file_object_gives_no_text() -> None:
    class Broken(io.BytesIO):
        def tell(self) -> int:
            raise OSError("gone")

    assert extract_text(Broken(b"Alpha"), "text/plain") == ""


# --- at ingest: PDFs are parsed in a worker process, bounded in time and memory ---------------------------------


def pdf_workers() -> list[Any]:
    """Text workers still running (other workers, e.g. a dossier's PDF layout, may come and go meanwhile)."""
    return [p for p in multiprocessing.active_children() if p.name == text.PDF_WORKER_NAME]


def test_a_pdf_on_disk_is_read_in_a_worker_process(tmp_path: Path) -> None:
    path = tmp_path / "statement.pdf"
    path.write_bytes(pdf_of("Interview with Qashoot", "شهد المعتقل في سجن ترهونة"))
    got = extract_file_text(str(path), PDF)
    assert "Qashoot" in got and "ترهونة" in got
    assert not pdf_workers()  # the worker was reaped
    (tmp_path / "note.txt").write_bytes("شهد المعتقل".encode())
    assert extract_file_text(str(tmp_path / "note.txt"), "text/plain") == "شهد المعتقل"
    assert extract_file_text(str(tmp_path / "missing.txt"), "text/plain") == ""


def test_a_pdf_worker_past_its_time_is_killed_and_gives_no_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "slow.pdf"
    path.write_bytes(pdf_of("Alpha"))
    monkeypatch.setattr(text, "PDF_SECONDS", 0.0)  # no PDF parses in no time: stands for one that never ends
    started = time.monotonic()
    assert extract_file_text(str(path), PDF) == ""
    assert time.monotonic() - started < 10
    assert not pdf_workers()


def test_the_pdf_worker_runs_under_its_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "any.pdf"
    path.write_bytes(pdf_of("Alpha"))
    hunger = 256 * 1024 * 1024

    def hungry(fp: Any, media_type: str) -> str:  # stands for a parser that a hostile PDF makes allocate
        return str(len(bytearray(hunger)))

    monkeypatch.setattr(text, "extract_text", hungry)
    status = Path("/proc/self/status").read_text().splitlines()
    mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))
    context = multiprocessing.get_context("fork")  # a fork carries the stand-in into the worker
    answers = []
    for limit in (mapped + 2 * hunger, mapped + hunger // 4):
        receiving, sending = context.Pipe(duplex=False)
        worker = context.Process(target=text._pdf_text_worker, args=(str(path), sending, limit))
        worker.start()
        sending.close()
        try:
            # The worker answers with the text and the preview of the first pages (evidence/preview.py).
            answers.append(receiving.recv()[0] if receiving.poll(60) else "no answer")
        except EOFError:
            answers.append("died")  # MemoryError: the worker ends without an answer, as extract_file_text expects
        worker.join()
    assert answers == [str(hunger), "died"]
