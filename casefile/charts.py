"""Server-side SVG charts: the command chart of a case's actors and a timeline of events.

Both renderers return a complete, well-formed SVG document as a string. The same markup is shown inline in HTML
pages, served as a standalone ``image/svg+xml`` file and embedded in PDFs, so it is deliberately plain:

* no ``<script>``, no event attributes, no ``style`` attributes or ``<style>`` elements (the pages' CSP is
  ``style-src 'self'``), no external references: only presentation attributes (``fill``, ``stroke``,
  ``stroke-dasharray``, ``font-size``, ``text-anchor``…), class names and local ``url(#…)`` marker references;
* every piece of user text goes through :func:`clean_label` (control characters and bidi embedding/override/isolate
  characters removed, whitespace collapsed) and is XML-escaped, quotes included, so a label can never become markup
  or reorder the text around it. Arabic and other scripts are kept as they are;
* ``<title>`` and ``<desc>`` describe the chart for screen readers (the desc lists every relationship or event);
* the output is a pure function of the input: items are ordered by id, not by the order they were passed in.

Standard library only, so PDF generation and offline tools can use it without Flask.
"""

from __future__ import annotations

import hashlib
import heapq
import html
import itertools
import unicodedata
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

__all__ = [
    "ChartEdge",
    "ChartNode",
    "TimelineEvent",
    "clean_label",
    "render_command_chart",
    "render_timeline",
]


@dataclass(frozen=True)
class ChartNode:
    id: str
    label: str
    kind: str  # person / organisation / armed_group / unit / state_body


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


@dataclass(frozen=True)
class TimelineEvent:
    id: str
    label: str
    start: date | None
    end: date | None
    precision: str  # day / month / year / approximate


# --------------------------------------------------------------------------------------------------------------
# Text: cleaning, escaping, width estimates
# --------------------------------------------------------------------------------------------------------------

# Bidi embeddings/overrides (LRE RLE PDF LRO RLO), isolates (LRI RLI FSI PDI) and the invisible marks (LRM RLM ALM).
# Renderers apply the Unicode bidi algorithm to Arabic or Hebrew on their own; these only serve to disguise text.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C))
_LINE_BREAKS = frozenset("\u2028\u2029\u0085")

FONT_FAMILY = "DejaVu Sans, Noto Sans, Noto Naskh Arabic, Arial, sans-serif"


def clean_label(value: object) -> str:
    """User text made safe to draw: no control, bidi-control or non-XML characters, whitespace collapsed.

    The result still needs escaping (:func:`_esc`) before it goes into markup.
    """
    if value is None:
        return ""
    out: list[str] = []
    for ch in str(value):
        cp = ord(ch)
        if ch in _BIDI_CONTROLS or ch == "\ufeff":
            continue
        if ch in _LINE_BREAKS or ch in "\t\n\r\v\f":
            out.append(" ")
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs"):  # C0/C1 controls, lone surrogates
            continue
        if 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE:  # noncharacters (U+FFFE/U+FFFF are not XML)
            continue
        out.append(ch)
    return " ".join("".join(out).split())


def _esc(text: str) -> str:
    """Escape for XML text and (double- or single-quoted) attribute values."""
    return html.escape(text, quote=True)


def _char_em(ch: str) -> float:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "iljI.,;:'|!()[]{} ·":
        return 0.36
    if ch.isupper() or ch in "mwMW@%&—…✓✗":
        return 0.78
    return 0.6


