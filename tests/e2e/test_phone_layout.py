"""On a phone (390 x 844, in English and in Arabic): no page scrolls sideways, the header's links fold behind a
Menu button, and what a thumb presses is at least 44 px tall."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, expect

from support import Account, load_demo

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, live_server: str) -> Iterator[Callable[[str], BrowserContext]]:
    contexts: list[BrowserContext] = []

    def factory(locale: str) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server, viewport=PHONE, locale=locale, has_touch=True, device_scale_factor=2
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()


def demo_pages(app: Flask, case_id: uuid.UUID) -> dict[str, str]:
    from sqlalchemy import select

    from casefile.db import session_scope
    from casefile.evidence.models import EvidenceItem
    from casefile.witnesses.models import Witness

    with app.app_context(), session_scope() as s:
        item = s.scalar(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id).limit(1))
        witness = s.scalar(select(Witness.id).where(Witness.case_id == case_id).limit(1))
    return {
        "cases": "/",
        "case": f"/cases/{case_id}",
        "evidence": f"/cases/{case_id}/evidence",
        "map": f"/cases/{case_id}/map",
        "upload": f"/cases/{case_id}/evidence/upload",
        "item": f"/evidence/{item}",
        "witness": f"/witnesses/{witness}",
        "search": "/search?q=Tarhuna",
        "actors": f"/cases/{case_id}/actors",
        "imports": f"/cases/{case_id}/imports",
        "custody": "/custody",
        "jobs": f"/cases/{case_id}/jobs",
    }


def log_in(page: Page, account: Account) -> None:
    page.goto("/login")
    page.locator("input[name=email]").fill(account.email)
    page.locator("input[name=password]").fill(account.password)
    page.locator("button[type=submit]").last.click()
    page.wait_for_load_state()


def overflow(page: Page) -> Any:
    """How far the page is wider than the screen (0 when it fits), and the widest element's description."""
    return page.evaluate(
        """() => {
            const extra = document.documentElement.scrollWidth - window.innerWidth;
            if (extra <= 0) return 0;
            // The outermost elements sticking out (not those inside a box that scrolls them, or inside another).
            const out = [];
            for (const el of document.querySelectorAll('body *')) {
                const r = el.getBoundingClientRect();
                if (r.right <= window.innerWidth + 1 && r.left >= -1) continue;
                let inside = false;
                for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                    const o = getComputedStyle(p).overflowX;
                    const pr = p.getBoundingClientRect();
                    const scrolls = o === 'auto' || o === 'scroll' || o === 'hidden';
                    if (scrolls || pr.right > window.innerWidth + 1 || pr.left < -1) {
                        inside = true;
                        break;
                    }
                }
                if (!inside) out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
            }
            return {extra, culprits: out.slice(0, 5)};
        }"""
    )


@pytest.mark.parametrize("locale", ["en-US", "ar"])
def test_every_page_fits_a_phone(
    app: Flask,
    phone: Callable[[str], BrowserContext],
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    locale: str,
) -> None:
    case_id = load_demo(app)
    investigator = make_user("investigator")
    add_member(case_id, investigator, "investigator", identities=True)
    page = phone(locale).new_page()
    page.goto("/login")
    assert overflow(page) == 0, "login"
    log_in(page, investigator)
    # The browser's language chooses the interface's (Accept-Language).
    expect(page.locator("html")).to_have_attribute("dir", "rtl" if locale == "ar" else "ltr")
    for name, path in demo_pages(app, case_id).items():
        page.goto(path)
        assert page.locator("h1").first.is_visible(), name
        assert overflow(page) == 0, (name, overflow(page))

    # The header folds behind Menu; opening it shows the links.
    page.goto(f"/cases/{case_id}/evidence/upload")
    toggle = page.locator(".menu-toggle")
    expect(toggle).to_be_visible()
    main_nav = page.locator("#mainnav")
    expect(main_nav).to_be_hidden()
    toggle.click()
    expect(main_nav).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    # Thumb-sized controls.
    for control in (page.locator("#upload-form button[type=submit]"), toggle, main_nav.locator("a").first):
        box = control.bounding_box()
        assert box is not None and box["height"] >= 44, box
