"""Edge routing for the command chart, once the nodes are placed (:mod:`casefile.charts.layout`).

Stages:

1. :func:`ports`: where each edge meets its nodes: edges between layers leave from the bottom of the upper node
   and arrive at the top of the lower one, arcs over a row start and end on top, straight links within a row on
   the facing sides, self-loops on the right; several edges on one side are spread along it in the order of their
   other ends, so they do not cross there;
2. :func:`edge_paths`: each edge as segments (lines and cubic Béziers) through its virtual nodes, drawn from the
   source so that the arrowhead is at the target;
3. :func:`place_labels`: each edge's label box where it hides neither a node, an arrowhead nor another label.
"""

from __future__ import annotations

from dataclasses import dataclass

from casefile.charts.graph import Graph
from casefile.charts.layout import LAYER_GAP, Box, Layout

Point = tuple[float, float]
LABEL_H = 32.0


@dataclass
class Segment:
    """A piece of an edge path: a straight line (2 points) or a cubic Bézier (4 points)."""

    points: list[Point]
    in_gap: bool  # between layers (a good place for a label) rather than alongside nodes

    def reversed(self) -> Segment:
        return Segment(self.points[::-1], self.in_gap)

    def at(self, t: float) -> Point:
        if len(self.points) == 2:
            (x0, y0), (x1, y1) = self.points
            return x0 + (x1 - x0) * t, y0 + (y1 - y0) * t
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = self.points
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


@dataclass
class Routes:
    paths: list[list[Segment]]  # per edge, from source to target
    obstacles: list[Box]  # the actors' boxes and the arrowheads, which labels keep clear of
    label_boxes: list[Box]  # per edge


def _spread(centre: float, count: int, room: float, step: float) -> list[float]:
    if count <= 1:
        return [centre] * count
    span = min(room, (count - 1) * step)
    return [centre - span / 2 + i * span / (count - 1) for i in range(count)]


def _overlap(a: Box, b: Box) -> float:
    """Overlapping area of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


# --- 1. ports ----------------------------------------------------------------------------------------------------


def ports(graph: Graph, layout: Layout) -> dict[tuple[int, int], Point]:
    """(edge number, end) -> where that end meets its node; end 0 is the source, 1 the target."""
    x, chains, kind_of = layout.x, layout.chains, layout.same_layer_kind
    top_ports: list[list[tuple[float, int, int]]] = [[] for _ in range(graph.n)]
    bottom_ports: list[list[tuple[float, int, int]]] = [[] for _ in range(graph.n)]
    side_ports: dict[tuple[int, str], list[tuple[float, int, int]]] = {}
    for k, (a, b) in enumerate(graph.ends):
        if k in chains:
            chain = chains[k]
            bottom_ports[chain[0]].append((x[chain[1]], k, 0 if chain[0] == a else 1))
            top_ports[chain[-1]].append((x[chain[-2]], k, 0 if chain[-1] == a else 1))
        elif kind_of.get(k) == "arc":
            top_ports[a].append((x[b], k, 0))
            top_ports[b].append((x[a], k, 1))
        elif kind_of.get(k) == "straight":
            left, right = (a, b) if x[a] < x[b] else (b, a)
            side_ports.setdefault((left, "right"), []).append((0.0, k, 0 if left == a else 1))
            side_ports.setdefault((right, "left"), []).append((0.0, k, 0 if right == a else 1))
        else:  # self-loop
            side_ports.setdefault((a, "right"), []).append((1.0, k, 0))
    port: dict[tuple[int, int], Point] = {}
    width, node_top = layout.width, layout.node_top
    for v in range(graph.n):
        top = node_top[v]
        for lists, y in ((top_ports[v], top), (bottom_ports[v], top + layout.node_h)):
            lists.sort()
            for px, (_, k, end) in zip(_spread(x[v], len(lists), width[v] - 28, 16), lists, strict=True):
                port[(k, end)] = (px, y)
    for (v, side), lists in sorted(side_ports.items()):
        lists.sort()
        edge_x = x[v] + width[v] / 2 if side == "right" else x[v] - width[v] / 2
        middle, room = node_top[v] + layout.node_h / 2, layout.node_h - 16
        for py, (_, k, end) in zip(_spread(middle, len(lists), room, 10), lists, strict=True):
            port[(k, end)] = (edge_x, py)
    return port


# --- 2. paths ----------------------------------------------------------------------------------------------------


def edge_paths(graph: Graph, layout: Layout, port: dict[tuple[int, int], Point]) -> list[list[Segment]]:
    """Each edge's path from its source to its target."""
    geometry: list[list[Segment]] = []
    for k, (a, _b) in enumerate(graph.ends):
        if k in layout.chains:
            segments = _through_layers(layout, layout.chains[k], k, a, port)
        elif layout.same_layer_kind.get(k) == "arc":
            (x0, y0), (x1, y1) = port[(k, 0)], port[(k, 1)]
            rise = min(LAYER_GAP * 0.62, 34 + abs(x1 - x0) * 0.12)
            segments = [Segment([(x0, y0), (x0, y0 - rise), (x1, y1 - rise), (x1, y1)], True)]
        elif layout.same_layer_kind.get(k) == "straight":
            segments = [Segment([port[(k, 0)], port[(k, 1)]], True)]
        else:
            x0, y0 = port[(k, 0)]
            segments = [Segment([(x0, y0 - 10), (x0 + 46, y0 - 34), (x0 + 46, y0 + 34), (x0, y0 + 10)], True)]
        geometry.append(segments)
    return geometry


