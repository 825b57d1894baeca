"""Journey: an investigator with a second factor opens a case, records an incident and uploads two camera
photos linked to it, watching each file's progress, then checks the hash and GPS position the app extracted."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from support import PHOTOS, Account, totp_codes

INCIDENT = "Discovery of mass graves in Tarhouna"
PHOTO_FILES = [PHOTOS / "DSCN0010.jpg", PHOTOS / "DSCN0021.jpg"]
ERNS = ["TRH-00001", "TRH-00002"]  # one per file, in the order the files were chosen
CASE_URL = re.compile(r"/cases/[0-9a-f-]{36}$")
INCIDENT_URL = re.compile(r"/incidents/[0-9a-f-]{36}$")
ITEM_URL = re.compile(r"/evidence/[0-9a-f-]{36}$")


def log_in_with_second_factor(page: Page, account: Account) -> None:
    assert account.totp_secret, "the journey needs an account with a second factor"
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(account.email)
    page.get_by_label("Password", exact=True).fill(account.password)
    page.get_by_role("button", name="Log in", exact=True).click()
    # The password alone does not log in: the second step asks for the authenticator's code.
    expect(page).to_have_url(re.compile(r"/login/second-factor$"))
    expect(page.get_by_role("heading", name="Second factor", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="My cases")).to_have_count(0)
    page.get_by_label("Code from your authenticator app, or a recovery code", exact=True).fill(
        totp_codes(account.totp_secret)[0]
    )
    page.get_by_role("button", name="Verify", exact=True).click()
    expect(page.get_by_role("heading", name="My cases", level=1)).to_be_visible()


def test_investigator_uploads_photos_with_progress_and_sees_hash_and_gps(
    page: Page,
    make_user: Callable[..., Account],
    submit: Callable[[Page, str], None],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator", second_factor=True)
    log_in_with_second_factor(page, investigator)

    page.get_by_role("link", name="New case", exact=True).click()
    expect(page.get_by_role("heading", name="New case", level=1)).to_be_visible()
    page.get_by_label("Reference", exact=True).fill("TRH")
    page.get_by_label("Title", exact=True).fill("Tarhouna killings")
    submit(page, "Save")
    expect(page).to_have_url(CASE_URL)

    page.get_by_role("link", name="Add incident", exact=True).click()
    page.get_by_label("Title", exact=True).fill(INCIDENT)
    page.get_by_label("Place", exact=True).fill("Tarhouna (ترهونة)")
    submit(page, "Save")
    expect(page).to_have_url(INCIDENT_URL)
    expect(page.get_by_role("heading", name=INCIDENT, level=1)).to_be_visible()

    case_nav = page.get_by_role("navigation", name="Case")
    case_nav.get_by_role("link", name="Evidence", exact=True).click()
    expect(page.get_by_text("No evidence matches.")).to_be_visible()
    page.get_by_role("link", name="Add evidence", exact=True).click()
    expect(page.get_by_role("heading", name="Add evidence", level=1)).to_be_visible()
    page.get_by_label("Files", exact=True).set_input_files(PHOTO_FILES)
    page.get_by_label("Incidents", exact=True).select_option(label=INCIDENT)
    page.get_by_role("button", name="Upload", exact=True).click()

    # The script uploads each file in its own request: one row per file, each with its own progress bar.
    rows = page.locator("#upload-progress li")
    expect(rows).to_have_count(2)
    bars = page.locator("#upload-progress progress")
    expect(bars).to_have_count(2)
    for index, (path, ern) in enumerate(zip(PHOTO_FILES, ERNS, strict=True)):
        row = rows.nth(index)
        expect(row).to_contain_text(path.name)
        expect(row.locator("progress")).to_be_visible()
        expect(row.locator("progress")).to_have_attribute("max", "100")
        expect(row.locator("progress")).to_have_js_property("value", 100)
        expect(row.get_by_role("link", name=ern, exact=True)).to_have_attribute("href", ITEM_URL)
        expect(row.locator(".status")).to_have_class(re.compile(r"\bok\b"))
    expect(page.locator("#upload-progress .status.bad")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload", exact=True)).to_be_enabled()

    page.get_by_role("link", name="Go to the evidence list", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Evidence"), level=1)).to_contain_text("(2)")
    for ern in ERNS:
        row = page.locator("#evidence tbody tr").filter(has=page.get_by_role("link", name=ern, exact=True))
        expect(row).to_have_count(1)
        expect(row.locator(".tag")).to_have_text([INCIDENT])

    page.get_by_role("link", name=ERNS[0], exact=True).click()
    expect(page).to_have_url(ITEM_URL)
    expect(page.get_by_role("heading", name="DSCN0010.jpg", level=1)).to_be_visible()
    facts = page.locator("dl.facts").first
    sha256 = hashlib.sha256(PHOTO_FILES[0].read_bytes()).hexdigest()
    expect(facts.locator("dt:text-is('SHA-256') + dd")).to_have_text(sha256)
    metadata = page.locator("dl.facts").nth(1)
    expect(metadata.locator("dt:text-is('Device') + dd")).to_contain_text("NIKON COOLPIX P6000")
    # DSCN0010.jpg was taken at 43.467448 N, 11.885127 E (its EXIF GPS block).
    expect(metadata.locator("dt:text-is('GPS position') + dd")).to_have_text("43.467448, 11.885127")
    links = page.locator("table.list").filter(has=page.get_by_role("columnheader", name="Evidence of"))
    expect(links.locator("tbody tr")).to_have_count(1)
    expect(links.locator("tbody tr")).to_contain_text(INCIDENT)

    # The same photo again (from another channel): not silently a second item. The row names the existing item and
    # offers the two choices; recording a new acquisition keeps one item and says so in its trail.
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Evidence", exact=True).click()
    page.get_by_role("link", name="Add evidence", exact=True).click()
    page.get_by_label("Files", exact=True).set_input_files(PHOTO_FILES[:1])
    page.get_by_label("Source", exact=True).fill("WhatsApp, second channel")
    page.get_by_role("button", name="Upload", exact=True).click()
    row = page.locator("#upload-progress li").first
    expect(row.locator(".status")).to_contain_text("already in the case as TRH-00001")
    expect(row.get_by_role("link", name="TRH-00001", exact=True)).to_have_attribute("href", ITEM_URL)
    row.get_by_role("button", name="Record a new acquisition", exact=True).click()
    expect(row.locator(".status")).to_have_class(re.compile(r"\bok\b"))
    expect(row.get_by_role("link", name="TRH-00001", exact=True)).to_be_visible()
    row.get_by_role("link", name="TRH-00001", exact=True).click()
    expect(page).to_have_url(ITEM_URL)
    expect(page.locator('#custody-trail td[data-action="acquisition_recorded"]')).to_have_text("acquired again")
    page.get_by_role("navigation", name="Case").get_by_role("link", name="Evidence", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Evidence"), level=1)).to_contain_text("(2)")

    screenshot(page)
