"""Journey: a reviewer starts a verification of a case in the background and watches its page follow the job by
itself (static/jobs.js polls, under the CSP, with no inline script), then cancels another one from its page.

The job is run by the runner in a thread of this process, as a worker thread would run it: the worker process
and both queues are tested in tests/jobs/test_worker.py; what is tested here is the page."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from casefile import components
from casefile.jobs.runner import run

from support import Account, load_demo

JOB_URL = re.compile(r"/jobs/([0-9a-f-]{36})$")


def start_in_background(page: Page) -> uuid.UUID:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Verify custody", exact=True).click()
    page.get_by_label("Files of").select_option(label="TRH – Tarhouna mass graves")
    page.get_by_role("button", name="Run in the background", exact=True).click()
    expect(page).to_have_url(JOB_URL)
    match = JOB_URL.search(page.url)
    assert match is not None
    return uuid.UUID(match.group(1))


def test_reviewer_watches_a_background_verification_and_cancels_another(
    app: Flask,
    page: Page,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    case_id = load_demo(app)
    reviewer = make_user("reviewer")
    add_member(case_id, reviewer, "reviewer")
    log_in(page, reviewer)

    job_id = start_in_background(page)
    expect(page.get_by_role("heading", name="Custody verification", level=1)).to_be_visible()
    expect(page.locator("#job-state")).to_have_text("queued")
    expect(page.locator("progress#job-progress")).to_be_visible()

    def work() -> None:
        with app.app_context():
            run(app, components.job_queue(app), job_id)

    worker = threading.Thread(target=work, name="e2e-job-worker")
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "the job did not finish"
    # No reload by the test: the page notices the new state and shows the result by itself.
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=15_000)
    expect(page.locator("#verify-result")).to_contain_text("INTACT")
    expect(page.get_by_role("button", name="Cancel this job", exact=True)).to_have_count(0)
    screenshot(page, "succeeded")

    start_in_background(page)
    page.get_by_role("button", name="Cancel this job", exact=True).click()
    expect(page.get_by_text("The job was cancelled.", exact=True)).to_be_visible()
    expect(page.locator("#job-state")).to_have_text("cancelled")
    assert browser_errors == []
