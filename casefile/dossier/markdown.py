"""The Markdown a legal team writes in the dossier wizard (cover letter, narrative summary), as safe HTML.

CommonMark through markdown-it-py with raw HTML off, then nh3 (ammonia) keeps an allow-list of tags and no
attributes but link targets (http, https, mailto): the text is the user's, so nothing in it may script, style or
fetch anything, in the preview page or in the PDF (whose renderer fetches nothing anyway; the PDF prints each link's
address beside it). No Flask or database: the PDF renderer uses it too.
"""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = frozenset(
    {
        "p",
        "br",
        "strong",
        "em",
        "ul",
        "ol",
        "li",
        "blockquote",
        "h3",
        "h4",
        "h5",
        "h6",
        "code",
        "pre",
        "hr",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "a",
    }
)


@functools.cache
def _parser() -> MarkdownIt:
    # "js-default": CommonMark with raw HTML disabled and links checked (no javascript: URLs); tables on.
    return MarkdownIt("js-default").enable("table")


def render_markdown(text: str) -> Markup:
    """Safe HTML for ``text``; headings start at level 3 (the dossier's sections are level 2)."""
    if not text or not text.strip():
        return Markup("")
    html = _parser().render(text)
    for level in (4, 3, 2, 1):  # a "# Title" in the letter must not compete with the dossier's own headings
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(f"</h{level}>", f"</h{level + 2}>")
    cleaned = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - cleaned to an allow-list by nh3 just above  # nosec B704
