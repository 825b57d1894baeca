"""Search finds evidence by the text of its file where it has one: a transcript's words, a PDF's text layer, in
Arabic and Latin script alike, on SQLite and PostgreSQL with the same results. A damaged or disguised file is
still ingested, with no text. The text is indexed, not shown: the API does not return it."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from flask import Flask

from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem

from search_support import Team, found
from support import run_queued_jobs


def pdf_of(*paragraphs: str) -> bytes:
    from weasyprint import HTML

    body = "".join(f'<p dir="auto">{p}</p>' for p in paragraphs)
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def text_of(app: Flask, item: dict[str, str]) -> str:
    with app.app_context(), session_scope() as s:
        stored = s.get(EvidenceItem, uuid.UUID(item["id"]))
        assert stored is not None
        return stored.text_content


TRANSCRIPT = (
    "Transcript of interview W-0001.\nThe witness names Qashoot as the guard.\nقال الشاهد إن الحارس من بني وليد"
)


def test_transcripts_and_pdfs_are_found_by_words_only_in_their_files(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    transcript = t.evidence("Interview notes", TRANSCRIPT.encode(), "interview.txt")
    statement = t.evidence("Scanned statement", pdf_of("Statement about Mizdah checkpoint", "سجن الكويفية"), "s.pdf")
    t.evidence("Another document", b"Nothing of interest here.", "other.txt")
    assert transcript["media_type"] == "text/plain" and statement["media_type"] == "application/pdf"
    assert "text_content" not in transcript and TRANSCRIPT[:20] not in str(transcript)
    # A text file's words are read at upload; a PDF's by a job after the upload has been answered.
    assert transcript["derived_status"] == "done" and statement["derived_status"] == "pending"
    assert found(t.search("Mizdah")) == set()
    (job_id,) = run_queued_jobs(app)
    assert t.api.get(f"/evidence/{statement['id']}").get_json()["derived_status"] == "done"
    job = t.api.get(f"/jobs/{job_id}").get_json()
    assert job["kind"] == "evidence.derive" and job["state"] == "succeeded" and job["result"]["ern"] == statement["ern"]

    by_transcript = {("evidence", f"{transcript['ern']} — Interview notes")}
    by_statement = {("evidence", f"{statement['ern']} — Scanned statement")}
    expected = {
        "Qashoot": by_transcript,
        "qashoot guard": by_transcript,
        "وليد": by_transcript,
        "بنى وليد": by_transcript,  # alef maqsura for yaa
        "Mizdah": by_statement,
        "الكويفيه": by_statement,  # haa for taa marbuta
        "Kuwaifiya": by_statement,  # by name key
        "Mizdah Qashoot": set(),  # every word, in one document
    }
    outcome = {q: found(t.search(q)) for q in expected}
    assert outcome == expected

    # An edit of the item's own fields re-indexes it, and the file's words stay searchable.
    assert t.api.patch(f"/evidence/{statement['id']}", json={"title": "Statement"}).status_code == 200
    assert found(t.search("Mizdah")) == {("evidence", f"{statement['ern']} — Statement")}

    # And a rebuilt index has them too.
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert found(t.search("Qashoot")) == by_transcript
    assert found(t.search("الكويفية")) == {("evidence", f"{statement['ern']} — Statement")}


def test_damaged_and_disguised_files_are_ingested_without_text(app: Flask, team: Callable[..., Team]) -> None:
    t = team()
    pdf = pdf_of("Tarhouna Qashoot")
    truncated = t.evidence("Truncated", pdf[: len(pdf) // 2], "truncated.pdf")
    headed = t.evidence("Header only", b"%PDF-1.7\n" + bytes(range(256)) * 8, "broken.pdf")
    binary = t.evidence("Not a PDF", bytes(range(256)) * 8, "disguised.pdf")
    for item in (truncated, headed, binary):
        assert text_of(app, item) == ""
    assert truncated["media_type"] == "application/pdf" and binary["media_type"] == "application/octet-stream"
    assert t.search("Qashoot")["total"] == 0
    assert {i["title"] for i in t.search("pdf")["items"]} == {
        f"{truncated['ern']} — Truncated",
        f"{headed['ern']} — Header only",
        f"{binary['ern']} — Not a PDF",
    }
    # A text file named .pdf is text: the name is never trusted, the content is.
    named = t.evidence("Text named pdf", "Notes on ترهونة".encode(), "notes.pdf")
    assert named["media_type"] == "text/plain" and text_of(app, named) == "Notes on ترهونة"
    assert found(t.search("ترهونه")) == {("evidence", f"{named['ern']} — Text named pdf")}
