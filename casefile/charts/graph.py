"""The command chart's input, and its first stage: the input normalised into a :class:`Graph`.

Nodes are deduplicated by id and ordered by id, edges whose ends are not among the nodes are dropped and the rest
ordered by their content, so that the output is a pure function of the input whatever order it was passed in.
Every piece of user text is cleaned here, once (:func:`~casefile.charts.text.clean_label`), and shortened to what
will be drawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsIndex, SupportsInt

from casefile.charts.text import clean_label, text_width, truncate, wrap
from casefile.charts.words import ENGLISH, ChartWords


@dataclass(frozen=True)
class ChartNode:
    id: str
    label: str
    kind: str  # person / organisation / armed_group / unit / state_body
    # Where the node leads (the actor's page): a same-origin path, "/actors/…"; anything else is not drawn as a link.
    href: str = ""


@dataclass(frozen=True)
class ChartEdge:
    source: str
    target: str
    relation: str
    label: str  # shown on the edge, e.g. "commands · 2019–2020"
    supporting: int
    contradicting: int
    # commands / superior_of / subordinate_unit_of / member_of: used for layering, the superior is drawn above.
    hierarchical: bool


# kind -> (shown as, fill, stroke)
KINDS: dict[str, tuple[str, str, str]] = {
    "person": ("person", "#ebf4ff", "#2c5282"),
    "organisation": ("organisation", "#f0fff4", "#276749"),
    "armed_group": ("armed group", "#fff5f5", "#9b2c2c"),
    "unit": ("unit", "#fffaf0", "#975a16"),
    "state_body": ("state body", "#faf5ff", "#553c9a"),
}
OTHER_KIND = ("", "#ffffff", "#4a5568")

NODE_MIN_W = 112.0
NODE_MAX_W = 220.0
# Names are wrapped onto lines (never cut inside the box, up to NAME_LINES); every box of a chart is as tall as the
# one with most lines, so layers stay level.
NAME_LINES = 3
LINE_H = 16.0
NODE_H_ONE_LINE = 50.0
_SAFE_HREF = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~/%?=&]*")


@dataclass(frozen=True)
class EdgeText:
    """An edge's label as drawn: the relation (shortened), the evidence counts, the full relation text, and the
    width of the label box (needed before layout, to make room for it)."""

    shown: str
    evidence: str
    full: str
    width: float


@dataclass(frozen=True)
class Graph:
    """Nodes are numbered 0..n-1 in id order; ``ends[k]`` are the node numbers of ``edges[k]``'s source and target."""

    title: str
    ids: list[str]
    nodes: list[ChartNode]
    edges: list[ChartEdge]
    ends: list[tuple[int, int]]
    names: list[str]  # cleaned labels, in full
    kinds: list[str]  # normalised kind codes
    kind_text: list[str]  # the kind as shown under the name
    shown: list[str]  # the names as drawn, on one line (the lines joined)
    widths: list[float]  # node box widths
    edge_text: list[EdgeText]
    lines: list[list[str]] | None = None  # the names as drawn, line by line
    hrefs: list[str] | None = None  # where each node leads ("" for none)
    node_h: float = NODE_H_ONE_LINE  # the height of every node box

    def name_lines(self, v: int) -> list[str]:
        return self.lines[v] if self.lines is not None else [self.shown[v]]

    def href(self, v: int) -> str:
        return self.hrefs[v] if self.hrefs is not None else ""

    @property
    def n(self) -> int:
        return len(self.ids)


def count(value: object) -> int:
    """An evidence count as given by the caller; anything that is not a non-negative integer counts as 0."""
    if not isinstance(value, str | bytes | SupportsInt | SupportsIndex):
        return 0  # None, or nothing int() takes
    try:
        return max(0, int(value))
    except ValueError:
        return 0


def edge_status(edge: ChartEdge) -> str:
    """``unsupported`` (no supporting evidence), ``contested`` (some contradicting) or ``supported``."""
    return "unsupported" if count(edge.supporting) == 0 else "contested" if count(edge.contradicting) else "supported"


def _edge_sort_key(edge: ChartEdge) -> tuple[str, str, str, str, int, int, bool]:
    return (
        str(edge.source),
        str(edge.target),
        str(edge.relation),
        str(edge.label),
        count(edge.supporting),
        count(edge.contradicting),
        bool(edge.hierarchical),
    )


def _edge_text(edge: ChartEdge, words: ChartWords = ENGLISH) -> EdgeText:
    full = clean_label(edge.label) or clean_label(str(edge.relation).replace("_", " ")) or words.related_to
    line1 = truncate(full, 190, 11)
    line2 = f"{count(edge.supporting)}✓ / {count(edge.contradicting)}✗"
    return EdgeText(line1, line2, full, max(text_width(line1, 11), text_width(line2, 11)) + 10)


def prepare_graph(
    nodes: Sequence[ChartNode], edges: Sequence[ChartEdge], title: str, words: ChartWords = ENGLISH
) -> Graph | None:
    """The input, deduplicated, ordered and cleaned; None when there is no node to draw."""
    node_by_id: dict[str, ChartNode] = {}
    for node in sorted(nodes, key=lambda nd: (str(nd.id), str(nd.label), str(nd.kind))):
        node_by_id.setdefault(str(node.id), node)
    if not node_by_id:
        return None
    ids = sorted(node_by_id)
    index = {nid: i for i, nid in enumerate(ids)}
    kept = sorted(
        (e for e in edges if str(e.source) in index and str(e.target) in index),
        key=_edge_sort_key,
    )
    chosen = [node_by_id[nid] for nid in ids]
    names = [clean_label(node.label) or clean_label(nid) or "?" for nid, node in zip(ids, chosen, strict=True)]
    kinds = [str(getattr(node.kind, "value", node.kind)).strip().lower() for node in chosen]
    kind_text = [
        clean_label(words.kinds.get(k, ""))
        or KINDS.get(k, OTHER_KIND)[0]
        or truncate(clean_label(node.kind).replace("_", " "), NODE_MAX_W - 20, 10)
        for node, k in zip(chosen, kinds, strict=True)
    ]
    lines = [wrap(name, NODE_MAX_W - 24, 13, bold=True, max_lines=NAME_LINES) for name in names]
    shown = [" ".join(name_lines) for name_lines in lines]
    widths = [
        min(
            NODE_MAX_W,
            max(NODE_MIN_W, *(text_width(line, 13, bold=True) + 24 for line in name_lines), text_width(k, 10) + 24),
        )
        for name_lines, k in zip(lines, kind_text, strict=True)
    ]
    hrefs = [safe_href(node.href) for node in chosen]
    return Graph(
        title=title,
        ids=ids,
        nodes=chosen,
        edges=kept,
        ends=[(index[str(e.source)], index[str(e.target)]) for e in kept],
        names=names,
        kinds=kinds,
        kind_text=kind_text,
        shown=shown,
        widths=widths,
        edge_text=[_edge_text(e, words) for e in kept],
        lines=lines,
        hrefs=hrefs,
        node_h=NODE_H_ONE_LINE + LINE_H * (max(len(name_lines) for name_lines in lines) - 1),
    )


def safe_href(value: object) -> str:
    """A node's link if it is a same-origin path (no scheme, no other host, nothing to escape out of), else ""."""
    text = str(value or "")
    return text if len(text) <= 500 and _SAFE_HREF.fullmatch(text) else ""