def _text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of the drawn width (DejaVu Sans is wide; no font metrics on the server)."""
    return sum(_char_em(ch) for ch in text) * size * (1.08 if bold else 1.0)


def _truncate(text: str, max_width: float, size: float, *, bold: bool = False) -> str:
    """Shorten to fit ``max_width`` with a trailing ellipsis; the caller keeps the full text in a <title>."""
    if _text_width(text, size, bold=bold) <= max_width:
        return text
    budget = max_width - _text_width("…", size, bold=bold)
    scale = size * (1.08 if bold else 1.0)
    used = 0.0
    cut = 0
    for i, ch in enumerate(text):
        used += _char_em(ch) * scale
        if used > budget:
            break
        cut = i + 1
    head = text[:cut].rstrip()
    while head and unicodedata.category(head[-1]) in ("Mn", "Me", "Cf"):  # don't end on a dangling mark or ZWJ
        head = head[:-1]
    return head.rstrip() + "…"


def _is_rtl(text: str) -> bool:
    """Whether the first strong character is right-to-left (Arabic, Hebrew…)."""
    for ch in text:
        bidi = unicodedata.bidirectional(ch)
        if bidi in ("R", "AL"):
            return True
        if bidi == "L":
            return False
    return False


def _n(value: float) -> str:
    """A coordinate, rounded to 0.1 so that output is stable and compact."""
    rounded = round(value, 1)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def _prefix(kind: str, payload: object) -> str:
    """An id prefix that is the same for the same input and differs between charts on one page."""
    return f"{kind}-" + hashlib.sha256(repr(payload).encode("utf-8", "surrogatepass")).hexdigest()[:10]


def _svg_open(width: float, height: float, prefix: str, css_class: str, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="casefile-chart {css_class}" '
        f'width="{_n(width)}" height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
        f'role="img" aria-labelledby="{prefix}-title {prefix}-desc" font-family="{FONT_FAMILY}">',
        f'<title id="{prefix}-title">{_esc(title)}</title>',
        f'<desc id="{prefix}-desc">{_esc(desc)}</desc>',
    ]


def _empty_svg(title: str, message: str, css_class: str) -> str:
    prefix = _prefix(css_class, (title, message))
    width = max(420.0, _text_width(title, 16, bold=True) + 48)
    parts = _svg_open(width, 110, prefix, css_class, title, message)
    parts.append(f'<rect class="chart-background" x="0" y="0" width="{_n(width)}" height="110" fill="#ffffff"/>')
    parts.append(
        f'<text class="chart-title" x="24" y="32" font-size="16" font-weight="bold" fill="#1a202c">{_esc(title)}</text>'
    )
    parts.append(f'<text class="no-data" x="24" y="72" font-size="13" fill="#4a5568">{_esc(message)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Command chart
# --------------------------------------------------------------------------------------------------------------

# Relations whose TARGET is the superior; for every other hierarchical relation the source is.
_TARGET_IS_SUPERIOR = frozenset({"subordinate_unit_of", "member_of", "subordinate_of", "reports_to"})

# kind -> (shown as, fill, stroke)
_KINDS: dict[str, tuple[str, str, str]] = {
    "person": ("person", "#ebf4ff", "#2c5282"),
    "organisation": ("organisation", "#f0fff4", "#276749"),
    "armed_group": ("armed group", "#fff5f5", "#9b2c2c"),
    "unit": ("unit", "#fffaf0", "#975a16"),
    "state_body": ("state body", "#faf5ff", "#553c9a"),
}
_OTHER_KIND = ("", "#ffffff", "#4a5568")

# Edge colours by evidence status.
_EDGE_COLOURS = {"supported": "#4a5568", "contested": "#b7791f", "unsupported": "#c53030"}
_UNSUPPORTED_DASH = "6 4"

NODE_H = 50.0
NODE_MIN_W = 112.0
NODE_MAX_W = 220.0
LAYER_GAP = 104.0  # between the bottom of one layer and the top of the next: room for edge labels
NODE_GAP = 40.0
MARGIN = 24.0
TITLE_H = 44.0
ISOLATED_CAPTION = "No recorded relationships"


@dataclass
class _Segment:
    """A piece of an edge path: a straight line (2 points) or a cubic Bézier (4 points)."""

    points: list[tuple[float, float]]
    in_gap: bool  # between layers (a good place for a label) rather than alongside nodes

    def reversed(self) -> _Segment:
        return _Segment(self.points[::-1], self.in_gap)

    def at(self, t: float) -> tuple[float, float]:
        if len(self.points) == 2:
            (x0, y0), (x1, y1) = self.points
            return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def _path_d(segments: list[_Segment]) -> str:
    start = segments[0].points[0]
    parts = [f"M{_n(start[0])} {_n(start[1])}"]
    for seg in segments:
        if len(seg.points) == 2:
            x, y = seg.points[1]
            parts.append(f"L{_n(x)} {_n(y)}")
        else:
            (x1, y1), (x2, y2), (x3, y3) = seg.points[1:]
            parts.append(f"C{_n(x1)} {_n(y1)} {_n(x2)} {_n(y2)} {_n(x3)} {_n(y3)}")
    return " ".join(parts)


def _edge_sort_key(edge: ChartEdge) -> tuple[str, str, str, str, int, int, bool]:
    return (
        str(edge.source),
        str(edge.target),
        str(edge.relation),
        str(edge.label),
        _count(edge.supporting),
        _count(edge.contradicting),
        bool(edge.hierarchical),
    )


def _count(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _superior_first(edge: ChartEdge, a: int, b: int) -> tuple[int, int]:
    if str(edge.relation).strip().lower() in _TARGET_IS_SUPERIOR:
        return b, a
    return a, b


def _assign_layers(n: int, hierarchy: list[tuple[int, int]], others: list[tuple[int, int]]) -> list[int]:
    """Longest-path layering of the superior->subordinate graph, superiors in layer 0.

    Cycles (A commands B, B commands A) are broken by ignoring DFS back edges for layering only, so this always
    terminates; the edges themselves are still drawn. Nodes with no hierarchical relation join the layer of a
    node they are linked to, so that their link is drawn level; isolated nodes go to the top layer.
    """
    succ = _succ_lists(n, hierarchy)
    state = [0] * n  # 0 unseen, 1 on the DFS stack, 2 finished
    dag: list[list[int]] = [[] for _ in range(n)]
    for root in range(n):
        if state[root]:
            continue
        state[root] = 1
        stack = [(root, 0)]
        while stack:  # each step advances an index or pops: terminates on any graph
            v, i = stack[-1]
            if i < len(succ[v]):
                stack[-1] = (v, i + 1)
                w = succ[v][i]
                if state[w] == 1:
                    continue  # back edge: closes a cycle, not used for layering
                dag[v].append(w)
                if state[w] == 0:
                    state[w] = 1
                    stack.append((w, 0))
            else:
                state[v] = 2
                stack.pop()

    preds: list[list[int]] = [[] for _ in range(n)]
    indegree = [0] * n
    for v in range(n):
        for w in dag[v]:
            preds[w].append(v)
            indegree[w] += 1
    ready = [v for v in range(n) if indegree[v] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        v = heapq.heappop(ready)
        order.append(v)
        for w in dag[v]:
            indegree[w] -= 1
            if indegree[w] == 0:
                heapq.heappush(ready, w)

    layer = [0] * n
    for v in order:
        layer[v] = max((layer[u] + 1 for u in preds[v]), default=0)
    for v in reversed(order):  # a top-level superior sits just above its highest subordinate
        if not preds[v] and dag[v]:
            layer[v] = min(layer[w] for w in dag[v]) - 1

    anchored = [bool(dag[v] or preds[v]) for v in range(n)]
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for a, b in others:
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    placed = list(anchored)
    queue = deque(v for v in range(n) if anchored[v])
    while queue:
        v = queue.popleft()
        for w in sorted(neighbours[v]):
            if not placed[w]:
                placed[w] = True
                layer[w] = layer[v]
                queue.append(w)
    low = min(layer, default=0)
    return [value - low for value in layer]


def _succ_lists(n: int, hierarchy: list[tuple[int, int]]) -> list[list[int]]:
    succ: list[set[int]] = [set() for _ in range(n)]
    for a, b in hierarchy:
        succ[a].add(b)
    return [sorted(s) for s in succ]


def _crossings(layers: list[list[int]], pos: list[int], down: list[list[int]]) -> int:
    total = 0
    for upper, lower in itertools.pairwise(layers):
        pairs = sorted((pos[a], pos[b]) for a in upper for b in down[a])
        size = len(lower)
        tree = [0] * (size + 1)  # Fenwick tree over positions in the lower layer
        for seen, (_, pb) in enumerate(pairs):
            i, not_greater = pb + 1, 0
            while i > 0:
                not_greater += tree[i]
                i -= i & -i
            total += seen - not_greater
            i = pb + 1
            while i <= size:
                tree[i] += 1
                i += i & -i
    return total


def _order_layers(layers: list[list[int]], up: list[list[int]], down: list[list[int]], total: int) -> list[list[int]]:
    """Barycenter sweeps to reduce edge crossings; keeps the best ordering seen. Deterministic."""
    pos = [0] * total
    for row in layers:
        for i, v in enumerate(row):
            pos[v] = i
    best = [list(row) for row in layers]
    best_crossings = _crossings(layers, pos, down)
    for sweep in range(24):
        if best_crossings == 0:
            break
        if sweep % 2 == 0:
            indices, neighbours = range(1, len(layers)), up
        else:
            indices, neighbours = range(len(layers) - 2, -1, -1), down
        for li in indices:
            keyed = []
            for v in layers[li]:
                ns = neighbours[v]
                centre = sum(pos[u] for u in ns) / len(ns) if ns else float(pos[v])
                keyed.append((centre, pos[v], v))
            keyed.sort()
            layers[li] = [v for _, _, v in keyed]
            for i, v in enumerate(layers[li]):
                pos[v] = i
        crossings = _crossings(layers, pos, down)
        if crossings < best_crossings:
            best_crossings = crossings
            best = [list(row) for row in layers]
    return best


def _place_row(desired: list[float], separations: list[float]) -> list[float]:
    """Positions as close as possible (least squares) to ``desired`` keeping order and minimum separations.

    Pool-adjacent-violators on ``desired[i] - offset[i]``, which must be non-decreasing.
    """
    offsets = [0.0]
    for sep in separations:
        offsets.append(offsets[-1] + sep)
    blocks: list[list[float]] = []  # [sum, count]
    for d, o in zip(desired, offsets, strict=True):
        blocks.append([d - o, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    values: list[float] = []
    for s, c in blocks:
        values.extend([s / c] * int(c))
    return [v + o for v, o in zip(values, offsets, strict=True)]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlapping area of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _spread(centre: float, count: int, room: float, step: float) -> list[float]:
    if count <= 1:
        return [centre] * count
    span = min(room, (count - 1) * step)
    return [centre - span / 2 + i * span / (count - 1) for i in range(count)]


def render_command_chart(nodes: Sequence[ChartNode], edges: Sequence[ChartEdge], *, title: str) -> str:
    """A layered chart of actors (superiors on top) and the relations between them, as an SVG document.

    Edges reading "A commands B" point from A to B. Edge labels show the relation and the evidence count
    "n✓ / m✗" (supporting / contradicting). An edge with no supporting evidence is drawn red and dashed (class
    ``unsupported``); one with contradicting evidence has class ``contested``. Edges whose ends are not among
    ``nodes`` are skipped.
    """
    title_text = clean_label(title) or "Command chart"
    node_by_id: dict[str, ChartNode] = {}
    for node in sorted(nodes, key=lambda nd: (str(nd.id), str(nd.label), str(nd.kind))):
        node_by_id.setdefault(str(node.id), node)
    if not node_by_id:
        return _empty_svg(title_text, "No data: there are no actors to chart.", "command-chart")

    ids = sorted(node_by_id)
    index = {nid: i for i, nid in enumerate(ids)}
    n = len(ids)
    kept = sorted(
        (e for e in edges if str(e.source) in index and str(e.target) in index),
        key=_edge_sort_key,
    )
    ends = [(index[str(e.source)], index[str(e.target)]) for e in kept]
    prefix = _prefix("cmd", ([(nid, node_by_id[nid]) for nid in ids], kept, title_text))

    # ---- nodes: text and size
    names = [clean_label(node_by_id[nid].label) or clean_label(nid) or "?" for nid in ids]
    kinds = [str(getattr(node_by_id[nid].kind, "value", node_by_id[nid].kind)).strip().lower() for nid in ids]
    kind_info = [_KINDS.get(k, _OTHER_KIND) for k in kinds]
    kind_text = [
        info[0] or _truncate(clean_label(node_by_id[nid].kind).replace("_", " "), NODE_MAX_W - 20, 10)
        for nid, info in zip(ids, kind_info, strict=True)
    ]
    shown = [_truncate(name, NODE_MAX_W - 20, 13, bold=True) for name in names]
    width = [
        min(NODE_MAX_W, max(NODE_MIN_W, _text_width(s, 13, bold=True) + 24, _text_width(k, 10) + 24))
        for s, k in zip(shown, kind_text, strict=True)
    ]

    # ---- layers
    hierarchy = []
    others = []
    touched = [False] * n
    for edge, (a, b) in zip(kept, ends, strict=True):
        touched[a] = touched[b] = True
        if a == b:
            continue
        if edge.hierarchical:
            hierarchy.append(_superior_first(edge, a, b))
        else:
            others.append((a, b))
    layer_of = _assign_layers(n, hierarchy, others)
    # Actors without any relationship are set apart in a row of their own under the chart.
    isolated = [v for v in range(n) if not touched[v]]
    remap = {value: i for i, value in enumerate(sorted({layer_of[v] for v in range(n) if touched[v]}))}
    layer_of = [remap[layer_of[v]] if touched[v] else -1 for v in range(n)]

    # Edges spanning several layers get a virtual node per intermediate layer, so that they are routed around
    # nodes and take part in crossing reduction.
    is_dummy = [False] * n
    chains: dict[int, list[int]] = {}
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    for k, (a, b) in enumerate(ends):
        if a == b or layer_of[a] == layer_of[b]:
            continue
        upper, lower = (a, b) if layer_of[a] < layer_of[b] else (b, a)
        chain = [upper]
        for li in range(layer_of[upper] + 1, layer_of[lower]):
            v = len(layer_of)
            layer_of.append(li)
            is_dummy.append(True)
            width.append(14.0)
            up.append([])
            down.append([])
            chain.append(v)
        chain.append(lower)
        for p, q in itertools.pairwise(chain):
            down[p].append(q)
            up[q].append(p)
        chains[k] = chain
    total = len(layer_of)
    layer_count = len(remap)
    layers: list[list[int]] = [[] for _ in range(layer_count)]
    for v in range(total):
        if layer_of[v] >= 0:
            layers[layer_of[v]].append(v)
    layers = _order_layers(layers, up, down, total)
    position = [0] * total
    for row in layers:
        for i, v in enumerate(row):
            position[v] = i

    # ---- edge label text (its size is needed to make room for it)
    label_lines: list[tuple[str, str, str, float]] = []  # shown, evidence, full, width
    for edge in kept:
        full = clean_label(edge.label) or clean_label(str(edge.relation).replace("_", " ")) or "related to"
        line1 = _truncate(full, 190, 11)
        line2 = f"{_count(edge.supporting)}✓ / {_count(edge.contradicting)}✗"
        label_lines.append((line1, line2, full, max(_text_width(line1, 11), _text_width(line2, 11)) + 10))

    # Same-layer links: straight between neighbours, an arc over the row when other actors are in between.
    arcs_in_layer = [False] * layer_count
    same_layer_kind: dict[int, str] = {}
    for k, (a, b) in enumerate(ends):
        if a != b and layer_of[a] == layer_of[b]:
            lo, hi = sorted((position[a], position[b]))
            row = layers[layer_of[a]]
            between = any(not is_dummy[v] for v in row[lo + 1 : hi])
            same_layer_kind[k] = "arc" if between else "straight"
            if between:
                arcs_in_layer[layer_of[a]] = True

    # ---- x coordinates: pack, then pull each node towards its neighbours
    def base_separation(p: int, q: int) -> float:
        gap = NODE_GAP if not (is_dummy[p] or is_dummy[q]) else (18.0 if is_dummy[p] != is_dummy[q] else 10.0)
        return (width[p] + width[q]) / 2 + gap

    extra: dict[tuple[int, int], float] = {}  # room for the label of a straight link between neighbours
    for k, kind in sorted(same_layer_kind.items()):
        if kind != "straight":
            continue
        a, b = ends[k]
        row = layers[layer_of[a]]
        lo, hi = sorted((position[a], position[b]))
        have = sum(base_separation(row[i], row[i + 1]) for i in range(lo, hi)) - (width[a] + width[b]) / 2
        need = label_lines[k][3] + 24
        if need > have:
            key = (row[lo], row[lo + 1])
            extra[key] = max(extra.get(key, 0.0), need - have)

    def separation(p: int, q: int) -> float:
        return base_separation(p, q) + extra.get((p, q), 0.0)

    x = [0.0] * total
    for row in layers:
        cursor = 0.0
        for i, v in enumerate(row):
            if i:
                cursor += separation(row[i - 1], v)
            x[v] = cursor
    widest = max((x[row[-1]] for row in layers if row), default=0.0)
    for row in layers:
        if row:
            shift = (widest - x[row[-1]]) / 2
            for v in row:
                x[v] += shift
    modes = ["down", "up", "down", "up", "both", "both", "both", "both", "both", "both"]
    for mode in modes:
        order = range(layer_count) if mode != "up" else range(layer_count - 1, -1, -1)
        for li in order:
            row = layers[li]
            if not row:
                continue
            desired = []
            for v in row:
                ns = up[v] if mode == "down" else down[v] if mode == "up" else up[v] + down[v]
                desired.append(sum(x[u] for u in ns) / len(ns) if ns else x[v])
            seps = [separation(p, q) for p, q in itertools.pairwise(row)]
            for v, value in zip(row, _place_row(desired, seps), strict=True):
                x[v] = value

    arc_room = 60.0 if arcs_in_layer and arcs_in_layer[0] else 0.0

    def top_of(li: int) -> float:
        return li * (NODE_H + LAYER_GAP) + arc_room

    node_top = [top_of(layer_of[v]) if layer_of[v] >= 0 else 0.0 for v in range(n)]

    # ---- ports: where each edge meets its nodes; end 0 is the source, 1 the target
    top_ports: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
    bottom_ports: list[list[tuple[float, int, int]]] = [[] for _ in range(n)]
    side_ports: dict[tuple[int, str], list[tuple[float, int, int]]] = {}
    for k, (a, b) in enumerate(ends):
        if k in chains:
            chain = chains[k]
            bottom_ports[chain[0]].append((x[chain[1]], k, 0 if chain[0] == a else 1))
            top_ports[chain[-1]].append((x[chain[-2]], k, 0 if chain[-1] == a else 1))
        elif same_layer_kind.get(k) == "arc":
            top_ports[a].append((x[b], k, 0))
            top_ports[b].append((x[a], k, 1))
        elif same_layer_kind.get(k) == "straight":
            left, right = (a, b) if x[a] < x[b] else (b, a)
            side_ports.setdefault((left, "right"), []).append((0.0, k, 0 if left == a else 1))
            side_ports.setdefault((right, "left"), []).append((0.0, k, 0 if right == a else 1))
        else:  # self-loop
            side_ports.setdefault((a, "right"), []).append((1.0, k, 0))
    port: dict[tuple[int, int], tuple[float, float]] = {}
    for v in range(n):
        top = node_top[v]
        for lists, y in ((top_ports[v], top), (bottom_ports[v], top + NODE_H)):
            lists.sort()
            for px, (_, k, end) in zip(_spread(x[v], len(lists), width[v] - 28, 16), lists, strict=True):
                port[(k, end)] = (px, y)
    for (v, side), lists in sorted(side_ports.items()):
        lists.sort()
        edge_x = x[v] + width[v] / 2 if side == "right" else x[v] - width[v] / 2
        for py, (_, k, end) in zip(_spread(node_top[v] + NODE_H / 2, len(lists), NODE_H - 16, 10), lists, strict=True):
            port[(k, end)] = (edge_x, py)

    # ---- edge geometry
    geometry: list[list[_Segment]] = []
    for k, (a, _b) in enumerate(ends):
        if k in chains:
            chain = chains[k]
            upper_end = 0 if chain[0] == a else 1
            points: list[tuple[float, float]] = [port[(k, upper_end)]]
            for v in chain[1:-1]:
                top = top_of(layer_of[v])
                points.extend([(x[v], top), (x[v], top + NODE_H)])
            points.append(port[(k, 1 - upper_end)])
            segments = []
            for i in range(0, len(points) - 1):
                (x0, y0), (x1, y1) = points[i], points[i + 1]
                if i % 2 == 0:  # crossing a gap between layers
                    mid = (y0 + y1) / 2
                    segments.append(_Segment([(x0, y0), (x0, mid), (x1, mid), (x1, y1)], True))
                else:  # passing a layer beside its nodes
                    segments.append(_Segment([(x0, y0), (x1, y1)], False))
            if upper_end == 1:  # drawn from the source, so that the arrowhead is at the target
                segments = [s.reversed() for s in reversed(segments)]
        elif same_layer_kind.get(k) == "arc":
            (x0, y0), (x1, y1) = port[(k, 0)], port[(k, 1)]
            rise = min(LAYER_GAP * 0.62, 34 + abs(x1 - x0) * 0.12)
            segments = [_Segment([(x0, y0), (x0, y0 - rise), (x1, y1 - rise), (x1, y1)], True)]
        elif same_layer_kind.get(k) == "straight":
            segments = [_Segment([port[(k, 0)], port[(k, 1)]], True)]
        else:
            x0, y0 = port[(k, 0)]
            segments = [_Segment([(x0, y0 - 10), (x0 + 46, y0 - 34), (x0 + 46, y0 + 34), (x0, y0 + 10)], True)]
        geometry.append(segments)

    # ---- edge labels, placed where they hide neither nodes nor other labels
    def node_box(v: int, pad: float = 4.0) -> tuple[float, float, float, float]:
        return (x[v] - width[v] / 2 - pad, node_top[v] - pad, x[v] + width[v] / 2 + pad, node_top[v] + NODE_H + pad)

    linked = [v for v in range(n) if touched[v]]
    obstacles = [node_box(v) for v in linked]
    for segments in geometry:  # keep arrowheads visible
        tip_x, tip_y = segments[-1].points[-1]
        obstacles.append((tip_x - 7, tip_y - 14, tip_x + 7, tip_y + 14))
    label_boxes: list[tuple[float, float, float, float]] = []
    box_h = 32.0
    for k in range(len(kept)):
        box_w = label_lines[k][3]
        segments = geometry[k]
        gap_indices = [i for i, s in enumerate(segments) if s.in_gap] or list(range(len(segments)))
        middle = (len(segments) - 1) / 2
        gap_indices.sort(key=lambda i, middle=middle: (abs(i - middle), i))
        candidates = [segments[i].at(t) for i in gap_indices for t in (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85)]
        if same_layer_kind.get(k) == "straight":  # also just above or below the pair of nodes
            mx, my = segments[0].at(0.5)
            candidates += [(mx, my - NODE_H / 2 - 24), (mx, my + NODE_H / 2 + 24)]
        elif ends[k][0] == ends[k][1]:  # self-loop: beside the loop, else above or below the node
            v = ends[k][0]
            loop_x, loop_y = segments[0].at(0.5)
            candidates = [
                (loop_x + 6 + box_w / 2, loop_y),
                (x[v], node_top[v] - box_h / 2 - 6),
                (x[v], node_top[v] + NODE_H + box_h / 2 + 6),
            ]
        best: tuple[float, float, float] = (float("inf"), *candidates[0])
        for cx, cy in candidates:
            box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
            cost = sum(_overlap(box, other) for other in obstacles)
            cost += sum(_overlap(box, other) for other in label_boxes) * 2.0
            if cost < best[0]:
                best = (cost, cx, cy)
                if cost == 0:
                    break
        _, cx, cy = best
        label_boxes.append((cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2))

    # ---- canvas bounds, then the row of actors without relationships underneath
    xs: list[float] = []
    ys: list[float] = []
    for box in obstacles + label_boxes:
        xs.extend([box[0], box[2]])
        ys.extend([box[1], box[3]])
    for segments in geometry:
        for seg in segments:
            for t in (0.0, 0.25, 0.5, 0.75, 1.0):
                px, py = seg.at(t)
                xs.append(px)
                ys.append(py)
    isolated_caption: tuple[float, float] | None = None
    if isolated:
        left = min(xs) + 4 if xs else 0.0
        row_y = max(ys) + 48 if ys else 0.0
        wrap = max(max(xs) - min(xs) if xs else 0.0, 680.0)
        isolated_caption = (left, row_y - 12)
        xs.append(left + _text_width(ISOLATED_CAPTION, 11))
        ys.append(row_y - 26)
        cursor = left
        for v in isolated:
            if cursor > left and cursor + width[v] > left + wrap:
                cursor = left
                row_y += NODE_H + 18
            x[v] = cursor + width[v] / 2
            node_top[v] = row_y
            cursor += width[v] + 20
            box = node_box(v)
            xs.extend([box[0], box[2]])
            ys.extend([box[1], box[3]])
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    content_w = max_x - min_x
    content_h = max_y - min_y

    legend = [
        ("hierarchical", "command, superior, membership"),
        ("other", "other link (allied, supplies…)"),
        ("unsupported", "no supporting evidence"),
        ("contested", "contradicting evidence"),
        ("counts", "n✓ / m✗ supporting / contradicting items"),
    ]
    legend_items = [
        (key, text, (34.0 if key != "counts" else 0.0) + _text_width(text, 11) + 22) for key, text in legend
    ]
    title_shown = _truncate(title_text, max(640.0, content_w), 16, bold=True)
    canvas_w = max(content_w, _text_width(title_shown, 16, bold=True), 520.0) + 2 * MARGIN
    legend_rows: list[list[tuple[str, str, float]]] = [[]]
    used = 0.0
    for item in legend_items:
        if legend_rows[-1] and used + item[2] > canvas_w - 2 * MARGIN:
            legend_rows.append([])
            used = 0.0
        legend_rows[-1].append(item)
        used += item[2]
    legend_h = 22.0 * len(legend_rows) + 14
    dx = MARGIN - min_x + (canvas_w - 2 * MARGIN - content_w) / 2
    dy = TITLE_H + MARGIN / 2 - min_y
    canvas_h = TITLE_H + MARGIN / 2 + content_h + MARGIN + legend_h

    # ---- description for screen readers
    kept_count = len(kept)
    unsupported = sum(1 for e in kept if _count(e.supporting) == 0)
    contested = sum(1 for e in kept if _count(e.contradicting) > 0)
    desc_lines = [
        f"Command chart with {n} actor{'s' if n != 1 else ''} and {kept_count} "
        f"relationship{'s' if kept_count != 1 else ''}: {unsupported} without supporting evidence, "
        f"{contested} with contradicting evidence. Superiors are drawn above their subordinates."
    ]
    for k, edge in enumerate(kept):
        a, b = ends[k]
        desc_lines.append(
            f"{names[a]} → {names[b]}: {label_lines[k][2]} ({_count(edge.supporting)} supporting, "
            f"{_count(edge.contradicting)} contradicting)"
        )
    if isolated:
        desc_lines.append(ISOLATED_CAPTION + ": " + ", ".join(names[v] for v in isolated))

    # ---- markup
    parts = _svg_open(canvas_w, canvas_h, prefix, "command-chart", title_text, "\n".join(desc_lines))
    parts.append("<defs>")
    for status, colour in _EDGE_COLOURS.items():
        parts.append(
            f'<marker id="{prefix}-arrow-{status}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="7" '
            f'markerHeight="7" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0 0 L10 5 L0 10 Z" fill="{colour}"/></marker>'
        )
        parts.append(
            f'<marker id="{prefix}-open-{status}" viewBox="0 0 10 10" refX="9.5" refY="5" markerWidth="9" '
            f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M1 1 L9.5 5 L1 9" fill="none" stroke="{colour}" stroke-width="1.6"/></marker>'
        )
    parts.append("</defs>")
    parts.append(
        f'<rect class="chart-background" x="0" y="0" width="{_n(canvas_w)}" height="{_n(canvas_h)}" fill="#ffffff"/>'
    )
    parts.append(
        f'<text class="chart-title" x="{_n(MARGIN)}" y="30" font-size="16" font-weight="bold" fill="#1a202c">'
        f"{_esc(title_shown)}</text>"
    )
    parts.append(f'<g class="chart-body" transform="translate({_n(dx)} {_n(dy)})">')

    parts.append('<g class="edges">')
    for k, edge in enumerate(kept):
        supporting, contradicting = _count(edge.supporting), _count(edge.contradicting)
        status = "unsupported" if supporting == 0 else "contested" if contradicting else "supported"
        classes = ["edge", "hierarchical" if edge.hierarchical else "non-hierarchical"]
        classes.append("unsupported" if supporting == 0 else "supported")
        if contradicting:
            classes.append("contested")
        class_attr = " ".join(classes)
        a, b = ends[k]
        marker = f"{prefix}-{'arrow' if edge.hierarchical else 'open'}-{status}"
        dash = f' stroke-dasharray="{_UNSUPPORTED_DASH}"' if supporting == 0 else ""
        stroke_w = "1.8" if edge.hierarchical else "1.4"
        parts.append(
            f'<g class="{class_attr}" id="{prefix}-e{k}" data-source="{_esc(clean_label(ids[a]))}" '
            f'data-target="{_esc(clean_label(ids[b]))}" '
            f'data-relation="{_esc(clean_label(edge.relation))}">'
        )
        parts.append(f"<title>{_esc(desc_lines[k + 1])}</title>")
        parts.append(
            f'<path class="edge-line {class_attr.removeprefix("edge ")}" d="{_path_d(geometry[k])}" fill="none" '
            f'stroke="{_EDGE_COLOURS[status]}" stroke-width="{stroke_w}"{dash} marker-end="url(#{marker})"/>'
        )
        parts.append("</g>")
    parts.append("</g>")

    if isolated_caption is not None:
        parts.append(
            f'<text class="isolated-caption" x="{_n(isolated_caption[0])}" y="{_n(isolated_caption[1])}" '
            f'font-size="11" font-style="italic" fill="#4a5568">{ISOLATED_CAPTION}</text>'
        )
    parts.append('<g class="nodes">')
    for v in range(n):
        info = kind_info[v]
        css_kind = kinds[v] if kinds[v] in _KINDS else "other"
        left, top = x[v] - width[v] / 2, node_top[v]
        tooltip = names[v] + (f" ({kind_text[v]})" if kind_text[v] else "")
        rtl = ' direction="rtl"' if _is_rtl(shown[v]) else ""
        placement = f'data-layer="{layer_of[v]}"' if touched[v] else 'data-isolated="true"'
        parts.append(
            f'<g class="node node-{css_kind}{"" if touched[v] else " isolated"}" id="{prefix}-n{v}" '
            f'data-node-id="{_esc(clean_label(ids[v]))}" {placement}>'
        )
        parts.append(f"<title>{_esc(tooltip)}</title>")
        parts.append(
            f'<rect class="node-box" x="{_n(left)}" y="{_n(top)}" width="{_n(width[v])}" height="{_n(NODE_H)}" '
            f'rx="8" ry="8" fill="{info[1]}" stroke="{info[2]}" stroke-width="1.5"/>'
        )
        parts.append(
            f'<text class="node-label" x="{_n(x[v])}" y="{_n(top + 22)}" text-anchor="middle" font-size="13" '
            f'font-weight="bold" fill="#1a202c"{rtl}>{_esc(shown[v])}</text>'
        )
        if kind_text[v]:
            parts.append(
                f'<text class="node-kind" x="{_n(x[v])}" y="{_n(top + 39)}" text-anchor="middle" font-size="10" '
                f'fill="{info[2]}">{_esc(kind_text[v])}</text>'
            )
        parts.append("</g>")
    parts.append("</g>")

    parts.append('<g class="edge-labels">')
    for k, ((x0, y0, x1, y1), (line1, line2, full, _)) in enumerate(zip(label_boxes, label_lines, strict=True)):
        edge = kept[k]
        status = "unsupported" if _count(edge.supporting) == 0 else "contested" if _count(edge.contradicting) else ""
        colour = _EDGE_COLOURS[status or "supported"]
        cx = (x0 + x1) / 2
        rtl = ' direction="rtl"' if _is_rtl(line1) else ""
        parts.append(f'<g class="edge-label{" " + status if status else ""}" data-edge="{prefix}-e{k}">')
        if line1 != full:
            parts.append(f"<title>{_esc(full)}</title>")
        parts.append(
            f'<rect x="{_n(x0)}" y="{_n(y0)}" width="{_n(x1 - x0)}" height="{_n(y1 - y0)}" rx="3" ry="3" '
            f'fill="#ffffff" fill-opacity="0.92" stroke="{colour}" stroke-width="0.6" stroke-opacity="0.6"/>'
        )
        parts.append(
            f'<text class="edge-relation" x="{_n(cx)}" y="{_n(y0 + 13)}" text-anchor="middle" font-size="11" '
            f'fill="#2d3748"{rtl}>{_esc(line1)}</text>'
        )
        parts.append(
            f'<text class="edge-evidence" x="{_n(cx)}" y="{_n(y0 + 27)}" text-anchor="middle" font-size="11" '
            f'fill="{colour}">{_esc(line2)}</text>'
        )
        parts.append("</g>")
    parts.append("</g>")
    parts.append("</g>")

    parts.append(f'<g class="legend" transform="translate({_n(MARGIN)} {_n(canvas_h - legend_h + 8)})">')
    for r, row_items in enumerate(legend_rows):
        lx = 0.0
        ly = r * 22.0 + 8
        for key, text, item_w in row_items:
            if key != "counts":
                status = {"hierarchical": "supported", "other": "supported"}.get(key, key)
                marker = f"{prefix}-{'open' if key == 'other' else 'arrow'}-{status}"
                dash = f' stroke-dasharray="{_UNSUPPORTED_DASH}"' if key == "unsupported" else ""
                parts.append(
                    f'<path class="legend-line" d="M{_n(lx)} {_n(ly)} L{_n(lx + 28)} {_n(ly)}" fill="none" '
                    f'stroke="{_EDGE_COLOURS[status]}" stroke-width="1.8"{dash} marker-end="url(#{marker})"/>'
                )
                tx = lx + 34
            else:
                tx = lx
            parts.append(
                f'<text class="legend-text" x="{_n(tx)}" y="{_n(ly + 4)}" font-size="11" fill="#4a5568">'
                f"{_esc(text)}</text>"
            )
            lx += item_w
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------------------------------------------
# Timeline
# --------------------------------------------------------------------------------------------------------------

_PRECISIONS = ("day", "month", "year", "approximate")
ROW_H = 26.0


def _precision(value: object) -> str:
    text = str(getattr(value, "value", value) or "").strip().lower()
    # Anything unrecognised is drawn as approximate: never more precise than we know.
    return text if text in _PRECISIONS else "approximate"


def _as_date(value: object) -> date | None:
    if isinstance(value, date):
        return date(value.year, value.month, value.day)  # a datetime becomes its date
    return None


def _year_start(year: int) -> int:
    """Ordinal of 1 January ``year``; past 9999, the day after date.max."""
    if year > date.max.year:
        return date.max.toordinal() + 1
    return date(max(year, 1), 1, 1).toordinal()


def _span(d: date, precision: str) -> tuple[int, int]:
    """The days (ordinal, end exclusive) a date of this precision may stand for."""
    if precision == "day":
        return d.toordinal(), d.toordinal() + 1
    if precision == "month":
        after = _year_start(d.year + 1) if d.month == 12 else date(d.year, d.month + 1, 1).toordinal()
        return date(d.year, d.month, 1).toordinal(), after
    # year, and approximate: the app shows approximate dates as "approx. <year>", so the whole year is drawn.
    return _year_start(d.year), _year_start(d.year + 1)


def _date_text(d: date, precision: str) -> str:
    if precision == "day":
        return d.isoformat()
    if precision == "month":
        return f"{d.year:04d}-{d.month:02d}"
    return f"{d.year:04d}"


def _event_dates(event: TimelineEvent, precision: str) -> tuple[int, int, str] | None:
    start, end = _as_date(event.start), _as_date(event.end)
    if start is None and end is None:
        return None
    if start is not None and end is not None and end < start:
        start, end = end, start  # a data-entry slip; still drawn, in order
    approx = "approx. " if precision == "approximate" else ""
    if start is None and end is not None:
        lo, hi = _span(end, precision)
        return lo, hi, f"until {approx}{_date_text(end, precision)}"
    assert start is not None  # noqa: S101 - for the type checker: both None returned above
    lo, hi = _span(start, precision)
    text = _date_text(start, precision)
    if end is not None:
        _, end_hi = _span(end, precision)
        hi = max(hi, end_hi)
        end_text = _date_text(end, precision)
        if end_text != text:
            text = f"{text} – {end_text}"
    return lo, hi, approx + text


def render_timeline(events: Sequence[TimelineEvent], *, title: str) -> str:
    """Events on a horizontal time axis with year ticks, one row each, as an SVG document.

    A date is drawn only as precisely as it is known: month precision spans the whole month, year precision the
    whole year, approximate dates the whole year with a faded dashed bar (class ``approximate``) and "approx." in
    the label. An event known to a single day is a point. Events without any date are listed under the axis as
    "Date unknown".
    """
    title_text = clean_label(title) or "Timeline"
    unique: dict[str, TimelineEvent] = {}
    for event in sorted(events, key=lambda e: (str(e.id), repr(e))):
        unique.setdefault(str(event.id), event)
    if not unique:
        return _empty_svg(title_text, "No data: there are no events to show.", "timeline")
    prefix = _prefix("tl", (sorted(unique.items()), title_text))

    dated: list[tuple[int, int, str, str, str, str, str]] = []  # lo, hi, id, label, date text, precision, full
    undated: list[tuple[str, str]] = []
    for eid, event in unique.items():
        precision = _precision(event.precision)
        label = clean_label(event.label) or clean_label(eid) or "?"
        when = _event_dates(event, precision)
        if when is None:
            undated.append((label, eid))
            continue
        lo, hi, text = when
        dated.append((lo, hi, eid, label, text, precision, label))
    dated.sort(key=lambda row: (row[0], row[1], row[2]))
    undated.sort(key=lambda row: (row[0].casefold(), row[1]))

    def row_label(label: str, precision: str) -> str:
        suffix = " (approx.)" if precision == "approximate" else ""
        return _truncate(label, 300 - _text_width(suffix, 12), 12) + suffix

    shown_labels = [row_label(row[3], row[5]) for row in dated]
    label_col = min(320.0, max(140.0, *(_text_width(s, 12) + 16 for s in shown_labels))) if dated else 0.0
    plot_left = MARGIN + label_col + 12

    if dated:
        first_year = date.fromordinal(min(row[0] for row in dated)).year
        last_year = date.fromordinal(max(row[1] for row in dated) - 1).year
        years = last_year - first_year + 1
        plot_w = min(1100.0, max(480.0, years * 90.0))
        axis_lo, axis_hi = _year_start(first_year), _year_start(last_year + 1)
    else:
        first_year = last_year = years = 0
        plot_w = 480.0
        axis_lo, axis_hi = 0, 1
    span_days = max(1, axis_hi - axis_lo)

    def px(ordinal: float) -> float:
        return plot_left + (ordinal - axis_lo) / span_days * plot_w

    date_col = max([_text_width(row[4], 11) + 16 for row in dated] + [120.0])
    canvas_w = max(plot_left + plot_w + date_col + MARGIN, _text_width(title_text, 16, bold=True) + 2 * MARGIN)
    if undated:
        canvas_w = max(canvas_w, min(900.0, max(_text_width(u[0], 12) for u in undated) + 2 * MARGIN + 24))
    rows_top = TITLE_H + 8
    axis_y = rows_top + len(dated) * ROW_H + 8
    y = axis_y + (36.0 if dated else 0.0)
    undated_top = y + 12
    canvas_h = (undated_top + 22 + len(undated) * 20 if undated else y) + MARGIN / 2

    desc_lines = [
        f"Timeline of {len(unique)} event{'s' if len(unique) != 1 else ''}"
        + (f" from {first_year} to {last_year}" if dated else "")
        + f"; {len(undated)} without a known date. Dates are drawn only as precisely as they are known."
    ]
    desc_lines += [f"{row[3]}: {row[4]}" for row in dated]
    desc_lines += [f"{label}: date unknown" for label, _ in undated]

    parts = _svg_open(canvas_w, canvas_h, prefix, "timeline", title_text, "\n".join(desc_lines))
    parts.append(
        f'<rect class="chart-background" x="0" y="0" width="{_n(canvas_w)}" height="{_n(canvas_h)}" fill="#ffffff"/>'
    )
    parts.append(
        f'<text class="chart-title" x="{_n(MARGIN)}" y="30" font-size="16" font-weight="bold" fill="#1a202c">'
        f"{_esc(_truncate(title_text, canvas_w - 2 * MARGIN, 16, bold=True))}</text>"
    )

    if dated:
        step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if plot_w / years * s >= 44)
        parts.append('<g class="axis">')
        for i in range(len(dated)):
            if i % 2 == 0:
                parts.append(
                    f'<rect class="row-band" x="{_n(MARGIN)}" y="{_n(rows_top + i * ROW_H)}" '
                    f'width="{_n(canvas_w - 2 * MARGIN)}" height="{_n(ROW_H)}" fill="#f7fafc"/>'
                )
        if years <= 3:
            for year in range(first_year, last_year + 1):
                for month in range(2, 13):
                    mx = px(date(year, month, 1).toordinal())
                    parts.append(
                        f'<line class="month-tick" x1="{_n(mx)}" y1="{_n(axis_y)}" x2="{_n(mx)}" y2="{_n(axis_y + 4)}" '
                        f'stroke="#a0aec0" stroke-width="0.8"/>'
                    )
        for year in range(first_year, last_year + 2):
            if year % step and year != first_year:
                continue
            tx = px(_year_start(year))
            parts.append(
                f'<line class="year-grid" x1="{_n(tx)}" y1="{_n(rows_top)}" x2="{_n(tx)}" y2="{_n(axis_y)}" '
                f'stroke="#e2e8f0" stroke-width="1"/>'
            )
            parts.append(
                f'<line class="year-tick" x1="{_n(tx)}" y1="{_n(axis_y)}" x2="{_n(tx)}" y2="{_n(axis_y + 7)}" '
                f'stroke="#4a5568" stroke-width="1"/>'
            )
            if year <= last_year:
                label_x = tx + (px(_year_start(year + 1)) - tx) / 2 if step == 1 else tx
                parts.append(
                    f'<text class="year-label" x="{_n(label_x)}" y="{_n(axis_y + 22)}" text-anchor="middle" '
                    f'font-size="11" fill="#4a5568">{year:04d}</text>'
                )
        parts.append(
            f'<line class="axis-line" x1="{_n(plot_left)}" y1="{_n(axis_y)}" x2="{_n(plot_left + plot_w)}" '
            f'y2="{_n(axis_y)}" stroke="#4a5568" stroke-width="1.2"/>'
        )
        parts.append("</g>")

        parts.append('<g class="events">')
        for i, (lo, hi, eid, _label, text, precision, full) in enumerate(dated):
            cy = rows_top + i * ROW_H + ROW_H / 2
            approx = precision == "approximate"
            classes = f"event precision-{precision}" + (" approximate" if approx else "")
            parts.append(f'<g class="{classes}" data-event-id="{_esc(clean_label(eid))}">')
            parts.append(f"<title>{_esc(full + ' (approx.)' if approx else full)}: {_esc(text)}</title>")
            parts.append(
                f'<text class="event-label" x="{_n(plot_left - 12)}" y="{_n(cy + 4)}" text-anchor="end" '
                f'font-size="12" fill="#1a202c">{_esc(shown_labels[i])}</text>'
            )
            x0, x1 = px(lo), px(hi)
            if hi - lo == 1 and precision == "day":
                parts.append(
                    f'<circle class="event-point" cx="{_n((x0 + x1) / 2)}" cy="{_n(cy)}" r="5" fill="#2c5282" '
                    f'stroke="#ffffff" stroke-width="1"/>'
                )
                end_x = (x0 + x1) / 2 + 5
            else:
                bar_w = max(x1 - x0, 3.0)
                if approx:
                    paint = (
                        'fill="#2c5282" fill-opacity="0.22" stroke="#2c5282" stroke-width="1.2" stroke-dasharray="4 3"'
                    )
                else:
                    paint = 'fill="#2c5282" fill-opacity="0.85" stroke="#2c5282" stroke-width="1"'
                parts.append(
                    f'<rect class="event-bar{" approximate" if approx else ""}" x="{_n(x0)}" y="{_n(cy - 6)}" '
                    f'width="{_n(bar_w)}" height="12" rx="2" ry="2" {paint}/>'
                )
                end_x = x0 + bar_w
            parts.append(
                f'<text class="event-date" x="{_n(end_x + 6)}" y="{_n(cy + 4)}" font-size="11" fill="#4a5568">'
                f"{_esc(text)}</text>"
            )
            parts.append("</g>")
        parts.append("</g>")

    if undated:
        parts.append('<g class="undated-events">')
        parts.append(
            f'<text class="undated-heading" x="{_n(MARGIN)}" y="{_n(undated_top + 10)}" font-size="12" '
            f'font-weight="bold" fill="#4a5568">Date unknown</text>'
        )
        for i, (label, eid) in enumerate(undated):
            ly = undated_top + 30 + i * 20
            shown = _truncate(label, canvas_w - 2 * MARGIN - 24, 12)
            parts.append(f'<g class="event undated" data-event-id="{_esc(clean_label(eid))}">')
            parts.append(f"<title>{_esc(label)}: date unknown</title>")
            parts.append(
                f'<circle cx="{_n(MARGIN + 6)}" cy="{_n(ly - 4)}" r="3" fill="none" stroke="#718096" '
                f'stroke-width="1.2"/>'
            )
            parts.append(
                f'<text class="event-label undated" x="{_n(MARGIN + 16)}" y="{_n(ly)}" font-size="12" '
                f'fill="#1a202c">{_esc(shown)}</text>'
            )
            parts.append("</g>")
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
