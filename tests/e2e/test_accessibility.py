"""An automated accessibility check of the main pages: axe-core (Deque's engine, vendored under tests/e2e/vendor)
run in Chromium on the demo case, in English and in Arabic, for WCAG 2.1 A and AA rules. A serious or critical
violation fails the test with the rule, the page and the elements; minor and moderate ones are printed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page

from support import Account, load_demo

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
FAILING = {"serious", "critical"}


def main_pages(app: Flask, case_id: uuid.UUID) -> dict[str, str]:
    from sqlalchemy import select

    from casefile.actors.models import Actor
    from casefile.cases.models import Incident
    from casefile.db import session_scope
    from casefile.evidence.models import EvidenceItem
    from casefile.legal.models import Charge
    from casefile.witnesses.models import Witness

    with app.app_context(), session_scope() as s:
        item = s.scalar(select(EvidenceItem.id).where(EvidenceItem.case_id == case_id).order_by(EvidenceItem.number))
        witness = s.scalar(select(Witness.id).where(Witness.case_id == case_id).limit(1))
        charge = s.scalar(select(Charge.id).where(Charge.case_id == case_id).limit(1))
        incident = s.scalar(select(Incident.id).where(Incident.case_id == case_id).limit(1))
        actor = s.scalar(select(Actor.id).where(Actor.case_id == case_id).limit(1))
    return {
        "cases": "/",
        "case": f"/cases/{case_id}",
        "evidence": f"/cases/{case_id}/evidence",
        "map": f"/cases/{case_id}/map",
        "upload": f"/cases/{case_id}/evidence/upload",
        "incident": f"/incidents/{incident}",
        "incident form": f"/cases/{case_id}/incidents/new",
        "item": f"/evidence/{item}",
        "item edit": f"/evidence/{item}/edit",
        "derivative": f"/evidence/{item}/derivative",
        "custody trail": f"/evidence/{item}/custody",
        "witnesses": f"/cases/{case_id}/witnesses",
        "witness": f"/witnesses/{witness}",
        "actors": f"/cases/{case_id}/actors",
        "actor": f"/actors/{actor}",
        "relation form": f"/cases/{case_id}/relations/new",
        "involvement form": f"/cases/{case_id}/involvements/new",
        "new witness": f"/cases/{case_id}/witnesses/new",
        "new charge": f"/cases/{case_id}/charges/new",
        "chart": f"/cases/{case_id}/chart",
        "charges": f"/cases/{case_id}/charges",
        "activity": f"/cases/{case_id}/activity",
        "charge": f"/charges/{charge}",
        "dossiers": f"/cases/{case_id}/dossiers",
        "captures": f"/cases/{case_id}/captures",
        "jobs": f"/cases/{case_id}/jobs",
        "case edit": f"/cases/{case_id}/edit",
        "imports": f"/cases/{case_id}/imports",
        "field intake": f"/cases/{case_id}/field",
        "members": f"/cases/{case_id}/members",
        "search": "/search?q=Tarhuna",
        "custody": "/custody",
        "account": "/account",
    }


def violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE)  # evaluated over the DevTools protocol: the page's CSP (no inline script) is not involved
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations"
    )
    return list(result)


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_main_pages_have_no_serious_accessibility_violation(
    app: Flask,
    page: Page,
    locale: str,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
) -> None:
    case_id = load_demo(app)
    investigator = make_user("investigator")
    add_member(case_id, investigator, "investigator", identities=True)
    log_in(page, investigator)
    if locale == "ar":
        page.get_by_role("button", name="العربية").click()
        page.wait_for_load_state()
    problems, minor = [], []
    for name, path in main_pages(app, case_id).items():
        response = page.goto(path)
        assert response is not None and response.ok, f"{name}: {path} answered {response and response.status}"
        for v in violations(page):
            nodes = "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
            line = f"[{locale}] {name} ({path}): {v['id']} ({v['impact']}): {v['help']} — {nodes}"
            (problems if v["impact"] in FAILING else minor).append(line)
    if minor:
        print("Minor and moderate accessibility findings:\n" + "\n".join(minor))
    assert not problems, "Serious or critical accessibility violations:\n" + "\n".join(problems)
