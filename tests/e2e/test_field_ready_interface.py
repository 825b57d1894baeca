"""Issue #19's points, in English and Arabic, on a laptop (1366x900) and on a phone (390x844), on the demo case:
the map with its markers; the item page's verification, searchable "Evidence of" picker and text of a file; the
matrix's "Link evidence"; the chart's nodes as links; search's marked excerpt for `alkani`; the members page of a
lead with its picker; a statement typed in on the upload page. Each page fits the screen (no sideways scroll), and
a screenshot of each is kept in test-artifacts/e2e/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select, update
from test_phone_layout import log_in, overflow

from casefile.auth.models import Membership
from casefile.db import session_scope
from casefile.evidence.models import EvidenceItem
from casefile.legal.models import Charge

from support import Account, load_demo

SIZES = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def context_for(browser: Browser, live_server: str) -> Iterator[Callable[[str, str], BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(locale: str, size: str) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server, viewport=SIZES[size], locale=locale, has_touch=size == "phone"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", ["laptop", "phone"])
@pytest.mark.parametrize("locale", ["en-US", "ar"])
def test_the_field_ready_interface(
    app: Flask,
    context_for: Callable[[str, str], BrowserContext],
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    screenshot: Callable[..., Path],
    locale: str,
    size: str,
) -> None:
    case_id = load_demo(app)
    lead = make_user("investigator")
    add_member(case_id, lead, "investigator", identities=True)
    with app.app_context(), session_scope() as s:
        s.execute(update(Membership).where(Membership.user_id == lead.id).values(is_lead=True))
        item = s.scalar(
            select(EvidenceItem.id).where(EvidenceItem.case_id == case_id, EvidenceItem.media_type == "text/plain")
        ) or s.scalar(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id).order_by(EvidenceItem.number))
        charge = s.scalar(select(Charge.id).where(Charge.case_id == case_id).limit(1))
    page: Page = context_for(locale, size).new_page()
    log_in(page, lead)
    arabic = locale == "ar"
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if arabic else "ltr")

    def visit(name: str, path: str) -> None:
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
        assert overflow(page) == 0, (name, overflow(page))
        screenshot(page, name)

    visit("map", f"/cases/{case_id}/map")
    expect(page.locator(".leaflet-container")).to_be_visible()
    expect(page.locator(".leaflet-marker-icon, .marker-cluster").first).to_be_visible()

    visit("item", f"/evidence/{item}")
    expect(page.locator("#verification-status")).to_be_visible()
    expect(page.locator("[role=combobox]").first).to_be_attached()

    visit("matrix", f"/charges/{charge}")
    expect(page.locator("details.link-evidence").first).to_be_attached()

    visit("chart", f"/cases/{case_id}/chart")
    expect(page.locator("svg a[href^='/actors/']").first).to_be_attached()

    visit("search", "/search?q=alkani")
    expect(page.locator("mark").first).to_be_visible()

    visit("members", f"/cases/{case_id}/members")
    expect(page.locator("datalist#people option").first).to_be_attached()
    expect(page.locator("#members")).to_contain_text("مسؤول" if arabic else "lead")

    visit("upload", f"/cases/{case_id}/evidence/upload")
    expect(page.locator("textarea[name=statement_text]")).to_be_attached()

    visit("work", f"/cases/{case_id}/work")
    visit("my work", "/work")
