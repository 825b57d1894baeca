"""Node placement for the command chart: a layered (Sugiyama-style) layout, superiors on top.

Stages, each a function of the previous one's output:

1. :func:`assign_layers`: longest-path layering of the superior → subordinate graph; actors linked only by
   non-hierarchical relations join a neighbour's layer; actors without any relation are set apart;
2. :func:`add_virtual_nodes`: an edge spanning several layers gets a virtual node in each layer it crosses, so it
   is routed around nodes and takes part in crossing reduction;
3. :func:`order_layers`: barycenter sweeps to reduce crossings;
4. :func:`same_layer_links`: links within one layer are straight between neighbours, arcs over the row otherwise;
5. :func:`x_coordinates`: packed rows, then each node pulled towards its neighbours (least squares, order kept);
6. :func:`layout_graph` puts them together with the layers' heights into a :class:`Layout`;
7. :func:`place_isolated`, once the edges are routed: the actors without relations in rows under the chart.

Node numbers are those of :class:`~casefile.charts.graph.Graph` (0..n-1); virtual nodes are numbered from n.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass

from casefile.charts.graph import NODE_H_ONE_LINE, ChartEdge, Graph
from casefile.charts.text import text_width

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

NODE_H = NODE_H_ONE_LINE
LAYER_GAP = 104.0  # between the bottom of one layer and the top of the next: room for edge labels
NODE_GAP = 40.0
VIRTUAL_W = 14.0
ARC_ROOM = 60.0  # above the top layer, when arcs are drawn over it
ISOLATED_CAPTION = "No recorded relationships"

# Relations whose TARGET is the superior; for every other hierarchical relation the source is.
_TARGET_IS_SUPERIOR = frozenset({"subordinate_unit_of", "member_of", "subordinate_of", "reports_to"})


@dataclass
class Layout:
    """Where every node goes. Lists indexed by node number cover the virtual nodes too, except ``node_top``."""

    layer_of: list[int]  # -1 for an actor without relations
    is_dummy: list[bool]
    width: list[float]
    up: list[list[int]]  # neighbours in the layer above
    down: list[list[int]]  # neighbours in the layer below
    chains: dict[int, list[int]]  # edge number -> its nodes from the upper end to the lower, virtual ones between
    layers: list[list[int]]  # each layer's nodes, left to right
    position: list[int]  # index of each node within its layer
    touched: list[bool]  # has at least one relation
    isolated: list[int]  # actors without relations, in node order
    same_layer_kind: dict[int, str]  # edge number -> "straight" or "arc", for links within one layer
    x: list[float]  # centre of each node
    node_top: list[float]  # top of each actor's box
    arc_room: float
    node_h: float = NODE_H  # every actor's box height (taller when a name is wrapped onto more lines)

    def top_of(self, layer: int) -> float:
        return layer * (self.node_h + LAYER_GAP) + self.arc_room

    def node_box(self, v: int, pad: float = 4.0) -> Box:
        x, width, top = self.x[v], self.width[v], self.node_top[v]
        return (x - width / 2 - pad, top - pad, x + width / 2 + pad, top + self.node_h + pad)


# --- 1. layers ---------------------------------------------------------------------------------------------------


def _superior_first(edge: ChartEdge, a: int, b: int) -> tuple[int, int]:
    if str(edge.relation).strip().lower() in _TARGET_IS_SUPERIOR:
        return b, a
    return a, b


def _succ_lists(n: int, hierarchy: list[tuple[int, int]]) -> list[list[int]]:
    succ: list[set[int]] = [set() for _ in range(n)]
    for a, b in hierarchy:
        succ[a].add(b)
    return [sorted(s) for s in succ]


def _longest_path_layers(n: int, hierarchy: list[tuple[int, int]], others: list[tuple[int, int]]) -> list[int]:
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


def assign_layers(graph: Graph) -> tuple[list[int], list[bool]]:
    """Each actor's layer (0 at the top, no empty layer; -1 for an actor without any relation), and which actors
    have a relation."""
    n = graph.n
    hierarchy = []
    others = []
    touched = [False] * n
    for edge, (a, b) in zip(graph.edges, graph.ends, strict=True):
        touched[a] = touched[b] = True
        if a == b:
            continue
        if edge.hierarchical:
            hierarchy.append(_superior_first(edge, a, b))
        else:
            others.append((a, b))
    layer_of = _longest_path_layers(n, hierarchy, others)
    # Actors without any relationship are set apart in a row of their own under the chart.
    remap = {value: i for i, value in enumerate(sorted({layer_of[v] for v in range(n) if touched[v]}))}
    return [remap[layer_of[v]] if touched[v] else -1 for v in range(n)], touched


# --- 2. virtual nodes --------------------------------------------------------------------------------------------


@dataclass
class _Spans:
    layer_of: list[int]
    is_dummy: list[bool]
    width: list[float]
    up: list[list[int]]
    down: list[list[int]]
    chains: dict[int, list[int]]


def add_virtual_nodes(ends: list[tuple[int, int]], layer_of: list[int], widths: list[float]) -> _Spans:
    """A virtual node in every layer an edge crosses (numbered after the actors); the up/down neighbour lists."""
    n = len(layer_of)
    spans = _Spans(list(layer_of), [False] * n, list(widths), [[] for _ in range(n)], [[] for _ in range(n)], {})
    layer_of = spans.layer_of
    for k, (a, b) in enumerate(ends):
        if a == b or layer_of[a] == layer_of[b]:
            continue
        upper, lower = (a, b) if layer_of[a] < layer_of[b] else (b, a)
        chain = [upper]
        for li in range(layer_of[upper] + 1, layer_of[lower]):
            v = len(layer_of)
            layer_of.append(li)
            spans.is_dummy.append(True)
            spans.width.append(VIRTUAL_W)
            spans.up.append([])
            spans.down.append([])
            chain.append(v)
        chain.append(lower)
        for p, q in itertools.pairwise(chain):
            spans.down[p].append(q)
            spans.up[q].append(p)
        spans.chains[k] = chain
    return spans


# --- 3. order within layers --------------------------------------------------------------------------------------


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


def order_layers(layers: list[list[int]], up: list[list[int]], down: list[list[int]], total: int) -> list[list[int]]:
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


# --- 4. links within a layer -------------------------------------------------------------------------------------


def same_layer_links(
    ends: list[tuple[int, int]], layer_of: list[int], layers: list[list[int]], position: list[int], is_dummy: list[bool]
) -> tuple[dict[int, str], list[bool]]:
    """Same-layer links: straight between neighbours, an arc over the row when other actors are in between.
    Returns each such edge's kind and which layers have an arc over them."""
    arcs_in_layer = [False] * len(layers)
    same_layer_kind: dict[int, str] = {}
    for k, (a, b) in enumerate(ends):
        if a != b and layer_of[a] == layer_of[b]:
            lo, hi = sorted((position[a], position[b]))
            row = layers[layer_of[a]]
            between = any(not is_dummy[v] for v in row[lo + 1 : hi])
            same_layer_kind[k] = "arc" if between else "straight"
            if between:
                arcs_in_layer[layer_of[a]] = True
    return same_layer_kind, arcs_in_layer


