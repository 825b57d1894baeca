"""Journey (issue #19, "one click between linked things"): a legal member links the field note to an element by
typing in the item page's picker (an ARIA combobox, chosen with the keyboard), links a photo to another element
from the charge's matrix with its own picker, clicks al-Kani's box on the command chart to reach his page, and finds
him by "alkani" with the found words marked; no raw code on the way, and no console error or CSP violation."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Page, expect

from support import Account, load_demo

FIELD_NOTE = "TRH-00003"
PHOTO = "TRH-00002"  # "Marked grave, agricultural land"
GAP_ELEMENT = "rome-28-a.e1"  # superior–subordinate relationship: effective command and control
OTHER_ELEMENT = "rome-28-a.e2"  # crimes committed by forces under that command and control
CHARGE_URL = re.compile(r"/charges/[0-9a-f-]{36}(#.*)?$")
ACTOR_URL = re.compile(r"/actors/[0-9a-f-]{36}$")


def test_one_click_between_linked_things_and_search(
    app: Flask,
    page: Page,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    browser_errors: list[str],
    screenshot: Callable[..., Path],
) -> None:
    case_id = load_demo(app)
    legal = make_user("legal")
    add_member(case_id, legal, "legal", identities=False)
    log_in(page, legal)
    page.get_by_role("link", name="TRH", exact=True).click()
    case_nav = page.get_by_role("navigation", name="Case")

    # The item page: the long <select> became a searchable combobox (the search form is for pages without script).
    case_nav.get_by_role("link", name="Evidence", exact=True).click()
    page.get_by_role("link", name=FIELD_NOTE, exact=True).click()
    expect(page.get_by_role("heading", name="Field note on detentions at the prison", level=1)).to_be_visible()
    expect(page.locator("#link-search")).to_be_hidden()
    picker = page.get_by_role("combobox", name="Evidence of")
    expect(picker).to_have_attribute("aria-expanded", "false")
    picker.fill("effective command control")
    listbox = page.get_by_role("listbox")
    expect(picker).to_have_attribute("aria-expanded", "true")
    option = listbox.get_by_role("option").filter(has_text="Superior-subordinate relationship")
    expect(option).to_have_count(1)
    # The element's whole text, wrapped, never cut; with the charge it belongs to.
    expect(option).to_contain_text("or to submit the matter to the competent authorities.")
    expect(option).to_contain_text("Charge: Khalifa Haftar, Murder as a crime against humanity")
    screenshot(page, "item-picker")
    # Keyboard: down to the element, Enter chooses it (aria-activedescendant follows).
    options = listbox.get_by_role("option")
    index = next(i for i in range(options.count()) if "Superior-subordinate" in options.nth(i).inner_text())
    for _ in range(index + 1):
        picker.press("ArrowDown")
    expect(picker).to_have_attribute("aria-activedescendant", options.nth(index).get_attribute("id") or "")
    expect(options.nth(index)).to_have_attribute("aria-selected", "true")
    picker.press("Enter")
    expect(picker).to_have_attribute("aria-expanded", "false")
    expect(page.locator(".picker-chosen")).to_contain_text("Superior-subordinate relationship")
    page.get_by_label("Stance", exact=True).select_option(label="Supports")
    page.get_by_label("Note", exact=True).fill("Kaniyat detentions reported under LAAF command.")
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Link saved.")
    link_row = page.locator("tr.stance-supports").filter(has_text="Superior-subordinate relationship")
    expect(link_row).to_have_count(1)
    expect(link_row).to_contain_text("element of a charge")
    expect(link_row).not_to_contain_text("charge_element")
    expect(link_row).not_to_contain_text(GAP_ELEMENT)
    trail = page.locator("#custody-trail")
    expect(trail).not_to_contain_text("charge_element")
    expect(trail.locator('td[data-action="linked"]').first).to_have_text("linked")

    # The charge's matrix: "link evidence" in the row, a picker of the case's items found by words.
    case_nav.get_by_role("link", name="Charges", exact=True).click()
    page.locator("#charges").get_by_role("link", name="Khalifa Haftar", exact=True).click()
    expect(page).to_have_url(CHARGE_URL)
    gap_row = page.locator(f'#matrix tr[id="element-{GAP_ELEMENT}"]')
    expect(gap_row).to_have_class("status-supported")
    row = page.locator(f'#matrix tr[id="element-{OTHER_ELEMENT}"]')
    row.get_by_text("Link evidence", exact=True).click()
    expect(row.locator("form.picker-search")).to_be_hidden()  # the picker's script has run
    row_picker = row.get_by_role("combobox", name="Evidence item")
    row_picker.fill("marked grave")
    row_option = row.get_by_role("option").filter(has_text=PHOTO)
    expect(row_option).to_have_count(1)
    expect(row_option).to_contain_text("Marked grave, agricultural land")
    screenshot(page, "matrix-picker")
    row_option.click()
    row.get_by_label("Stance", exact=True).select_option(label="Supports")
    row.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"{PHOTO} linked to the element.")
    expect(row.locator("td").nth(1).get_by_role("link", name=PHOTO, exact=True)).to_be_visible()

    # The command chart: al-Kani's box is a link to his page.
    case_nav.get_by_role("link", name="Command chart", exact=True).click()
    node = page.locator("svg.command-chart g.node").filter(has_text="Mohamed al-Kani").locator("a.node-link")
    expect(node).to_have_count(1)
    screenshot(page, "chart")
    node.click()
    expect(page).to_have_url(ACTOR_URL)
    expect(page.get_by_role("heading", name="Mohamed al-Kani", level=1)).to_be_visible()

    # Search: "alkani" finds al-Kani, and says why, the found words marked.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Words", exact=True).fill("alkani")
    page.get_by_role("button", name="Search", exact=True).click()
    result = page.get_by_role("link", name="Mohamed al-Kani", exact=True)
    expect(result).to_be_visible()
    expect(result.locator("mark")).to_have_text("al-Kani")
    expect(page.locator("p.snippet mark").first).to_be_visible()
    expect(page.locator("p.snippet mark").filter(has_text="الكاني").first).to_be_visible()
    screenshot(page, "search")
    assert browser_errors == []
