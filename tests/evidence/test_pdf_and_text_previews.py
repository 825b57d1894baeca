"""Previews of what is not a photo: a PDF's first pages side by side (rendered by PDFium in the PDF worker, made by
the derive job), the beginning of a text file's or PDF's text on the item page (escaped); and a witness statement
typed in instead of uploaded, through the page and the API."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from pypdf import PdfWriter
from weasyprint import HTML

from casefile.evidence.preview import make_pdf_preview

from support import Account, Api, login, run_queued_jobs, upload


def three_pages() -> bytes:
    body = "".join(
        f'<h1 style="page-break-before: always">Page {n}</h1><p dir="auto">شهادة رقم {n}</p>' for n in (1, 2, 3, 4)
    )
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def test_a_pdf_preview_shows_its_first_pages_side_by_side(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "report.pdf"
    path.write_bytes(three_pages())
    image = Image.open(io.BytesIO(make_pdf_preview(str(path)) or b""))
    assert image.format == "JPEG" and image.width > 2 * image.height  # three portrait pages in a row, not four
    assert max(image.size) <= 1024 and not image.info.get("exif")
    (tmp_path / "broken.pdf").write_bytes(three_pages()[:400])
    assert make_pdf_preview(str(tmp_path / "broken.pdf")) is None
    writer = PdfWriter(clone_from=io.BytesIO(three_pages()))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "locked.pdf").write_bytes(out.getvalue())
    assert make_pdf_preview(str(tmp_path / "locked.pdf")) is None  # encrypted: left as it came, not even opened


def test_a_pdf_gets_its_preview_and_text_on_its_page(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, account = api_for("investigator")
    case_id = make_case(account)
    item = upload(api, case_id, three_pages(), "report.pdf")
    run_queued_jobs(app)  # the derive job: text and preview, in the PDF worker
    preview = api.get(f"/evidence/{item['id']}/preview")
    assert preview.status_code == 200 and preview.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(preview.get_data())).width > 0
    preview.close()
    login(client, account)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    assert f"/evidence/{item['id']}/preview" in page and 'id="text-preview"' in page and "Page 1" in page


def test_a_text_file_shows_its_beginning_escaped(
    client: FlaskClient, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
) -> None:
    api, account = api_for("investigator")
    case_id = make_case(account)
    item = upload(api, case_id, "<script>alert(1)</script> الشاهد رأى الشاحنات\n".encode() * 400, "note.txt")
    login(client, account)
    page = client.get(f"/evidence/{item['id']}").get_data(as_text=True)
    shown = page.split('id="text-preview"', 1)[1].split("</details>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; الشاهد رأى الشاحنات" in shown and "<script>alert" not in shown
    assert "(the beginning)" in shown and len(shown) < 7000  # a preview, not the whole text


def test_a_statement_typed_in_is_recorded_as_a_text_file_of_the_witness(
    app: Flask,
    client: FlaskClient,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, account = api_for("investigator")
    case_id = make_case(account)
    witness = api.post(f"/cases/{case_id}/witnesses", json={"full_name": "Typed Witness"}).get_json()
    typed = "سُئل الشاهد عن الليلة الأولى.\nQ: Who drove the truck?\tA: I did not see."
    made = api.post(
        f"/cases/{case_id}/evidence",
        data={"statement_text": typed, "witness_id": witness["id"], "interview_date": "2020-06-20", "title": "W1"},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["sha256"] == hashlib.sha256((typed + "\n").encode()).hexdigest() and body["media_type"] == "text/plain"
    statements = api.get(f"/witnesses/{witness['id']}").get_json()["statements"]
    assert [s["evidence_id"] for s in statements] == [body["id"]] and statements[0]["interview_date"] == "2020-06-20"
    content = api.get(f"/evidence/{body['id']}/content")
    assert content.get_data().decode() == typed + "\n"
    content.close()
    # Refusals: no witness, nothing typed, and neither file nor text.
    no_witness = api.post(
        f"/cases/{case_id}/evidence", data={"statement_text": "x"}, content_type="multipart/form-data"
    )
    assert no_witness.status_code == 422 and "witness_id" in no_witness.get_json()["error"]["fields"]
    blank = api.post(
        f"/cases/{case_id}/evidence",
        data={"statement_text": " \n ", "witness_id": witness["id"]},
        content_type="multipart/form-data",
    )
    assert blank.status_code == 422 and "statement_text" in blank.get_json()["error"]["fields"]
    nothing = api.post(f"/cases/{case_id}/evidence", data={"title": "x"}, content_type="multipart/form-data")
    assert nothing.status_code == 422

    # The upload page: the statement typed in the witness section.
    login(client, account)
    posted = client.post(
        f"/cases/{case_id}/evidence/upload",
        data={"statement_text": "Second interview, typed.", "witness_id": witness["id"], "kind": "testimony"},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 302, posted.get_data(as_text=True)[:500]
    statements = api.get(f"/witnesses/{witness['id']}").get_json()["statements"]
    assert len(statements) == 2
    refused = client.post(
        f"/cases/{case_id}/evidence/upload",
        data={"statement_text": "No witness chosen."},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "Choose the witness" in refused.get_data(as_text=True)