# --- 5. x coordinates --------------------------------------------------------------------------------------------


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


def x_coordinates(
    graph: Graph, spans: _Spans, layers: list[list[int]], position: list[int], same_layer_kind: dict[int, str]
) -> list[float]:
    """Each node's centre: rows packed and centred, then nodes pulled towards their neighbours in sweeps."""
    width, is_dummy, layer_of, up, down = spans.width, spans.is_dummy, spans.layer_of, spans.up, spans.down

    def base_separation(p: int, q: int) -> float:
        gap = NODE_GAP if not (is_dummy[p] or is_dummy[q]) else (18.0 if is_dummy[p] != is_dummy[q] else 10.0)
        return (width[p] + width[q]) / 2 + gap

    extra: dict[tuple[int, int], float] = {}  # room for the label of a straight link between neighbours
    for k, kind in sorted(same_layer_kind.items()):
        if kind != "straight":
            continue
        a, b = graph.ends[k]
        row = layers[layer_of[a]]
        lo, hi = sorted((position[a], position[b]))
        have = sum(base_separation(row[i], row[i + 1]) for i in range(lo, hi)) - (width[a] + width[b]) / 2
        need = graph.edge_text[k].width + 24
        if need > have:
            key = (row[lo], row[lo + 1])
            extra[key] = max(extra.get(key, 0.0), need - have)

    def separation(p: int, q: int) -> float:
        return base_separation(p, q) + extra.get((p, q), 0.0)

    x = [0.0] * len(layer_of)
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
    layer_count = len(layers)
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
    return x


