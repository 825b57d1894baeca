"""Journey: a reviewer downloads an evidence item, verifies the custody record (INTACT), finds their own reads
and the fixity check in the item's custody trail, and can change nothing: no edit controls, and a forged
edit with a valid CSRF token is refused with 403."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from support import Account, load_demo

PHOTO_ERN = "TRH-00001"
PHOTO_TITLE = "Excavation site, south of the town centre"
ITEM_URL = re.compile(r"/evidence/([0-9a-f-]{36})$")
WRITE_CONTROLS = ["Edit case", "Add incident", "Add evidence", "Edit metadata", "Add derivative", "Link"]


def expect_read_only(page: Page) -> None:
    for name in WRITE_CONTROLS:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_reviewer_downloads_verifies_custody_and_cannot_edit(
    app: Flask,
    page: Page,
    tmp_path: Path,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    screenshot: Callable[..., Path],
) -> None:
    case_id = load_demo(app)
    reviewer = make_user("reviewer")
    add_member(case_id, reviewer, "reviewer", identities=False)
    log_in(page, reviewer)
    me = f"{reviewer.email.split('@')[0]} (reviewer)"  # the custody trail names each actor and their role

    page.get_by_role("link", name="TRH", exact=True).click()
    expect(page.get_by_role("heading", name="Tarhouna mass graves", level=1)).to_be_visible()
    expect_read_only(page)
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Evidence", exact=True).click()
    expect(page.locator("#evidence")).to_be_visible()
    expect_read_only(page)
    page.get_by_role("link", name=PHOTO_ERN, exact=True).click()
    expect(page).to_have_url(ITEM_URL)
    expect(page.get_by_role("heading", name=PHOTO_TITLE, level=1)).to_be_visible()
    expect_read_only(page)
    expect(page.get_by_label("Evidence of")).to_have_count(0)
    expect(page.get_by_text("Record a hand-over")).to_have_count(0)
    expect(page.get_by_role("button", name="Unlink")).to_have_count(0)
    item_url = page.url
    item_match = ITEM_URL.search(item_url)
    assert item_match is not None
    item_id = item_match.group(1)
    sha256 = page.locator("dl.facts dt:text-is('SHA-256') + dd").first.inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", sha256), sha256

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download original", exact=True).click()
    download = download_info.value
    assert download.failure() is None, download.failure()
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == sha256  # the very bytes recorded at ingest

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Verify custody", exact=True).click()
    expect(page.get_by_role("heading", name="Verify the custody record", level=1)).to_be_visible()
    page.get_by_label("Files of", exact=True).select_option(label="TRH – Tarhouna mass graves")
    page.get_by_role("button", name="Run verification", exact=True).click()
    result = page.locator("#verify-result")
    expect(result).to_be_visible()
    expect(result.locator(".badge")).to_have_text("INTACT")
    expect(result).to_contain_text("Nothing was altered.")
    expect(result).to_contain_text("5 files checked")  # the demo's 3 files and 2 statements
    expect(page.locator(".problems")).to_have_count(0)

    page.goto(item_url)
    expect(page.locator(".pagehead .badge.ok")).to_contain_text("Integrity verified")
    trail = page.locator("#custody-trail tbody tr")
    mine = trail.filter(has=page.locator("td:nth-child(4)", has_text=me))
    # Actions in words; the stored code stays on the cell (data-action) for whoever audits the ledger itself.
    for action, words in (
        ("viewed", "viewed"),
        ("downloaded", "downloaded"),
        ("fixity_verified", "integrity verified"),
    ):
        cell = mine.locator(f'td:nth-child(3)[data-action="{action}"]').first
        expect(cell).to_be_visible()
        expect(cell).to_have_text(words)
    downloaded = mine.filter(has=page.locator("td:nth-child(3)", has_text=re.compile("^downloaded$")))
    expect(downloaded).to_have_count(1)
    details = downloaded.locator("td.details")
    expect(details.locator("dt")).to_have_text(["Through"])  # a definition list, each key in words
    expect(details.locator("dd")).to_have_text(["on its page"])  # the "through" value in words
    expect(trail.filter(has=page.locator('td:nth-child(3)[data-action="ingested"]'))).to_have_count(1)
    expect(trail.locator('td[data-action="ingested"]')).to_have_text("recorded (ingested)")
    expect_read_only(page)

    # A forged edit, with a genuine CSRF token from the reviewer's own page: refused by role, not by CSRF.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert token
    forged = page.request.post(
        f"/evidence/{item_id}/edit",
        form={"csrf_token": token, "title": "Tampered title", "classification": "public"},
        max_redirects=0,
    )
    assert forged.status == 403, (forged.status, forged.text()[:300])
    forged_link = page.request.post(
        f"/evidence/{item_id}/links",
        form={"csrf_token": token, "target": f"incident:{uuid.uuid4()}", "stance": "supports"},
        max_redirects=0,
    )
    assert forged_link.status == 403, (forged_link.status, forged_link.text()[:300])
    page.reload()
    expect(page.get_by_role("heading", name=PHOTO_TITLE, level=1)).to_be_visible()
    expect(page.locator('#custody-trail td[data-action="metadata_changed"]')).to_have_count(0)

    screenshot(page)
