"""Journey: evidence arriving in bulk. An investigator drops several files on the upload page (the large one goes
in resumable tus pieces), is warned when a photo is already in the case, then imports a ZIP with a manifest through
the wizard: reads the preview, runs it, and downloads the report."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from support import PHOTOS, Account, run_queued_jobs

ITEM_URL = re.compile(r"/evidence/[0-9a-f-]{36}$")


@pytest.fixture
def job_worker(app: Flask) -> Iterator[None]:
    """Runs queued jobs (import previews and runs, recording of resumable uploads) while the journey goes on, as a
    worker would; the worker process itself is tested in tests/jobs."""
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            run_queued_jobs(app)
            stop.wait(0.2)

    thread = threading.Thread(target=work, name="e2e-intake-worker")
    thread.start()
    yield
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the job worker did not stop"


def drop(page: Page, files: list[tuple[str, bytes, str]]) -> None:
    """Drop files on the upload page's drop zone, as a drag from the desktop does (a DataTransfer with Files)."""
    payload = [{"name": name, "b64": base64.b64encode(data).decode(), "type": kind} for name, data, kind in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, { type: f.type }));
            }
            return dt;
        }""",
        payload,
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": transfer})


def test_drop_files_see_a_duplicate_then_import_a_zip_through_the_wizard(
    page: Page,
    app: Flask,
    job_worker: None,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    log_in: Callable[[Page, Account], None],
    submit: Callable[[Page, str], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    case_id = make_case(investigator, "BULK", "Bulk intake")
    log_in(page, investigator)
    big = b"".join(hashlib.sha512(str(i).encode()).digest() for i in range(5 * 1024 * 1024 // 64 + 1))
    photo = (PHOTOS / "DSCN0010.jpg").read_bytes()

    page.goto(f"/cases/{case_id}/evidence/upload")
    drop(
        page,
        [
            ("DSCN0010.jpg", photo, "image/jpeg"),
            ("DSCN0021.jpg", (PHOTOS / "DSCN0021.jpg").read_bytes(), "image/jpeg"),
            ("interview.bin", big, "application/octet-stream"),
        ],
    )
    expect(page.locator(".dropzone-count")).to_have_text("3 files chosen")
    page.get_by_role("button", name="Upload", exact=True).click()
    rows = page.locator("#upload-progress li")
    expect(rows).to_have_count(3)
    for index in range(3):
        expect(rows.nth(index).locator(".status a")).to_have_attribute("href", ITEM_URL, timeout=30_000)
    expect(rows.nth(2)).to_have_attribute("data-resumable", "true")  # 5 MiB: sent by tus
    expect(page.locator("#upload-progress .status.bad")).to_have_count(0)
    rows.nth(2).locator(".status a").click()
    expect(page.locator("dl.facts").first.locator("dt:text-is('SHA-256') + dd")).to_have_text(
        hashlib.sha256(big).hexdigest()
    )

    # The same photo dropped again: the row names the existing item and offers the choices.
    page.goto(f"/cases/{case_id}/evidence/upload")
    drop(page, [("copy-from-whatsapp.jpg", photo, "image/jpeg")])
    page.get_by_role("button", name="Upload", exact=True).click()
    status = page.locator("#upload-progress li .status")
    expect(status).to_have_class(re.compile(r"\bbad\b"))
    expect(status).to_contain_text("already in the case as BULK-00001")
    expect(status.get_by_role("button", name="Record a new acquisition", exact=True)).to_be_visible()
    screenshot(page, "duplicate")
    # The refusal is the server's answer (409), which Chromium logs as a failed load: expected, and only that.
    assert [e for e in browser_errors if "status of 409" not in e] == []
    browser_errors.clear()

    # The wizard: a ZIP whose manifest has two good rows, a bad date and the photo the case already holds.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes/statement-1.txt", "إفادة الشاهد الأول".encode())
        z.writestr("notes/statement-2.txt", b"Second statement")
        z.writestr("notes/statement-3.txt", b"Third statement")
        z.writestr("photos/grave.jpg", photo)
        z.writestr(
            "manifest.csv",
            "file,title,collected_at\n"
            "notes/statement-1.txt,إفادة الشاهد الأول,12/06/2020\n"
            "notes/statement-2.txt,Second statement,June 2020\n"
            "notes/statement-3.txt,Third statement,31/02/2020\n"
            "photos/grave.jpg,Grave,2020\n",
        )
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Import and export", exact=True).click()
    expect(page.get_by_role("heading", name="Import and export", level=1)).to_be_visible()
    page.get_by_label("ZIP archive of the files", exact=True).set_input_files(
        files=[{"name": "drive.zip", "mimeType": "application/zip", "buffer": archive.getvalue()}]
    )
    submit(page, "Preview the import")
    expect(page.locator("#import-state")).to_have_attribute("data-state", "previewed", timeout=30_000)
    table = page.locator("#import-rows")
    expect(table.locator("tr[data-status=create]")).to_have_count(2)
    expect(table.locator("tr[data-row='4']")).to_contain_text("Cannot read this date")
    expect(table.locator("tr[data-row='5']")).to_contain_text("Already in the case as BULK-00001")
    screenshot(page, "preview")
    submit(page, "Import 2 rows")
    expect(page.locator("#import-state")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(table.locator("tr[data-status=created]")).to_have_count(2)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the report (CSV)", exact=True).click()
    report = Path(info.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert [line[1] for line in lines[1:]] == ["created", "created", "refused", "duplicate"]
    assert browser_errors == []
