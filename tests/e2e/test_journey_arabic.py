"""Journey (issue 8): an investigator switches the interface to Arabic from the header, sees a right-to-left page
with translated navigation, and switches back to English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from support import Account

CASE_URL = re.compile(r"/cases/[0-9a-f-]{36}$")
# msgstr of casefile/translations/ar/LC_MESSAGES/messages.po
AR = {
    "Main": "القائمة الرئيسية",
    "My cases": "قضاياي",
    "My work": "عملي",
    "Verify custody": "التحقق من الحيازة",
    "Search": "بحث",
    "Log out": "تسجيل الخروج",
    "New case": "قضية جديدة",
    "Case": "القضية",
    "Overview": "نظرة عامة",
    "Evidence": "الأدلة",
}


def test_investigator_switches_to_arabic_and_back(
    page: Page,
    make_user: Callable[..., Account],
    make_case: Callable[..., object],
    log_in: Callable[[Page, Account], None],
    screenshot: Callable[..., Path],
) -> None:
    investigator = make_user("investigator")
    make_case(investigator, "TRH", title="Tarhouna killings")
    log_in(page, investigator)
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")
    page.get_by_role("link", name="TRH", exact=True).click()
    expect(page).to_have_url(CASE_URL)
    case_url = page.url

    # The switch is a real form POST (CSRF token included) that returns to the same page.
    switch = page.get_by_role("button", name="العربية", exact=True)
    expect(switch).to_have_attribute("lang", "ar")
    switch.click()
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page).to_have_url(case_url)
    main_nav = page.get_by_role("navigation", name=AR["Main"], exact=True)
    expect(main_nav.get_by_role("link")).to_have_text(
        [AR["My cases"], AR["My work"], AR["Search"], AR["Verify custody"]]
    )
    expect(page.get_by_role("button", name=AR["Log out"], exact=True)).to_be_visible()
    case_nav = page.get_by_role("navigation", name=AR["Case"], exact=True)
    expect(case_nav.get_by_role("link", name=AR["Overview"], exact=True)).to_have_attribute("aria-current", "page")
    expect(case_nav.get_by_role("link", name=AR["Evidence"], exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="My cases")).to_have_count(0)
    # User content keeps its own language and direction.
    expect(page.get_by_role("heading", name="Tarhouna killings", level=1)).to_have_attribute("dir", "auto")
    # The layout really is mirrored: the brand sits at the right edge of the header.
    brand = page.get_by_role("link", name="Casefile", exact=True).bounding_box()
    assert brand is not None and brand["x"] > 1280 / 2, brand

    main_nav.get_by_role("link", name=AR["My cases"], exact=True).click()
    expect(page.get_by_role("heading", name=AR["My cases"], level=1)).to_be_visible()
    expect(page.get_by_role("link", name=AR["New case"], exact=True)).to_be_visible()
    expect(html).to_have_attribute("dir", "rtl")  # the choice sticks across pages
    screenshot(page, "arabic")

    page.get_by_role("button", name="English", exact=True).click()
    expect(html).to_have_attribute("lang", "en")
    expect(html).to_have_attribute("dir", "ltr")
    expect(page.get_by_role("heading", name="My cases", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main", exact=True).get_by_role("link")).to_have_text(
        ["My cases", "My work", "Search", "Verify custody"]
    )
    expect(page.get_by_role("button", name="العربية", exact=True)).to_be_visible()

    screenshot(page)
