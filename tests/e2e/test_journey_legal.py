"""Journey: a legal adviser closes the demo charge's gap on effective control by linking evidence to that
element, then builds the ICC article 15 dossier: the refused witness's statement is left out, the dossier's page
follows the build job with a percentage that rises to 100 (the job run by the runner in a thread of this process,
as a worker thread would; worker processes are tested in tests/jobs), the signed package downloads, and no
protected witness name is anywhere inside it."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from casefile.dossier import builder

from support import Account, load_demo, run_queued_jobs

GAP_ELEMENT = "rome-28-a.e1"  # superior–subordinate relationship: effective command and control
PROFILE = "ICC Office of the Prosecutor — article 15 communication"
FIELD_NOTE = "TRH-00003"  # "Field note on detentions at the prison", classified confidential
# The demo witnesses' protected names (casefile/demo.py): none may leave in a dossier, whatever the consent.
PROTECTED_NAMES = ["Demo Witness One", "Demo Witness Two", "أحمد المثال", "فاطمة المثال"]
CHARGE_URL = re.compile(r"/charges/([0-9a-f-]{36})$")
DOSSIER_URL = re.compile(r"/dossiers/[0-9a-f-]{36}$")


def slow_chunks(chunks: Callable[[BinaryIO], Iterable[bytes]], delay: float) -> Callable[[BinaryIO], Iterable[bytes]]:
    def slow(fp: BinaryIO) -> Iterable[bytes]:
        for chunk in chunks(fp):
            time.sleep(delay)
            yield chunk

    return slow


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text layer (its glyphs are not searchable as bytes), as the recipient's reader shows it."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.fail("The dossier check needs poppler's pdftotext (apt-get install poppler-utils).", pytrace=False)
    path = tmp_path / "dossier.pdf"
    path.write_bytes(pdf)
    result = subprocess.run([pdftotext, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True)
    # Presentation forms back to letters, no bidi marks and no line breaks: Arabic and wrapped names match.
    text = unicodedata.normalize("NFKC", result.stdout.decode("utf-8"))
    return re.sub(r"[\s\u200e\u200f\u202a-\u202e\u2066-\u2069]+", "", text)


def leaked_names(archive: zipfile.ZipFile, tmp_path: Path) -> list[str]:
    """Every protected name found in any file of the package, raw or (for the PDF) in its text."""
    found = []
    for info in archive.infolist():
        data = archive.read(info)  # decompressed by zipfile: the bytes as the recipient gets them
        for name in PROTECTED_NAMES:
            encodings = ("utf-8", "utf-16-be", "utf-16-le")
            if any(name.encode(encoding) in data for encoding in encodings):
                found.append(f"{name!r} in {info.filename}")
        if info.filename.endswith(".pdf"):
            text = pdf_text(data, tmp_path)
            assert "W-0001" in text  # the witness is there, by pseudonym only: the text layer was read
            found += [
                f"{name!r} in the text of {info.filename}"
                for name in PROTECTED_NAMES
                # Logical order, or visual order for an extractor that reverses right-to-left runs.
                if any(form in text for form in (re.sub(r"\s", "", name), re.sub(r"\s", "", name)[::-1]))
            ]
    return found


def test_legal_closes_the_gap_and_builds_the_icc_dossier_without_protected_names(
    app: Flask,
    page: Page,
    tmp_path: Path,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    new_context: Callable[[], BrowserContext],
    submit: Callable[[Page, str], None],
    screenshot: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = load_demo(app)
    legal = make_user("legal")
    add_member(case_id, legal, "legal", identities=False)
    log_in(page, legal)

    # The charge against Haftar: the matrix shows the gap on effective control.
    page.get_by_role("link", name="TRH", exact=True).click()
    case_nav = page.get_by_role("navigation", name="Case")
    case_nav.get_by_role("link", name="Charges", exact=True).click()
    expect(page.get_by_role("heading", name="Charges", level=1)).to_be_visible()
    page.locator("#charges").get_by_role("link", name="Khalifa Haftar", exact=True).click()
    expect(page).to_have_url(CHARGE_URL)
    charge_match = CHARGE_URL.search(page.url)
    assert charge_match is not None
    charge_id = charge_match.group(1)
    expect(page.get_by_role("heading", name="Khalifa Haftar", level=1)).to_be_visible()
    gap_row = page.locator(f'#matrix tr[id="element-{GAP_ELEMENT}"]')
    expect(gap_row).to_have_count(1)
    expect(gap_row).to_have_class("status-gap")
    expect(gap_row).to_contain_text("Superior-subordinate relationship")
    expect(gap_row).to_contain_text("effective command and control")
    expect(gap_row.locator(".badge")).to_have_text("GAP")
    expect(gap_row.locator("td").nth(1).get_by_role("link")).to_have_count(0)
    # The elements the demo already supports stay supported (the photo and W-0001's statement).
    expect(page.locator('#matrix tr[id="element-rome-7-1-a.e1"]')).to_have_class("status-supported")

    # Link the field note to that element as supporting evidence.
    case_nav.get_by_role("link", name="Evidence", exact=True).click()
    page.get_by_role("link", name=FIELD_NOTE, exact=True).click()
    expect(page.get_by_role("heading", name="Field note on detentions at the prison", level=1)).to_be_visible()
    # "Evidence of" is a searchable picker: typed words find the element, shown whole with its charge.
    expect(page.locator("#link-search")).to_be_hidden()  # the picker's script has run
    picker = page.get_by_role("combobox", name="Evidence of")
    picker.fill("effective command")
    option = page.get_by_role("option").filter(has_text="Superior-subordinate relationship")
    expect(option).to_have_count(1)
    expect(option).to_contain_text("Charge: Khalifa Haftar, Murder as a crime against humanity")
    option.click()
    expect(page.locator('select[name="target"]')).to_have_value(f"charge_element:{charge_id}:{GAP_ELEMENT}")
    page.get_by_label("Stance", exact=True).select_option(label="Supports")
    page.get_by_label("Note", exact=True).fill("Kaniyat detentions reported under LAAF command.")
    submit(page, "Link")
    expect(page.get_by_role("status")).to_contain_text("Link saved.")
    link_row = page.locator("tr.stance-supports").filter(has_text="Superior-subordinate relationship")
    expect(link_row).to_have_count(1)
    expect(link_row.locator(".badge")).to_have_text("Supports")

    # Back on the charge: the element is supported now, by the field note.
    case_nav.get_by_role("link", name="Charges", exact=True).click()
    page.locator("#charges").get_by_role("link", name="Khalifa Haftar", exact=True).click()
    expect(gap_row).to_have_class("status-supported")
    expect(gap_row.locator(".badge")).to_have_text("supported")
    expect(gap_row.locator("td").nth(1).get_by_role("link", name=FIELD_NOTE, exact=True)).to_be_visible()

    # The ICC dossier: W-0002 refused consent to sharing with the ICC, so her statement stays out.
    case_nav.get_by_role("link", name="Dossiers", exact=True).click()
    expect(page.get_by_role("heading", name="Referral dossiers", level=1)).to_be_visible()
    page.get_by_label("Recipient profile", exact=True).select_option(label=PROFILE)
    page.get_by_label("Title", exact=True).fill("Tarhouna: article 15 communication")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/dossiers/preview")) as info:
        page.get_by_role("button", name="Preview", exact=True).click()
    assert info.value.status == 200, f"the preview was answered {info.value.status}"
    expect(page.get_by_role("heading", name=f"Preview: {PROFILE}", level=1)).to_be_visible()
    excluded = page.locator("#excluded tbody tr").filter(has_text="Statement of W-0002")
    expect(excluded).to_have_count(1)
    expect(excluded.locator("td").nth(2)).to_contain_text("consent")
    expect(excluded.locator("td").nth(2)).to_contain_text("witness W-0002 refused consent to sharing with the ICC")
    refused_ern = excluded.locator("td").first.inner_text().strip()
    assert re.fullmatch(r"TRH-\d{5}", refused_ern), refused_ern
    included = page.locator("#included")
    expect(included).to_contain_text("Statement of W-0001")  # W-0001 consented
    expect(included).to_contain_text(FIELD_NOTE)
    expect(included).not_to_contain_text("Statement of W-0002")
    submit(page, "Build and sign the dossier")

    # The build is a job: the dossier's page follows it, with no download until it is ready.
    expect(page).to_have_url(DOSSIER_URL)
    expect(page.get_by_role("heading", name="Tarhouna: article 15 communication", level=1)).to_be_visible()
    expect(page.locator("#dossier-status")).to_have_attribute("data-status", "building")
    expect(page.locator("#job-state")).to_have_text("queued")
    expect(page.get_by_role("link", name="Download (ZIP)", exact=True)).to_have_count(0)
    # A worker thread runs it, each stored file read slowly enough for the page to show the percentage rise.
    monkeypatch.setattr(builder, "_chunks", slow_chunks(builder._chunks, 0.6))
    worker = threading.Thread(target=run_queued_jobs, args=(app,), name="e2e-dossier-worker")
    worker.start()
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and page.locator("#dossier-status").get_attribute("data-status") != "ready":
        text = page.locator("#job-percent").text_content() or ""
        if text.endswith("%") and (not seen or seen[-1] != int(text[:-1])):
            seen.append(int(text[:-1]))
        page.wait_for_timeout(100)
    worker.join(timeout=30)
    expect(page.locator("#dossier-status")).to_have_attribute("data-status", "ready")
    expect(page.locator("#job-percent")).to_have_text("100%")
    assert seen == sorted(seen) and [p for p in seen if 0 < p < 100], f"percentages shown while building: {seen}"
    expect(page.locator("#included")).to_contain_text(FIELD_NOTE)
    expect(page.locator("#included")).not_to_contain_text(refused_ern)

    # Release takes two people: its builder may not approve it, and nothing can be downloaded yet.
    expect(page.locator("#dossier-approval")).to_contain_text("Awaiting approval")
    expect(page.locator("#dossier-self")).to_have_text(
        "You built this dossier: a second legal member must approve its release."
    )
    expect(page.get_by_role("button", name="Approve the release", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Download (ZIP)", exact=True)).to_have_count(0)
    # The form is not offered to the builder; posting it anyway (with the session's valid CSRF token) is refused.
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value") or ""
    refused = page.request.post(page.url + "/approve", form={"csrf_token": token})
    assert refused.status == 403 and "a second legal member must approve" in refused.text(), refused.status
    second = make_user("legal")
    add_member(case_id, second, "legal", identities=False)
    approver_page = new_context().new_page()
    log_in(approver_page, second)
    approver_page.goto(page.url)
    expect(approver_page.locator("#dossier-approval")).to_be_visible()
    approver_page.get_by_role("button", name="Approve the release", exact=True).click()
    expect(approver_page.get_by_role("status")).to_contain_text("The dossier's release is approved")
    expect(approver_page.locator("#dossier-approved")).to_contain_text(second.email)
    page.reload()
    expect(page.locator("#dossier-approved")).to_contain_text(second.email)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download (ZIP)", exact=True).click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename.endswith(".zip"), download.suggested_filename
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None  # every member's CRC checks out
        names = archive.namelist()
        roots = {name.split("/", 1)[0] for name in names}
        assert len(roots) == 1, roots  # one bag directory
        root = roots.pop()
        assert f"{root}/bagit.txt" in names, names
        assert f"{root}/data/dossier.pdf" in names, names
        assert archive.read(f"{root}/data/dossier.pdf").startswith(b"%PDF-")
        assert any(name.startswith(f"{root}/data/evidence/{FIELD_NOTE}") for name in names), names
        assert not [name for name in names if refused_ern in name], names
        assert leaked_names(archive, tmp_path) == []

    screenshot(page)
