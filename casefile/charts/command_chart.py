"""The command chart: actors in layers (superiors on top) and the relations between them, as an SVG document."""

from __future__ import annotations

from collections.abc import Sequence

from casefile.charts.graph import ChartEdge, ChartNode, prepare_graph
from casefile.charts.layout import layout_graph
from casefile.charts.routing import route_edges
from casefile.charts.svg import empty_svg, frame, id_prefix, write_command_chart
from casefile.charts.text import clean_label
from casefile.charts.words import ENGLISH, ChartWords


def render_command_chart(
    nodes: Sequence[ChartNode], edges: Sequence[ChartEdge], *, title: str, words: ChartWords = ENGLISH
) -> str:
    """A layered chart of actors (superiors on top) and the relations between them, as an SVG document.

    Edges reading "A commands B" point from A to B. Edge labels show the relation and the evidence count
    "n✓ / m✗" (supporting / contradicting). An edge with no supporting evidence is drawn red and dashed (class
    ``unsupported``); one with contradicting evidence has class ``contested``. Edges whose ends are not among
    ``nodes`` are skipped. ``words`` are the chart's own words in the page's language, and its direction
    (:mod:`casefile.charts.words`).
    """
    title_text = clean_label(title) or "Command chart"
    graph = prepare_graph(nodes, edges, title_text, words)
    if graph is None:
        return empty_svg(title_text, words.no_actors, "command-chart", rtl=words.rtl)
    prefix = id_prefix("cmd", (list(zip(graph.ids, graph.nodes, strict=True)), graph.edges, graph.title))
    layout = layout_graph(graph)
    routes = route_edges(graph, layout)
    canvas = frame(graph, layout, routes, words)  # also places the actors without relations, under the rest
    return write_command_chart(graph, layout, routes, canvas, prefix, words)
