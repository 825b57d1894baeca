"""Journey: an investigator pastes the address of an article into the case's Web captures page, watches the capture
job on the capture's page (which follows it by itself), and opens the capture: its screenshot, its final address
after the redirect, the certificate chain, the evidence items and the trusted timestamp.

The job is run by the runner in a thread of this process, as a worker thread would run it; the site is a real
HTTPS site on loopback with its own CA, the TSA is OpenSSL's (tests/local_servers.py)."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from casefile import components
from casefile.capture.models import WebCapture
from casefile.config import Settings
from casefile.db import session_scope
from casefile.jobs.runner import run

from local_servers import TestSite
from support import Account

CAPTURE_URL = re.compile(r"/captures/([0-9a-f-]{36})$")


@pytest.fixture
def settings(capture_settings: Settings) -> Settings:
    return capture_settings


def test_investigator_captures_an_article_and_opens_it(
    app: Flask,
    page: Page,
    site: TestSite,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    log_in: Callable[[Page, Account], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    case_id = make_case(investigator, reference="TRH", title="Tarhouna mass graves")
    log_in(page, investigator)
    page.goto(f"/cases/{case_id}")
    page.get_by_role("link", name="Web captures", exact=True).click()
    expect(page.get_by_role("heading", name="Web captures", level=1)).to_be_visible()
    expect(page.locator("#timestamps-state")).to_contain_text("Trusted timestamps are on")

    # A hostile address is refused on the form, with the reason, and nothing is queued.
    page.get_by_label("Address of the page").fill("http://169.254.169.254/latest/meta-data/")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page.get_by_text("link-local", exact=False)).to_be_visible()

    page.get_by_label("Address of the page").fill(site.url("/old-address"))
    page.get_by_label("Note").fill("Article reporting the exhumation")
    page.get_by_role("button", name="Capture", exact=True).click()
    expect(page).to_have_url(CAPTURE_URL)
    expect(page.locator("#job-state")).to_have_text("queued")
    match = CAPTURE_URL.search(page.url)
    assert match is not None
    with app.app_context(), session_scope() as s:
        job_id = s.scalar(select(WebCapture.job_id).where(WebCapture.id == uuid.UUID(match.group(1))))
    assert job_id is not None

    def work() -> None:
        with app.app_context():
            run(app, components.job_queue(app), job_id)

    worker = threading.Thread(target=work, name="e2e-capture-worker")
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the capture did not finish"
    # No reload by the test: the page follows the job and shows the capture when it is done.
    expect(page.locator("#capture-state")).to_have_attribute("data-state", "done", timeout=20_000)
    expect(page.locator("#capture-final-url")).to_have_text(site.url("/article"))
    shot = page.locator("#capture-screenshot")
    expect(shot).to_be_visible()
    assert shot.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.locator("#capture-tls")).to_contain_text("valid for this address when captured")
    expect(page.locator("#capture-items")).to_contain_text("Full-page screenshot")
    expect(page.locator("#capture-items")).to_contain_text("PDF print of the page")
    expect(page.locator("#capture-timestamps")).to_contain_text("CN=Casefile Test TSA")
    screenshot(page, "capture")

    page.locator("#capture-archive").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Web capture: Exhumation at Tarhouna")
    page.go_back()
    page.get_by_role("link", name="Web captures", exact=True).click()
    expect(page.locator("#captures")).to_contain_text("Exhumation at Tarhouna")
    # The refused form was answered 422 (Chromium logs every 4xx document as a failed load); nothing else.
    assert [e for e in browser_errors if not e.endswith("status of 422 (UNPROCESSABLE ENTITY)")] == []
    assert len(browser_errors) == 1
