"""SVG writing: the document frame shared by both charts, and the command chart's markup.

Only presentation attributes, class names and local ``url(#…)`` marker references are written (no script, no
style, no external reference: see :mod:`casefile.charts`); every piece of text goes through :func:`esc`. Numbers
are rounded to 0.1 (:func:`num`) so that the output is stable and compact.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from casefile.charts.graph import KINDS, LINE_H, OTHER_KIND, Graph, count, edge_status
from casefile.charts.layout import NODE_H, Layout, place_isolated
from casefile.charts.routing import Routes, Segment
from casefile.charts.text import FONT_FAMILY, clean_label, esc, is_rtl, text_width, truncate
from casefile.charts.words import ENGLISH, ChartWords, direction

MARGIN = 24.0
TITLE_H = 44.0

# Edge colours by evidence status.
EDGE_COLOURS = {"supported": "#4a5568", "contested": "#b7791f", "unsupported": "#c53030"}
UNSUPPORTED_DASH = "6 4"

# The legend's samples, in order; their words are ChartWords.legend.
LEGEND_KEYS = ("hierarchical", "other", "unsupported", "contested", "counts")


# --- shared by both charts ---------------------------------------------------------------------------------------


def num(value: float) -> str:
    """A coordinate, rounded to 0.1 so that output is stable and compact."""
    rounded = round(value, 1)
    if rounded == int(rounded):
        return str(int(rounded))
    return f"{rounded:.1f}"


def id_prefix(kind: str, payload: object) -> str:
    """An id prefix that is the same for the same input and differs between charts on one page."""
    return f"{kind}-" + hashlib.sha256(repr(payload).encode("utf-8", "surrogatepass")).hexdigest()[:10]


def svg_open(
    width: float,
    height: float,
    prefix: str,
    css_class: str,
    title: str,
    desc: str,
    role: str = "img",
    *,
    rtl: bool = False,
) -> list[str]:
    """The opening ``<svg>`` tag with its accessible ``<title>`` and ``<desc>``. A chart whose parts are links is a
    ``group`` (an ``img`` hides its children from assistive technology, links included). Its ``direction`` is set,
    so that a chart shown in a page of the other direction does not inherit the page's."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" class="casefile-chart {css_class}" '
        f'width="{num(width)}" height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}" '
        f'role="{role}" aria-labelledby="{prefix}-title {prefix}-desc" font-family="{FONT_FAMILY}" '
        f'direction="{"rtl" if rtl else "ltr"}">',
        f'<title id="{prefix}-title">{esc(title)}</title>',
        f'<desc id="{prefix}-desc">{esc(desc)}</desc>',
    ]


