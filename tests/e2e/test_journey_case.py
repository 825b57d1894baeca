"""Journey: an investigator opens a case and records its first incident, in a real browser."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from support import Account

INCIDENT = "Discovery of mass graves in Tarhouna"
CASE_URL = re.compile(r"/cases/[0-9a-f-]{36}$")
INCIDENT_URL = re.compile(r"/incidents/[0-9a-f-]{36}$")


def test_investigator_creates_case_and_records_incident(
    page: Page,
    make_user: Callable[..., Account],
    log_in: Callable[[Page, Account], None],
    submit: Callable[[Page, str], None],
    screenshot: Callable[..., Path],
) -> None:
    log_in(page, make_user("investigator"))

    page.get_by_role("link", name="New case", exact=True).click()
    expect(page.get_by_role("heading", name="New case", level=1)).to_be_visible()
    page.get_by_label("Reference", exact=True).fill("TRH")
    page.get_by_label("Title", exact=True).fill("Tarhouna killings")
    page.get_by_label("Situation", exact=True).fill("ICC-01/11 Situation in Libya")
    page.get_by_label("Summary", exact=True).fill("Statement of محمد الكاني and the Kaniyat militia.")
    submit(page, "Save")

    expect(page).to_have_url(CASE_URL)
    expect(page.get_by_role("status")).to_contain_text("Case TRH created.")
    expect(page.get_by_role("heading", name="Tarhouna killings", level=1)).to_be_visible()
    expect(page.get_by_text("محمد الكاني")).to_be_visible()
    expect(page.get_by_text("No incidents recorded yet.")).to_be_visible()
    case_url = page.url

    page.get_by_role("link", name="Add incident", exact=True).click()
    expect(page.get_by_role("heading", name="New incident", level=1)).to_be_visible()
    page.get_by_label("Title", exact=True).fill(INCIDENT)
    page.get_by_label("Start date", exact=True).fill("2020-06-01")
    page.get_by_label("Date precision", exact=True).select_option(label="Month only")
    page.get_by_label("Place", exact=True).fill("Tarhouna (ترهونة)")
    page.get_by_label("Latitude", exact=True).fill("32.435")
    page.get_by_label("Longitude", exact=True).fill("13.634")
    page.get_by_label("Location precision", exact=True).select_option(label="Locality (town or village)")
    violations = page.get_by_label("Violation types", exact=True)
    violations.select_option(label=["Killing", "Mass grave / concealment of bodies"])
    expect(violations).to_have_values(["killing", "mass_grave"])
    submit(page, "Save")

    expect(page).to_have_url(INCIDENT_URL)
    expect(page.get_by_role("status")).to_contain_text("Incident added.")
    expect(page.get_by_role("heading", name=INCIDENT, level=1)).to_be_visible()
    facts = page.get_by_role("definition")  # the <dd>s, in order: When, Where, Violations, Victims
    when, where, violations_shown = facts.nth(0), facts.nth(1), facts.nth(2)
    expect(when).to_contain_text("June 2020")
    expect(where).to_contain_text("Tarhouna (ترهونة)")
    expect(where).to_contain_text("32.43500, 13.63400")
    expect(violations_shown).to_contain_text("Killing")
    expect(violations_shown).to_contain_text("Mass grave / concealment of bodies")

    page.get_by_role("navigation", name="Case").get_by_role("link", name="Overview", exact=True).click()
    expect(page).to_have_url(case_url)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=INCIDENT, exact=True))
    expect(row).to_have_count(1)
    expect(row.get_by_role("cell").first).to_have_text("June 2020")
    expect(row).to_contain_text("Tarhouna (ترهونة)")
    expect(row).to_contain_text("Killing")
    expect(row).to_contain_text("Mass grave / concealment of bodies")

    screenshot(page)


def test_wrong_password_and_reviewer_sees_case_read_only(
    page: Page,
    make_user: Callable[..., Account],
    make_case: Callable[..., object],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    reviewer = make_user("reviewer")
    case_id = make_case(investigator, "TRH", title="Tarhouna killings")
    add_member(case_id, reviewer, "reviewer")

    page.goto("/login")
    # The live server enforces CSRF: the same login posted without the form's token is refused.
    forged = page.request.post("/login", form={"email": reviewer.email, "password": reviewer.password})
    assert forged.status == 400, forged.status
    assert "security token is missing or invalid" in forged.text()

    page.get_by_label("Email", exact=True).fill(reviewer.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()

    log_in(page, reviewer)
    expect(page.get_by_role("link", name="New case")).to_have_count(0)
    page.get_by_role("link", name="TRH", exact=True).click()
    expect(page.get_by_role("heading", name="Tarhouna killings", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Incidents", level=2)).to_be_visible()
    expect(page.get_by_role("link", name="Edit case")).to_have_count(0)
    expect(page.get_by_role("link", name="Add incident")).to_have_count(0)

    screenshot(page)


def test_pages_have_no_console_errors_or_csp_violations(
    page: Page,
    browser_errors: list[str],
    make_user: Callable[..., Account],
    make_case: Callable[..., object],
    log_in: Callable[[Page, Account], None],
    submit: Callable[[Page, str], None],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    # Made directly: this test is about what the pages load, not about creating cases.
    make_case(investigator, "TRH", title="Tarhouna killings")
    visited: list[str] = []

    def settle(name: str) -> None:
        page.wait_for_load_state("load")
        visited.append(name)
        assert browser_errors == [], f"on the {name} page: {browser_errors}"

    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in", level=1)).to_be_visible()
    settle("login")

    log_in(page, investigator)
    settle("dashboard")

    page.get_by_role("link", name="TRH", exact=True).click()
    expect(page).to_have_url(CASE_URL)
    expect(page.get_by_role("heading", name="Tarhouna killings", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Edit case", exact=True)).to_be_visible()
    settle("case")

    page.get_by_role("link", name="Add incident", exact=True).click()
    expect(page.get_by_role("heading", name="New incident", level=1)).to_be_visible()
    settle("new incident")
    page.get_by_label("Title", exact=True).fill(INCIDENT)
    submit(page, "Save")
    expect(page).to_have_url(INCIDENT_URL)
    settle("incident")

    # The stylesheet and the script really loaded under the CSP (a refused one would leave no trace otherwise).
    assert page.evaluate("document.styleSheets.length") >= 1
    assert page.evaluate("[...document.scripts].every((s) => s.src.endsWith('/static/casefile.js'))")
    assert visited == ["login", "dashboard", "case", "new incident", "incident"]
    screenshot(page)
