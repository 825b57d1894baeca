"""Issue 19: the Arabic command chart and timeline, laid out right to left and measured in a real browser.

Chromium draws the demo case's chart inside the Arabic page (where the page's right-to-left direction is
inherited) and the timeline as its own SVG document. The drawn boxes are read back: the title lies wholly inside
the picture and ends at its right edge, no legend entry overlaps an actor's box, an edge label or another entry,
every line of an actor's name stays inside its box, and every text is inside the picture. Screenshots are kept in
test-artifacts/e2e/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from support import REPO, Account, load_demo

ARTIFACTS = REPO / "test-artifacts" / "e2e"

Box = dict[str, float]

MEASURE = """(svg) => {
  const box = (el) => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top,
    bottom: r.bottom, text: el.textContent}; };
  const all = (sel) => Array.from(svg.querySelectorAll(sel)).map(box);
  return {
    svg: box(svg),
    title: box(svg.querySelector('.chart-title')),
    legend: all('.legend-text'),
    legendLines: all('.legend-line'),
    nodes: Array.from(svg.querySelectorAll('.node')).map((g) => ({
      box: box(g.querySelector('.node-box')),
      lines: Array.from(g.querySelectorAll('.node-line, .node-label:not(:has(tspan)), .node-kind')).map(box),
    })),
    edgeLabels: all('.edge-label rect'),
    texts: all('text'),
  };
}"""


def overlaps(a: Box, b: Box, slack: float = 0.5) -> bool:
    return (
        a["left"] < b["right"] - slack
        and b["left"] < a["right"] - slack
        and a["top"] < b["bottom"] - slack
        and b["top"] < a["bottom"] - slack
    )


def inside(inner: Box, outer: Box, slack: float = 1.0) -> bool:
    return (
        inner["left"] >= outer["left"] - slack
        and inner["right"] <= outer["right"] + slack
        and inner["top"] >= outer["top"] - slack
        and inner["bottom"] <= outer["bottom"] + slack
    )


def to_arabic(page: Page, account: Account, log_in: Callable[[Page, Account], None]) -> None:
    log_in(page, account)
    page.get_by_role("button", name="العربية", exact=True).click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")


def check_common(m: dict[str, Any]) -> None:
    svg = m["svg"]
    title = m["title"]
    assert inside(title, svg), ("title clipped", title, svg)
    assert svg["right"] - title["right"] < 40, ("the title is not at the right edge", title, svg)
    assert title["right"] - title["left"] > 100, ("the title is cut short", title)
    for text in m["texts"]:
        if text["right"] > text["left"]:
            assert inside(text, svg, slack=2), ("a text outside the picture", text, svg)


def test_arabic_command_chart_is_laid_out_right_to_left(
    app: Flask,
    page: Page,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
    screenshot: Callable[..., Path],
) -> None:
    case_id = load_demo(app)
    member = make_user("investigator")
    add_member(case_id, member, "investigator")
    to_arabic(page, member, log_in)
    page.goto(f"/cases/{case_id}/chart")
    chart = page.locator("svg.command-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".chart-title")).to_have_text("مخطط القيادة للقضية TRH")
    m = chart.evaluate(MEASURE)
    check_common(m)
    obstacles = [n["box"] for n in m["nodes"]] + m["edgeLabels"]
    legend = m["legend"] + m["legendLines"]
    assert len(m["legend"]) == 5 and all(t["text"] for t in m["legend"])
    for entry in legend:
        assert inside(entry, m["svg"]), ("legend outside the picture", entry)
        for other in obstacles:
            assert not overlaps(entry, other), ("the legend overlaps the chart", entry, other)
    for i, a in enumerate(m["legend"]):
        for b in [*m["legend"][i + 1 :], *m["legendLines"]]:
            assert not overlaps(a, b), ("legend entries overlap", a, b)
    # Right to left: the legend starts at the right edge, its first entry right of the second.
    assert m["svg"]["right"] - max(e["right"] for e in legend) < 40
    first, second = m["legend"][0], m["legend"][1]
    if abs(first["top"] - second["top"]) < 2:
        assert first["left"] > second["right"] - 1, (first, second)
    for node in m["nodes"]:
        for line in node["lines"]:
            assert inside(line, node["box"]), ("a name runs out of its box", line, node["box"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chart.screenshot(path=str(ARTIFACTS / "arabic-command-chart.png"))
    screenshot(page, "chart-page")


def test_arabic_timeline_is_laid_out_right_to_left(
    app: Flask,
    page: Page,
    make_user: Callable[..., Account],
    add_member: Callable[..., None],
    log_in: Callable[[Page, Account], None],
) -> None:
    case_id = load_demo(app)
    member = make_user("investigator")
    add_member(case_id, member, "investigator")
    to_arabic(page, member, log_in)
    page.goto(f"/cases/{case_id}/timeline.svg")
    svg = page.locator("svg.timeline")
    expect(svg).to_be_visible()
    m = svg.evaluate(MEASURE)
    check_common(m)
    labels = svg.locator(".event-label").evaluate_all(
        "(els) => els.map((e) => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right}; })"
    )
    bars = svg.locator(".event-bar, .event-point").evaluate_all(
        "(els) => els.map((e) => { const r = e.getBoundingClientRect(); return {left: r.left, right: r.right}; })"
    )
    assert labels and bars
    # Labels on the right, time running leftwards from them.
    assert min(label["left"] for label in labels) > max(bar["right"] for bar in bars) - 1
    years = svg.locator(".year-label").all_text_contents()
    xs = svg.locator(".year-label").evaluate_all("(els) => els.map((e) => e.getBoundingClientRect().left)")
    assert [int(y) for y in years] == sorted(int(y) for y in years)
    assert xs == sorted(xs, reverse=True), "years do not run from right to left"
    assert "نحو" in (svg.text_content() or "")  # "approx." in Arabic
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    svg.screenshot(path=str(ARTIFACTS / "arabic-timeline.png"))  # a page screenshot of an SVG document never ends