def empty_svg(title: str, message: str, css_class: str, *, rtl: bool = False) -> str:
    """A chart with nothing to draw: its title and a message saying so."""
    prefix = id_prefix(css_class, (title, message))
    width = max(420.0, text_width(title, 16, bold=True) + 48, text_width(message, 13) + 48)
    parts = svg_open(width, 110, prefix, css_class, title, message, rtl=rtl)
    parts.append(f'<rect class="chart-background" x="0" y="0" width="{num(width)}" height="110" fill="#ffffff"/>')
    x = num(width - 24 if rtl else 24)
    dir_attr = ' direction="rtl"' if rtl else ' direction="ltr"'
    parts.append(
        f'<text class="chart-title" x="{x}" y="32" font-size="16" font-weight="bold" fill="#1a202c"{dir_attr}>'
        f"{esc(title)}</text>"
    )
    parts.append(f'<text class="no-data" x="{x}" y="72" font-size="13" fill="#4a5568"{dir_attr}>{esc(message)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def path_d(segments: list[Segment], flip: float = 1.0) -> str:
    """A path through the segments; ``flip=-1`` mirrors it (x → -x), for a right-to-left chart."""
    start = segments[0].points[0]
    parts = [f"M{num(flip * start[0])} {num(start[1])}"]
    for seg in segments:
        if len(seg.points) == 2:
            x, y = seg.points[1]
            parts.append(f"L{num(flip * x)} {num(y)}")
        else:
            (x1, y1), (x2, y2), (x3, y3) = seg.points[1:]
            parts.append(f"C{num(flip * x1)} {num(y1)} {num(flip * x2)} {num(y2)} {num(flip * x3)} {num(y3)}")
    return " ".join(parts)


# --- command chart: the frame ------------------------------------------------------------------------------------

LegendItem = tuple[str, str, float]  # key, text, width


@dataclass(frozen=True)
class Frame:
    """The canvas around the laid-out chart: its size, the shift of the chart body into it, the legend rows."""

    width: float
    height: float
    dx: float
    dy: float
    title_shown: str
    legend_rows: list[list[LegendItem]]
    legend_h: float
    isolated_caption: tuple[float, float] | None


def frame(graph: Graph, layout: Layout, routes: Routes, words: ChartWords = ENGLISH) -> Frame:
    """Measures what is drawn, places the actors without relations underneath (the last layout step, which needs
    the extent of the rest), then sizes the canvas for it, the title and the legend."""
    xs: list[float] = []
    ys: list[float] = []
    for box in routes.obstacles + routes.label_boxes:
        xs.extend([box[0], box[2]])
        ys.extend([box[1], box[3]])
    for segments in routes.paths:
        for seg in segments:
            for t in (0.0, 0.25, 0.5, 0.75, 1.0):
                px, py = seg.at(t)
                xs.append(px)
                ys.append(py)
    isolated_caption = place_isolated(layout, xs, ys, words.isolated)
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    content_w = max_x - min_x
    content_h = max_y - min_y

    legend_items = [
        (key, text, (34.0 if key != "counts" else 0.0) + text_width(text, 11) + 22)
        for key, text in zip(LEGEND_KEYS, words.legend, strict=True)
    ]
    title_shown = truncate(graph.title, max(640.0, content_w), 16, bold=True)
    canvas_w = max(content_w, text_width(title_shown, 16, bold=True), 520.0) + 2 * MARGIN
    legend_rows: list[list[LegendItem]] = [[]]
    used = 0.0
    for item in legend_items:
        if legend_rows[-1] and used + item[2] > canvas_w - 2 * MARGIN:
            legend_rows.append([])
            used = 0.0
        legend_rows[-1].append(item)
        used += item[2]
    legend_h = 22.0 * len(legend_rows) + 14
    return Frame(
        width=canvas_w,
        height=TITLE_H + MARGIN / 2 + content_h + MARGIN + legend_h,
        dx=MARGIN - min_x + (canvas_w - 2 * MARGIN - content_w) / 2,
        dy=TITLE_H + MARGIN / 2 - min_y,
        title_shown=title_shown,
        legend_rows=legend_rows,
        legend_h=legend_h,
        isolated_caption=isolated_caption,
    )


def describe(graph: Graph, layout: Layout, words: ChartWords = ENGLISH) -> list[str]:
    """The description for screen readers: a summary line, then one line per edge (also the edge's tooltip)."""
    n, kept = graph.n, graph.edges
    unsupported = sum(1 for e in kept if count(e.supporting) == 0)
    contested = sum(1 for e in kept if count(e.contradicting) > 0)
    desc_lines = [words.chart_summary(n, len(kept), unsupported, contested)]
    for k, edge in enumerate(kept):
        a, b = graph.ends[k]
        desc_lines.append(
            words.edge_line(
                graph.names[a],
                graph.names[b],
                graph.edge_text[k].full,
                count(edge.supporting),
                count(edge.contradicting),
            )
        )
    if layout.isolated:
        desc_lines.append(words.isolated + ": " + ", ".join(graph.names[v] for v in layout.isolated))
    return desc_lines


# --- command chart: the markup -----------------------------------------------------------------------------------


def write_command_chart(
    graph: Graph, layout: Layout, routes: Routes, canvas: Frame, prefix: str, words: ChartWords = ENGLISH
) -> str:
    """The chart's markup. Right to left, the whole drawing is mirrored: every x is written as ``flip * x`` in
    groups translated from the right edge, and every text carries ``direction="rtl"`` with the same anchor, so
    that a text anchored at its start runs leftwards from where it runs rightwards left to right."""
    desc_lines = describe(graph, layout, words)
    role = "group" if any(graph.href(v) for v in range(graph.n)) else "img"
    parts = svg_open(
        canvas.width,
        canvas.height,
        prefix,
        "command-chart",
        graph.title,
        "\n".join(desc_lines),
        role=role,
        rtl=words.rtl,
    )
    flip = -1.0 if words.rtl else 1.0
    dir_attr = direction(words) or ' direction="ltr"'
    parts += _markers(prefix)
    parts.append(
        f'<rect class="chart-background" x="0" y="0" width="{num(canvas.width)}" height="{num(canvas.height)}" '
        f'fill="#ffffff"/>'
    )
    title_x = canvas.width - MARGIN if words.rtl else MARGIN
    parts.append(
        f'<text class="chart-title" x="{num(title_x)}" y="30" font-size="16" font-weight="bold" fill="#1a202c"'
        f"{dir_attr}>{esc(canvas.title_shown)}</text>"
    )
    body_x = canvas.width - canvas.dx if words.rtl else canvas.dx
    parts.append(f'<g class="chart-body" transform="translate({num(body_x)} {num(canvas.dy)})">')
    parts += _edges(graph, routes, prefix, desc_lines, flip)
    if canvas.isolated_caption is not None:
        parts.append(
            f'<text class="isolated-caption" x="{num(flip * canvas.isolated_caption[0])}" '
            f'y="{num(canvas.isolated_caption[1])}" '
            f'font-size="11" font-style="italic" fill="#4a5568"{dir_attr}>{esc(words.isolated)}</text>'
        )
    parts += _nodes(graph, layout, prefix, flip, dir_attr)
    parts += _edge_labels(graph, routes, prefix, flip, dir_attr)
    parts.append("</g>")
    parts += _legend(canvas, prefix, words)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _markers(prefix: str) -> list[str]:
    """Arrowheads, one per evidence status: filled for hierarchical edges, open for the others."""
    parts = ["<defs>"]
    for status, colour in EDGE_COLOURS.items():
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
    return parts


def _edges(graph: Graph, routes: Routes, prefix: str, desc_lines: list[str], flip: float = 1.0) -> list[str]:
    parts = ['<g class="edges">']
    for k, edge in enumerate(graph.edges):
        supporting, contradicting = count(edge.supporting), count(edge.contradicting)
        status = edge_status(edge)
        classes = ["edge", "hierarchical" if edge.hierarchical else "non-hierarchical"]
        classes.append("unsupported" if supporting == 0 else "supported")
        if contradicting:
            classes.append("contested")
        class_attr = " ".join(classes)
        a, b = graph.ends[k]
        marker = f"{prefix}-{'arrow' if edge.hierarchical else 'open'}-{status}"
        dash = f' stroke-dasharray="{UNSUPPORTED_DASH}"' if supporting == 0 else ""
        stroke_w = "1.8" if edge.hierarchical else "1.4"
        parts.append(
            f'<g class="{class_attr}" id="{prefix}-e{k}" data-source="{esc(clean_label(graph.ids[a]))}" '
            f'data-target="{esc(clean_label(graph.ids[b]))}" '
            f'data-relation="{esc(clean_label(edge.relation))}">'
        )
        parts.append(f"<title>{esc(desc_lines[k + 1])}</title>")
        parts.append(
            f'<path class="edge-line {class_attr.removeprefix("edge ")}" d="{path_d(routes.paths[k], flip)}" '
            f'fill="none" '
            f'stroke="{EDGE_COLOURS[status]}" stroke-width="{stroke_w}"{dash} marker-end="url(#{marker})"/>'
        )
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _nodes(graph: Graph, layout: Layout, prefix: str, flip: float = 1.0, dir_attr: str = "") -> list[str]:
    parts = ['<g class="nodes">']
    x, width, node_top, node_h = layout.x, layout.width, layout.node_top, layout.node_h
    for v in range(graph.n):
        kind, kind_text, shown = graph.kinds[v], graph.kind_text[v], graph.shown[v]
        lines, href = graph.name_lines(v), graph.href(v)
        info = KINDS.get(kind, OTHER_KIND)
        css_kind = kind if kind in KINDS else "other"
        cx = flip * x[v]
        left, top = cx - width[v] / 2, node_top[v]
        tooltip = graph.names[v] + (f" ({kind_text})" if kind_text else "")
        rtl = ' direction="rtl"' if is_rtl(shown) else ' direction="ltr"'  # a name keeps its own direction
        touched = layout.touched[v]
        placement = f'data-layer="{layout.layer_of[v]}"' if touched else 'data-isolated="true"'
        parts.append(
            f'<g class="node node-{css_kind}{"" if touched else " isolated"}" id="{prefix}-n{v}" '
            f'data-node-id="{esc(clean_label(graph.ids[v]))}" {placement}>'
        )
        if href:
            # The whole box leads to the actor's page; its <title> is the link's accessible name.
            parts.append(f'<a class="node-link" href="{esc(href)}">')
        parts.append(f"<title>{esc(tooltip)}</title>")
        parts.append(
            f'<rect class="node-box" x="{num(left)}" y="{num(top)}" width="{num(width[v])}" height="{num(node_h)}" '
            f'rx="8" ry="8" fill="{info[1]}" stroke="{info[2]}" stroke-width="1.5"/>'
        )
        # A name on fewer lines than the tallest box is centred in its box.
        first = top + 22 + (node_h - NODE_H - LINE_H * (len(lines) - 1)) / 2
        label_attrs = (
            f'class="node-label" x="{num(cx)}" y="{num(first)}" text-anchor="middle" font-size="13" '
            f'font-weight="bold" fill="#1a202c"{rtl}'
        )
        if len(lines) == 1:
            parts.append(f"<text {label_attrs}>{esc(lines[0])}</text>")
        else:
            spans = "".join(
                f'<tspan class="node-line" x="{num(cx)}" y="{num(first + LINE_H * i)}">{esc(line)}</tspan>'
                for i, line in enumerate(lines)
            )
            parts.append(f"<text {label_attrs}>{spans}</text>")
        if kind_text:
            parts.append(
                f'<text class="node-kind" x="{num(cx)}" y="{num(top + node_h - 11)}" text-anchor="middle" '
                f'font-size="10" fill="{info[2]}"{dir_attr}>{esc(kind_text)}</text>'
            )
        if href:
            parts.append("</a>")
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _edge_labels(graph: Graph, routes: Routes, prefix: str, flip: float = 1.0, dir_attr: str = "") -> list[str]:
    parts = ['<g class="edge-labels">']
    for k, ((lx0, y0, lx1, y1), text) in enumerate(zip(routes.label_boxes, graph.edge_text, strict=True)):
        x0, x1 = min(flip * lx0, flip * lx1), max(flip * lx0, flip * lx1)
        status = edge_status(graph.edges[k])
        colour = EDGE_COLOURS[status]
        css_status = "" if status == "supported" else status
        cx = (x0 + x1) / 2
        rtl = ' direction="rtl"' if is_rtl(text.shown) else dir_attr
        parts.append(f'<g class="edge-label{" " + css_status if css_status else ""}" data-edge="{prefix}-e{k}">')
        if text.shown != text.full:
            parts.append(f"<title>{esc(text.full)}</title>")
        parts.append(
            f'<rect x="{num(x0)}" y="{num(y0)}" width="{num(x1 - x0)}" height="{num(y1 - y0)}" rx="3" ry="3" '
            f'fill="#ffffff" fill-opacity="0.92" stroke="{colour}" stroke-width="0.6" stroke-opacity="0.6"/>'
        )
        parts.append(
            f'<text class="edge-relation" x="{num(cx)}" y="{num(y0 + 13)}" text-anchor="middle" font-size="11" '
            f'fill="#2d3748"{rtl}>{esc(text.shown)}</text>'
        )
        parts.append(
            f'<text class="edge-evidence" x="{num(cx)}" y="{num(y0 + 27)}" text-anchor="middle" font-size="11" '
            f'fill="{colour}" direction="ltr">{esc(text.evidence)}</text>'
        )
        parts.append("</g>")
    parts.append("</g>")
    return parts


def _legend(canvas: Frame, prefix: str, words: ChartWords = ENGLISH) -> list[str]:
    """The legend's rows under the chart: from the left edge rightwards, or right to left from the right edge."""
    flip = -1.0 if words.rtl else 1.0
    dir_attr = direction(words) or ' direction="ltr"'
    left = canvas.width - MARGIN if words.rtl else MARGIN
    parts = [f'<g class="legend" transform="translate({num(left)} {num(canvas.height - canvas.legend_h + 8)})">']
    for r, row_items in enumerate(canvas.legend_rows):
        lx = 0.0
        ly = r * 22.0 + 8
        for key, text, item_w in row_items:
            if key != "counts":
                status = {"hierarchical": "supported", "other": "supported"}.get(key, key)
                marker = f"{prefix}-{'open' if key == 'other' else 'arrow'}-{status}"
                dash = f' stroke-dasharray="{UNSUPPORTED_DASH}"' if key == "unsupported" else ""
                parts.append(
                    f'<path class="legend-line" d="M{num(flip * lx)} {num(ly)} L{num(flip * (lx + 28))} {num(ly)}" '
                    f'fill="none" stroke="{EDGE_COLOURS[status]}" stroke-width="1.8"{dash} '
                    f'marker-end="url(#{marker})"/>'
                )
                tx = lx + 34
            else:
                tx = lx
            if key == "counts" and words.rtl:  # the sample "n✓ / m✗" reads left to right, isolated (LRI … PDI)
                text = re.sub(r"[a-z]✓ / [a-z]✗", lambda sample: f"\u2066{sample.group(0)}\u2069", text)
            parts.append(
                f'<text class="legend-text" x="{num(flip * tx)}" y="{num(ly + 4)}" font-size="11" fill="#4a5568"'
                f"{dir_attr}>{esc(text)}</text>"
            )
            lx += item_w
    parts.append("</g>")
    return parts
