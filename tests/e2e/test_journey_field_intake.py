"""Journey: an investigator offers the field report to the case's phones and makes a login for her phone on the Field
intake page; the phone (an OpenRosa client over real HTTP, HTTP Digest) fetches the form and sends two reports;
in the review queue she accepts one (its photo becomes an evidence item, by a job) and rejects the other with the
reason, which stays on its page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from defusedxml import ElementTree
from flask import Flask
from playwright.sync_api import Page, expect

from odk_phone import PHOTO, Phone, instance_id, report_xml
from support import Account, run_queued_jobs

LIST_NS = "{http://openrosa.org/xforms/xformsList}"


def test_review_queue_accepts_one_submission_and_rejects_another(
    app: Flask,
    page: Page,
    live_server: str,
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    log_in: Callable[[Page, Account], None],
    submit: Callable[..., None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    case_id = make_case(investigator, reference="TRH", title="Tarhouna mass graves")
    log_in(page, investigator)
    page.goto(f"/cases/{case_id}")
    page.get_by_role("link", name="Field intake", exact=True).click()
    expect(page.get_by_role("heading", name="Field intake", level=1)).to_be_visible()

    page.get_by_label("Encrypt submissions on the phone").uncheck()
    submit(page, "Offer the form")
    expect(page.locator("#forms")).to_contain_text("casefile_field_report")
    page.get_by_label("Name of the phone").fill("Field phone 1")
    page.get_by_role("button", name="Make a login for this phone").click()
    username = page.locator("#new-username").inner_text().strip()
    password = page.locator("#new-password").inner_text().strip()
    address = page.locator("#server-address").inner_text().strip()
    assert address == f"{live_server}/openrosa/cases/{case_id}"
    screenshot(page, "phone-login")

    phone = Phone(address, username, password)
    listing = ElementTree.fromstring(phone.get("/formList").content)
    version = listing.find(f"{LIST_NS}xform").find(f"{LIST_NS}version").text
    for description in ("Trucks at the landfill at night", "A rumour heard in the market"):
        files = {"landfill.jpg": PHOTO} if "landfill" in description else {}
        xml = report_xml(version, instance_id(), description=description, photos=list(files), place="Tarhouna")
        assert phone.submit(xml, files).status_code == 201

    page.goto(f"/cases/{case_id}/field")
    queue = page.locator("#submissions")
    expect(queue.get_by_role("row")).to_have_count(3)  # the header and two submissions
    queue.get_by_role("row", name="Trucks at the landfill").get_by_role("link").click()
    expect(page.locator("#answers")).to_contain_text("Trucks at the landfill at night")
    expect(page.locator("#files")).to_contain_text("landfill.jpg")
    submit(page, "Accept into the case")
    expect(page.get_by_text("Accepted: its files are being recorded as evidence.")).to_be_visible()
    run_queued_jobs(app)
    page.reload()
    expect(page.locator("#submission-state")).to_have_text("accepted")
    page.locator("#files").get_by_role("link", name="item").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("landfill.jpg")

    page.goto(f"/cases/{case_id}/field")
    page.locator("#submissions").get_by_role("row", name="A rumour").get_by_role("link").click()
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(page.get_by_text("Say why the submission is rejected.").first).to_be_visible()
    page.get_by_label("Why it is rejected").fill("Hearsay with no source: asked the team to find a witness.")
    submit(page, "Reject")
    expect(page.locator("#submission-state")).to_have_text("rejected")
    expect(page.locator("#reject-reason")).to_have_text("Hearsay with no source: asked the team to find a witness.")
    expect(page.get_by_role("button", name="Accept into the case")).to_have_count(0)
    screenshot(page, "rejected")

    page.goto(f"/cases/{case_id}/field?state=")
    expect(page.locator("#submissions")).to_contain_text("accepted")
    expect(page.locator("#submissions")).to_contain_text("rejected")
    # The empty rejection was answered 422 (Chromium logs every 4xx document as a failed load); nothing else.
    assert [e for e in browser_errors if not e.endswith("status of 422 (UNPROCESSABLE ENTITY)")] == []
