"""Journey (issue #20's browser test): one investigator uploads a photo and links it to an element of a charge; the
same investigator is refused when trying to verify it (the page does not offer "verified", and a forged request
gets 403); a second investigator records a geolocation check with its note and concludes it verified; the lawyer
sees the element matrix's verified count rise from 0 to 1."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from support import Account, Api

PHOTO = Path(__file__).resolve().parents[1] / "data" / "photos" / "DSCN0021.jpg"


def test_one_uploads_a_second_verifies_the_lawyer_sees_the_count_rise(
    app: Flask,
    page: Page,
    new_context: Callable[[], BrowserContext],
    make_user: Callable[..., Account],
    make_case: Callable[..., uuid.UUID],
    add_member: Callable[..., None],
    api_for: Callable[..., tuple[Api, Account]],
    log_in: Callable[[Page, Account], None],
    submit: Callable[..., None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    uploader = make_user("investigator")
    case_id = make_case(uploader, reference="TRH", title="Tarhouna mass graves")
    verifier, lawyer = make_user("investigator"), make_user("legal")
    add_member(case_id, verifier, "investigator")
    add_member(case_id, lawyer, "legal")
    api, _ = api_for(account=uploader)
    suspect = api.post(f"/cases/{case_id}/actors", json={"kind": "person", "name": "Militia commander"}).get_json()
    charge = api.post(
        f"/cases/{case_id}/charges", json={"suspect_id": suspect["id"], "offence_code": "rome-7-1-a"}
    ).get_json()
    element = api.get(f"/charges/{charge['id']}/matrix").get_json()["elements"][0]["code"]

    # The uploader adds the photo and links it to the element.
    log_in(page, uploader)
    page.goto(f"/cases/{case_id}/evidence/upload")
    page.get_by_label("Files").set_input_files(str(PHOTO))
    page.get_by_label("Title").fill("Trucks at the landfill")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#upload-progress li")).to_contain_text("TRH-00001")  # the script uploads, row by row
    item = api.get(f"/cases/{case_id}/evidence").get_json()["items"][0]
    linked = api.post(
        f"/evidence/{item['id']}/links",
        json={
            "target_type": "charge_element",
            "target_id": charge["id"],
            "element_code": element,
            "stance": "supports",
        },
    )
    assert linked.status_code == 201

    # The lawyer's matrix: supported, none of it verified yet.
    lawyer_page = new_context().new_page()
    log_in(lawyer_page, lawyer)
    lawyer_page.goto(f"/charges/{charge['id']}")
    row = lawyer_page.locator(f"[id='element-{element}']")
    expect(row.locator(".verified-count")).to_have_text("0 of 1 verified")

    # The uploader records a check but may not verify: "verified" is not offered, a forged request is refused.
    page.goto(f"/evidence/{item['id']}")
    expect(page.locator("#verification-status")).to_have_text("new")
    expect(page.locator("#four-eyes")).to_be_visible()
    page.locator("#check-form").get_by_label("What was checked").select_option("source")
    page.locator("#check-form").get_by_label("Method").fill("Asked the photographer how it reached us")
    submit(page, "Record the check")
    expect(page.locator("#verification-status")).to_have_text("in verification")
    assert page.locator("#status-form option[value=verified]").count() == 0
    forged = page.request.post(
        f"/evidence/{item['id']}/verification/status",
        form={"status": "verified", "csrf_token": page.locator("#status-form input[name=csrf_token]").input_value()},
    )
    assert forged.status == 403
    screenshot(page, "uploader-refused")

    # The second investigator geolocates it and concludes it verified.
    verifier_page = new_context().new_page()
    log_in(verifier_page, verifier)
    verifier_page.goto(f"/evidence/{item['id']}")
    form = verifier_page.locator("#check-form")
    form.get_by_label("What was checked").select_option("geolocation")
    form.get_by_label("Outcome").select_option("confirmed")
    form.get_by_label("Method").fill("Skyline and the water tower matched to satellite imagery of June 2020")
    form.get_by_label("Notes").fill("32.4351 N, 13.6335 E, facing north-east; the tower is 40 m from the road.")
    submit(verifier_page, "Record the check")
    expect(verifier_page.locator("#verification-checks")).to_contain_text("Geolocation (where)")
    expect(verifier_page.locator("#verification-checks")).to_contain_text("the tower is 40 m from the road")
    verifier_page.locator("#status-form").get_by_label("Verification status").select_option("verified")
    submit(verifier_page, "Change the status")
    expect(verifier_page.locator("#verification-status")).to_have_text("verified")
    screenshot(verifier_page, "verified")

    # The lawyer's count rises; the custody trail says who did what.
    lawyer_page.reload()
    expect(row.locator(".verified-count")).to_have_text("1 of 1 verified")
    screenshot(lawyer_page, "matrix")
    lawyer_page.goto(f"/evidence/{item['id']}/custody")
    trail = lawyer_page.locator("#custody-trail")
    expect(trail.locator("td[data-action=verification_status_changed]")).to_have_count(2)
    expect(trail.locator("td[data-action=verification_checked]")).to_have_count(2)
    # The forged request was answered 403 (Chromium logs no console error for a fetch); nothing else went wrong.
    assert browser_errors == []