def _through_layers(
    layout: Layout, chain: list[int], k: int, source: int, port: dict[tuple[int, int], Point]
) -> list[Segment]:
    """An edge between layers: an S-curve across each gap, straight down past each layer it crosses."""
    upper_end = 0 if chain[0] == source else 1
    points: list[Point] = [port[(k, upper_end)]]
    for v in chain[1:-1]:
        top = layout.top_of(layout.layer_of[v])
        points.extend([(layout.x[v], top), (layout.x[v], top + layout.node_h)])
    points.append(port[(k, 1 - upper_end)])
    segments = []
    for i in range(0, len(points) - 1):
        (x0, y0), (x1, y1) = points[i], points[i + 1]
        if i % 2 == 0:  # crossing a gap between layers
            mid = (y0 + y1) / 2
            segments.append(Segment([(x0, y0), (x0, mid), (x1, mid), (x1, y1)], True))
        else:  # passing a layer beside its nodes
            segments.append(Segment([(x0, y0), (x1, y1)], False))
    if upper_end == 1:  # drawn from the source, so that the arrowhead is at the target
        segments = [s.reversed() for s in reversed(segments)]
    return segments


# --- 3. labels ---------------------------------------------------------------------------------------------------


def place_labels(graph: Graph, layout: Layout, geometry: list[list[Segment]]) -> tuple[list[Box], list[Box]]:
    """Each edge's label box, placed where it hides neither nodes nor other labels; returns the obstacles
    (nodes and arrowheads) and the label boxes."""
    obstacles = [layout.node_box(v) for v in range(graph.n) if layout.touched[v]]
    for segments in geometry:  # keep arrowheads visible
        tip_x, tip_y = segments[-1].points[-1]
        obstacles.append((tip_x - 7, tip_y - 14, tip_x + 7, tip_y + 14))
    label_boxes: list[Box] = []
    box_h = LABEL_H
    for k in range(len(graph.edges)):
        box_w = graph.edge_text[k].width
        cx, cy = _best_spot(_label_candidates(graph, layout, geometry[k], k, box_w), box_w, obstacles, label_boxes)
        label_boxes.append((cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2))
    return obstacles, label_boxes


def _label_candidates(graph: Graph, layout: Layout, segments: list[Segment], k: int, box_w: float) -> list[Point]:
    """Where edge ``k``'s label may go, best first: along the path, middle segments and midpoints first."""
    box_h = LABEL_H
    gap_indices = [i for i, s in enumerate(segments) if s.in_gap] or list(range(len(segments)))
    middle = (len(segments) - 1) / 2
    gap_indices.sort(key=lambda i: (abs(i - middle), i))
    candidates = [segments[i].at(t) for i in gap_indices for t in (0.5, 0.38, 0.62, 0.26, 0.74, 0.15, 0.85)]
    if layout.same_layer_kind.get(k) == "straight":  # also just above or below the pair of nodes
        mx, my = segments[0].at(0.5)
        candidates += [(mx, my - layout.node_h / 2 - 24), (mx, my + layout.node_h / 2 + 24)]
    elif graph.ends[k][0] == graph.ends[k][1]:  # self-loop: beside the loop, else above or below the node
        v = graph.ends[k][0]
        loop_x, loop_y = segments[0].at(0.5)
        candidates = [
            (loop_x + 6 + box_w / 2, loop_y),
            (layout.x[v], layout.node_top[v] - box_h / 2 - 6),
            (layout.x[v], layout.node_top[v] + layout.node_h + box_h / 2 + 6),
        ]
    return candidates


def _best_spot(candidates: list[Point], box_w: float, obstacles: list[Box], label_boxes: list[Box]) -> Point:
    """The first candidate with the least overlap (labels overlapping labels count double)."""
    box_h = LABEL_H
    best: tuple[float, float, float] = (float("inf"), *candidates[0])
    for cx, cy in candidates:
        box = (cx - box_w / 2, cy - box_h / 2, cx + box_w / 2, cy + box_h / 2)
        cost = sum(_overlap(box, other) for other in obstacles)
        cost += sum(_overlap(box, other) for other in label_boxes) * 2.0
        if cost < best[0]:
            best = (cost, cx, cy)
            if cost == 0:
                break
    return best[1], best[2]


def route_edges(graph: Graph, layout: Layout) -> Routes:
    paths = edge_paths(graph, layout, ports(graph, layout))
    obstacles, label_boxes = place_labels(graph, layout, paths)
    return Routes(paths, obstacles, label_boxes)