# --- 6. the whole layout -----------------------------------------------------------------------------------------


def layout_graph(graph: Graph) -> Layout:
    """Layers, order and coordinates of every actor with a relation (the others are placed by place_isolated)."""
    n = graph.n
    layer_of, touched = assign_layers(graph)
    layer_count = len({layer for layer in layer_of if layer >= 0})
    spans = add_virtual_nodes(graph.ends, layer_of, graph.widths)
    total = len(spans.layer_of)
    layers: list[list[int]] = [[] for _ in range(layer_count)]
    for v in range(total):
        if spans.layer_of[v] >= 0:
            layers[spans.layer_of[v]].append(v)
    layers = order_layers(layers, spans.up, spans.down, total)
    position = [0] * total
    for row in layers:
        for i, v in enumerate(row):
            position[v] = i
    same_layer_kind, arcs_in_layer = same_layer_links(graph.ends, spans.layer_of, layers, position, spans.is_dummy)
    x = x_coordinates(graph, spans, layers, position, same_layer_kind)
    layout = Layout(
        layer_of=spans.layer_of,
        is_dummy=spans.is_dummy,
        width=spans.width,
        up=spans.up,
        down=spans.down,
        chains=spans.chains,
        layers=layers,
        position=position,
        touched=touched,
        isolated=[v for v in range(n) if not touched[v]],
        same_layer_kind=same_layer_kind,
        x=x,
        node_top=[],
        arc_room=ARC_ROOM if arcs_in_layer and arcs_in_layer[0] else 0.0,
        node_h=graph.node_h,
    )
    layout.node_top = [layout.top_of(layer_of[v]) if layer_of[v] >= 0 else 0.0 for v in range(n)]
    return layout


# --- 7. actors without relations ---------------------------------------------------------------------------------


def place_isolated(
    layout: Layout, xs: list[float], ys: list[float], caption_text: str = ISOLATED_CAPTION
) -> tuple[float, float] | None:
    """Rows of the actors without relations under the drawn chart, whose extent ``xs``/``ys`` has; extends them
    by what the rows cover. Returns where the rows' caption goes (None when there is no such actor)."""
    if not layout.isolated:
        return None
    left = min(xs) + 4 if xs else 0.0
    row_y = max(ys) + 48 if ys else 0.0
    wrap = max(max(xs) - min(xs) if xs else 0.0, 680.0)
    caption = (left, row_y - 12)
    xs.append(left + text_width(caption_text, 11))
    ys.append(row_y - 26)
    cursor = left
    width = layout.width
    for v in layout.isolated:
        if cursor > left and cursor + width[v] > left + wrap:
            cursor = left
            row_y += layout.node_h + 18
        layout.x[v] = cursor + width[v] / 2
        layout.node_top[v] = row_y
        cursor += width[v] + 20
        box = layout.node_box(v)
        xs.extend([box[0], box[2]])
        ys.extend([box[1], box[3]])
    return caption
