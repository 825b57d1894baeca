"""SVG command charts and timelines: well-formed, escaped, CSP-safe, deterministic, and drawn honestly."""

from __future__ import annotations

import random
import re
import threading
import xml.etree.ElementTree as ET
from datetime import date, datetime

import pytest

from casefile.charts import (
    ChartEdge,
    ChartNode,
    TimelineEvent,
    clean_label,
    render_command_chart,
    render_timeline,
)
from casefile.charts.text import text_width

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = ["<script>alert(1)</script>", "a & b \" ' >", "\u202eevil", "محمد الكاني"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def find_all(root: ET.Element, tag: str, css_class: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}{tag}") if css_class in classes(el)]


def all_text(root: ET.Element) -> str:
    return "\n".join(el.text or "" for el in root.iter())


def box(rect: ET.Element | None) -> tuple[float, float, float, float]:
    assert rect is not None
    x, y, w, h = (float(rect.get(k, "nan")) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def node_group(root: ET.Element, node_id: str) -> ET.Element:
    (group,) = [g for g in find_all(root, "g", "node") if g.get("data-node-id") == node_id]
    return group


def node_top(root: ET.Element, node_id: str) -> float:
    rect = node_group(root, node_id).find(f".//{SVG}rect")
    assert rect is not None
    return float(rect.get("y", "nan"))


def edge(
    source: str,
    target: str,
    relation: str = "commands",
    *,
    supporting: int = 1,
    contradicting: int = 0,
    hierarchical: bool | None = None,
    label: str | None = None,
) -> ChartEdge:
    if hierarchical is None:
        hierarchical = relation in ("commands", "superior_of", "subordinate_unit_of", "member_of")
    return ChartEdge(
        source, target, relation, label or relation.replace("_", " "), supporting, contradicting, hierarchical
    )


def assert_safe_markup(svg: str) -> ET.Element:
    """Checks every chart must pass: well-formed, accessible, nothing a strict CSP or a sanitiser would object to."""
    root = parse(svg)
    assert root.tag == f"{SVG}svg"
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg
    assert re.fullmatch(r"0 0 \d+(\.\d)? \d+(\.\d)?", root.get("viewBox", ""))
    assert root.find(f"{SVG}title") is not None and (root.find(f"{SVG}title").text or "").strip()
    assert root.find(f"{SVG}desc") is not None and (root.find(f"{SVG}desc").text or "").strip()
    lowered = svg.lower()
    assert "<script" not in lowered
    assert "<style" not in lowered
    assert not re.search(r"\sstyle\s*=", lowered)  # a style attribute (font-style= is a presentation attribute)
    assert "<foreignobject" not in lowered
    assert "\u202e" not in svg
    for el in root.iter():
        assert el.tag != f"{SVG}script"
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), name
            assert name != "style"
            if "href" in name.lower():  # only a node's link to a same-origin page (the actor's), never a scheme
                assert el.tag == f"{SVG}a" and name == "href", name
                assert re.fullmatch(r"/(?![/\\])[\w\-./]*", value), value
            assert "javascript:" not in value.lower()
            if "url(" in value:
                assert re.fullmatch(r"url\(#[\w-]+\)", value), value
    return root


# ---- text cleaning ----------------------------------------------------------------------------------------------


def test_clean_label_strips_controls_and_bidi_overrides_but_keeps_scripts() -> None:
    assert clean_label("\u202eevil") == "evil"
    assert clean_label("a\u2066b\u2069c\u202a\u202b\u202c\u202dd") == "abcd"
    assert clean_label("x\x00y\x1b[31mz\x7f") == "xy[31mz"
    assert clean_label("  two\nlines\tand\u2028more ") == "two lines and more"
    assert clean_label("محمد الكاني") == "محمد الكاني"
    assert clean_label("a & b \" ' >") == "a & b \" ' >"
    assert clean_label("bad\ufffe\uffffchars") == "badchars"
    assert clean_label(None) == ""


# ---- command chart ----------------------------------------------------------------------------------------------


def sample_graph() -> tuple[list[ChartNode], list[ChartEdge]]:
    nodes = [
        ChartNode("gen", "Gen. Al-Rashid", "person"),
        ChartNode("div", "3rd Division", "unit"),
        ChartNode("bde", "42nd Brigade", "unit"),
        ChartNode("cpt", "Capt. Example", "person"),
        ChartNode("mil", "Hill Militia", "armed_group"),
        ChartNode("iso", "Unlinked Body", "state_body"),
    ]
    edges = [
        edge("gen", "div", label="commands · 2019–2020", supporting=2),
        edge("bde", "div", "subordinate_unit_of", supporting=0),
        edge("cpt", "bde", "member_of", supporting=1, contradicting=2),
        edge("mil", "bde", "allied_with", supporting=1),
    ]
    return nodes, edges


def test_chart_is_well_formed_with_one_group_per_node_and_one_path_per_edge() -> None:
    nodes, edges = sample_graph()
    root = assert_safe_markup(render_command_chart(nodes, edges, title="Case 7"))
    assert len(find_all(root, "g", "node")) == len(nodes)
    assert len(find_all(root, "path", "edge-line")) == len(edges)
    assert len(find_all(root, "g", "edge-label")) == len(edges)
    # an arrowhead marker is defined and every edge uses a local one
    assert root.find(f"{SVG}defs/{SVG}marker") is not None
    assert all(p.get("marker-end", "").startswith("url(#") for p in find_all(root, "path", "edge-line"))
    assert root.find(f"{SVG}title").text == "Case 7"
    # edge labels are placed clear of the nodes
    node_boxes = [box(g.find(f"{SVG}rect")) for g in find_all(root, "g", "node")]
    for label in find_all(root, "g", "edge-label"):
        lx0, ly0, lx1, ly1 = box(label.find(f"{SVG}rect"))
        for nx0, ny0, nx1, ny1 in node_boxes:
            assert lx1 <= nx0 or nx1 <= lx0 or ly1 <= ny0 or ny1 <= ly0


def test_edge_labels_show_relation_dates_and_evidence_counts() -> None:
    nodes, edges = sample_graph()
    text = all_text(parse(render_command_chart(nodes, edges, title="t")))
    assert "commands · 2019–2020" in text
    assert "2✓ / 0✗" in text
    assert "1✓ / 2✗" in text
    assert "0✓ / 0✗" in text


def test_unsupported_edge_is_dashed_and_red_contested_edge_is_marked() -> None:
    nodes, edges = sample_graph()
    root = parse(render_command_chart(nodes, edges, title="t"))
    paths = {(g.get("data-source"), g.get("data-target")): g.find(f"{SVG}path") for g in find_all(root, "g", "edge")}
    unsupported = paths[("bde", "div")]
    assert "unsupported" in classes(unsupported)
    assert unsupported.get("stroke-dasharray")
    assert unsupported.get("stroke") != paths[("gen", "div")].get("stroke")
    supported = paths[("gen", "div")]
    assert "unsupported" not in classes(supported) and supported.get("stroke-dasharray") is None
    assert "contested" in classes(paths[("cpt", "bde")])
    assert "contested" not in classes(supported)
    assert "unsupported" not in classes(paths[("cpt", "bde")])


def test_superiors_are_drawn_above_subordinates_whichever_end_is_the_superior() -> None:
    nodes, edges = sample_graph()
    root = parse(render_command_chart(nodes, edges, title="t"))
    assert node_top(root, "gen") < node_top(root, "div")  # commands: source above
    assert node_top(root, "div") < node_top(root, "bde")  # subordinate_unit_of: target above
    assert node_top(root, "bde") < node_top(root, "cpt")  # member_of: target above
    assert node_top(root, "mil") == node_top(root, "bde")  # a non-hierarchical link is drawn level


def test_arrow_runs_from_source_to_target() -> None:
    # "bde subordinate_unit_of div": the path starts at the brigade (below) and ends at the division (above).
    nodes, edges = sample_graph()
    root = parse(render_command_chart(nodes, edges, title="t"))
    (group,) = [g for g in find_all(root, "g", "edge") if g.get("data-source") == "bde"]
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", group.find(f"{SVG}path").get("d", ""))]
    start_y, end_y = numbers[1], numbers[-1]
    assert start_y == node_top(root, "bde")
    assert end_y == node_top(root, "div") + 50


def test_superior_of_and_longer_chains_layer_correctly() -> None:
    nodes = [ChartNode(i, i.upper(), "person") for i in ("a", "b", "c", "d")]
    edges = [edge("a", "b", "superior_of"), edge("b", "c"), edge("a", "c"), edge("d", "c", "member_of")]
    root = parse(render_command_chart(nodes, edges, title="t"))
    assert node_top(root, "a") < node_top(root, "b") < node_top(root, "c") < node_top(root, "d")
    # a long edge (a -> c skips a layer) is still one path
    assert len(find_all(root, "path", "edge-line")) == 4


def render_within(seconds: float, nodes: list[ChartNode], edges: list[ChartEdge]) -> str:
    """Render in a daemon thread, so that a layout that never terminates fails the test instead of hanging it."""
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(render_command_chart(nodes, edges, title="t")), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "rendering did not finish"
    return result[0]


@pytest.mark.parametrize("size", [2, 3, 7])
def test_command_cycles_render_without_hanging(size: int) -> None:
    nodes = [ChartNode(f"n{i}", f"Node {i}", "unit") for i in range(size)]
    edges = [edge(f"n{i}", f"n{(i + 1) % size}") for i in range(size)]
    edges.append(edge("n0", "n0", label="commands itself"))  # a self-loop, too
    edges.append(edge("n1", "n0", "member_of"))  # and a cycle through a target-is-superior relation
    root = assert_safe_markup(render_within(10, nodes, edges))
    assert len(find_all(root, "g", "node")) == size
    assert len(find_all(root, "path", "edge-line")) == size + 2


def test_dense_cyclic_graph_renders() -> None:
    nodes = [ChartNode(f"n{i:02d}", f"N{i}", "unit") for i in range(25)]
    edges = [
        edge(f"n{i:02d}", f"n{j:02d}") for i in range(25) for j in range(25) if i != j and (i * 7 + j * 3) % 11 == 0
    ]
    root = assert_safe_markup(render_within(30, nodes, edges))
    assert len(find_all(root, "path", "edge-line")) == len(edges)


def test_mutual_command_cycle_two_nodes() -> None:
    nodes = [ChartNode("A", "A", "person"), ChartNode("B", "B", "person")]
    root = assert_safe_markup(render_command_chart(nodes, [edge("A", "B"), edge("B", "A")], title="t"))
    assert node_top(root, "A") != node_top(root, "B")
    assert len(find_all(root, "path", "edge-line")) == 2


def test_hostile_labels_are_escaped_and_read_back_intact() -> None:
    nodes = [ChartNode(f"h{i}", label, "person") for i, label in enumerate(HOSTILE)]
    nodes.append(ChartNode("<x id='y'>", "control\x00\x1bchars", "<b>kind</b>"))
    edges = [
        edge("h0", "h1", label="<script>alert(2)</script>"),
        edge("h1", "h2", "allied_with", label="\u202eright-to-left & <b>"),
        edge("h2", "h3", label="محمد الكاني · 2019"),
    ]
    svg = render_command_chart(nodes, edges, title="<script>alert('title')</script> & \u202e")
    root = assert_safe_markup(svg)
    assert "&lt;script&gt;" in svg
    text = all_text(root)
    for label in HOSTILE:
        expected = clean_label(label)
        titles = [g.find(f"{SVG}title").text or "" for g in find_all(root, "g", "node")]
        assert any(t.startswith(expected) for t in titles), expected
    assert "a & b \" ' >" in text
    assert "evil" in text and "\u202e" not in text
    assert "محمد الكاني" in text  # Arabic kept as is
    assert "محمد الكاني · 2019" in text
    assert "<script>alert(2)</script>" in text
    assert "right-to-left & <b>" in text
    assert "controlchars" in text and "\x00" not in svg and "\x1b" not in svg
    assert root.find(f"{SVG}title").text == "<script>alert('title')</script> &"
    # attributes carrying ids are escaped too, and an unknown kind never becomes a class name
    assert node_group(root, "<x id='y'>") is not None
    assert "node-other" in classes(node_group(root, "<x id='y'>"))
    assert all(re.fullmatch(r"[\w -]+", el.get("class", "x")) for el in root.iter())


def test_rtl_labels_get_a_direction_attribute_only() -> None:
    root = parse(render_command_chart([ChartNode("a", "محمد الكاني", "person")], [], title="t"))
    label = find_all(root, "text", "node-label")[0]
    assert label.text == "محمد الكاني"
    assert label.get("direction") == "rtl"


def label_lines(group: ET.Element) -> list[str]:
    """A node's name as drawn: its label's text, or each of its lines."""
    label = find_all(group, "text", "node-label")[0]
    spans = [span.text or "" for span in label.iter(f"{SVG}tspan")]
    return spans or [label.text or ""]


def test_very_long_labels_are_wrapped_then_shortened_and_kept_in_full_in_a_title() -> None:
    long_name = "Commander of the Combined Northern and Eastern Operational Theatre Forces " * 2
    root = parse(render_command_chart([ChartNode("a", long_name, "person")], [], title="t"))
    group = node_group(root, "a")
    lines = label_lines(group)
    assert len(lines) == 3 and lines[-1].endswith("…")
    assert len(" ".join(lines)) < len(long_name.strip())
    assert (group.find(f".//{SVG}title").text or "").startswith(clean_label(long_name))


@pytest.mark.parametrize(
    "name",
    [
        "Commander of the Combined Northern Operational Forces",
        "Brigadier General Mohamed Abdelrahman al-Kani",
        "قائد اللواء التاسع محمد عبد الرحمن الكاني",
        "Supercalifragilisticexpialidociousbrigadecommander",  # one word wider than a box: broken inside
    ],
)
def test_long_names_are_wrapped_whole_inside_their_box(name: str) -> None:
    nodes = [ChartNode("a", name, "person"), ChartNode("b", "B", "unit")]
    root = assert_safe_markup(render_command_chart(nodes, [edge("a", "b")], title="t"))
    group = node_group(root, "a")
    lines = label_lines(group)
    assert len(lines) > 1
    assert "".join(lines).replace(" ", "") == name.replace(" ", "")  # nothing cut, nothing added
    rect = box(group.find(f".//{SVG}rect"))
    label = find_all(group, "text", "node-label")[0]
    spans = list(label.iter(f"{SVG}tspan"))
    for span, line in zip(spans, lines, strict=True):
        assert text_width(line, 13, bold=True) <= rect[2] - rect[0] - 20, line  # fits the box, with margins
        assert rect[1] < float(span.get("y", "nan")) < rect[3]
    kind = find_all(group, "text", "node-kind")[0]
    assert float(spans[-1].get("y", "nan")) < float(kind.get("y", "nan")) < rect[3]
    # Every box of the chart is as tall, so the layers stay level.
    assert box(node_group(root, "b").find(f".//{SVG}rect"))[3] - node_top(root, "b") == rect[3] - rect[1]


def test_isolated_nodes_are_drawn() -> None:
    nodes, edges = sample_graph()
    root = parse(render_command_chart(nodes, edges, title="t"))
    group = node_group(root, "iso")
    assert "isolated" in classes(group)
    assert "No recorded relationships" in all_text(root)
    only_isolated = assert_safe_markup(render_command_chart(nodes, [], title="t"))
    assert len(find_all(only_isolated, "g", "node")) == len(nodes)
    assert find_all(only_isolated, "path", "edge-line") == []


def test_edges_to_unknown_nodes_are_skipped() -> None:
    nodes = [ChartNode("a", "A", "person"), ChartNode("b", "B", "unit")]
    root = assert_safe_markup(render_command_chart(nodes, [edge("a", "b"), edge("a", "ghost")], title="t"))
    assert len(find_all(root, "path", "edge-line")) == 1


@pytest.mark.parametrize(("nodes", "edges"), [([], []), ([], [edge("a", "b")])])
def test_empty_chart_is_a_valid_svg_saying_no_data(nodes: list[ChartNode], edges: list[ChartEdge]) -> None:
    svg = render_command_chart(nodes, edges, title="Empty <case>")
    root = assert_safe_markup(svg)
    assert "no data" in all_text(root).lower()
    assert root.find(f"{SVG}title").text == "Empty <case>"


def test_chart_output_is_deterministic_whatever_the_input_order() -> None:
    nodes, edges = sample_graph()
    first = render_command_chart(nodes, edges, title="t")
    assert render_command_chart(nodes, edges, title="t") == first
    rng = random.Random(4)
    for _ in range(5):
        shuffled_nodes, shuffled_edges = nodes[:], edges[:]
        rng.shuffle(shuffled_nodes)
        rng.shuffle(shuffled_edges)
        assert render_command_chart(shuffled_nodes, shuffled_edges, title="t") == first


def test_chart_grows_with_the_graph() -> None:
    def size(svg: str) -> tuple[float, float]:
        _, _, w, h = parse(svg).get("viewBox", "").split()
        return float(w), float(h)

    small = size(render_command_chart([ChartNode("a", "A", "unit")], [], title="t"))
    wide_nodes = [ChartNode(f"n{i:02d}", f"Unit {i}", "unit") for i in range(12)]
    wide = size(
        render_command_chart(
            [ChartNode("top", "Top", "person"), *wide_nodes], [edge("top", n.id) for n in wide_nodes], title="t"
        )
    )
    deep_nodes = [ChartNode(f"d{i}", f"Level {i}", "unit") for i in range(6)]
    deep = size(render_command_chart(deep_nodes, [edge(f"d{i}", f"d{i + 1}") for i in range(5)], title="t"))
    assert wide[0] > small[0] * 2
    assert deep[1] > small[1] * 2


def test_nodes_do_not_overlap_in_a_random_graph() -> None:
    rng = random.Random(7)
    kinds = ["person", "organisation", "armed_group", "unit", "state_body"]
    relations = ["commands", "superior_of", "subordinate_unit_of", "member_of", "allied_with", "supplies"]
    nodes = [ChartNode(f"n{i:02d}", f"Actor {i}", rng.choice(kinds)) for i in range(40)]
    edges = [
        edge(
            f"n{rng.randrange(40):02d}",
            f"n{rng.randrange(40):02d}",
            rng.choice(relations),
            supporting=rng.randrange(3),
            contradicting=rng.randrange(2),
        )
        for _ in range(60)
    ]
    root = assert_safe_markup(render_command_chart(nodes, edges, title="random"))
    boxes = [box(group.find(f"{SVG}rect")) for group in find_all(root, "g", "node")]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


# ---- timeline ---------------------------------------------------------------------------------------------------


def timeline_events() -> list[TimelineEvent]:
    return [
        TimelineEvent("day", "Shelling of the market", date(2019, 3, 14), None, "day"),
        TimelineEvent("month", "Siege", date(2019, 2, 10), None, "month"),
        TimelineEvent("year", "Detentions", date(2018, 6, 1), None, "year"),
        TimelineEvent("approx", "محمد الكاني takes command", date(2019, 6, 1), None, "approximate"),
        TimelineEvent("range", "Curfew <b>", date(2020, 5, 2), date(2020, 5, 20), "day"),
        TimelineEvent("unknown", "Rumoured meeting & \u202evisit", None, None, "day"),
    ]


def event_group(root: ET.Element, event_id: str) -> ET.Element:
    (group,) = [g for g in find_all(root, "g", "event") if g.get("data-event-id") == event_id]
    return group


def bar(root: ET.Element, event_id: str) -> tuple[float, float]:
    rect = find_all(event_group(root, event_id), "rect", "event-bar")[0]
    return float(rect.get("x", "nan")), float(rect.get("width", "nan"))


def test_timeline_is_well_formed_with_year_ticks_and_a_row_per_event() -> None:
    root = assert_safe_markup(render_timeline(timeline_events(), title="Events"))
    dated = [g for g in find_all(root, "g", "event") if "undated" not in classes(g)]
    assert len(dated) == 5
    assert [t.text for t in find_all(root, "text", "year-label")] == ["2018", "2019", "2020"]
    rows = [float(find_all(g, "text", "event-label")[0].get("y", "nan")) for g in dated]
    assert len(set(rows)) == len(rows)  # one row each
    assert [g.get("data-event-id") for g in dated] == ["year", "approx", "month", "day", "range"]  # by date


def test_month_and_year_precision_span_the_whole_month_and_year() -> None:
    root = parse(render_timeline(timeline_events(), title="t"))
    month_x, month_w = bar(root, "month")
    year_x, year_w = bar(root, "year")
    assert month_w > 0
    assert month_w / year_w == pytest.approx(28 / 365, rel=0.05)  # February 2019, not just the 10th
    # the month bar starts on 1 February: one year + 31 days after 1 January 2018
    assert (month_x - year_x) / year_w == pytest.approx((365 + 31) / 365, rel=0.01)
    assert find_all(event_group(root, "day"), "circle", "event-point")  # a known day is a point
    assert "2019-02" in all_text(event_group(root, "month"))
    assert "2020-05-02 – 2020-05-20" in all_text(event_group(root, "range"))


def test_approximate_dates_are_dashed_faded_and_labelled() -> None:
    root = parse(render_timeline(timeline_events(), title="t"))
    group = event_group(root, "approx")
    assert "approximate" in classes(group)
    rect = find_all(group, "rect", "event-bar")[0]
    assert "approximate" in classes(rect)
    assert rect.get("stroke-dasharray")
    assert float(rect.get("fill-opacity", "1")) < 0.5
    label = find_all(group, "text", "event-label")[0].text or ""
    assert "approx." in label and "محمد الكاني" in label
    exact = find_all(event_group(root, "month"), "rect", "event-bar")[0]
    assert exact.get("stroke-dasharray") is None


def test_undated_events_are_listed_below_the_axis() -> None:
    svg = render_timeline(timeline_events(), title="t")
    root = parse(svg)
    group = event_group(root, "unknown")
    assert "undated" in classes(group)
    assert "Rumoured meeting & visit" in all_text(group)
    assert "Date unknown" in all_text(root)
    axis_y = float(find_all(root, "line", "axis-line")[0].get("y1", "nan"))
    assert float(find_all(group, "text", "event-label")[0].get("y", "nan")) > axis_y


def test_timeline_escapes_labels_and_is_deterministic() -> None:
    events = timeline_events()
    svg = render_timeline(events, title="<script>x</script>")
    root = assert_safe_markup(svg)
    assert "Curfew <b>" in all_text(root)
    assert root.find(f"{SVG}title").text == "<script>x</script>"
    assert render_timeline(list(reversed(events)), title="<script>x</script>") == svg


def test_timeline_odd_inputs() -> None:
    events = [
        TimelineEvent("reversed", "Reversed", date(2022, 1, 1), date(2021, 1, 1), "day"),
        TimelineEvent("end-only", "Ends only", None, date(2020, 6, 1), "month"),
        TimelineEvent("datetime", "A datetime", datetime(2010, 3, 3, 12, 0), None, "day"),
        TimelineEvent("odd", "Odd precision", date(2015, 3, 3), None, "fortnight"),
        TimelineEvent("wide", "Ancient and far", date(1, 1, 1), date(9999, 12, 31), "year"),
    ]
    root = assert_safe_markup(render_timeline(events, title="t"))
    assert bar(root, "reversed")[1] > 0
    assert "until 2020-06" in all_text(event_group(root, "end-only"))
    assert "approximate" in classes(event_group(root, "odd"))  # never drawn more precisely than known


def test_timeline_with_only_undated_events_and_empty_timeline() -> None:
    root = assert_safe_markup(render_timeline([TimelineEvent("u", "Someday", None, None, "day")], title="t"))
    assert "Someday" in all_text(root) and "Date unknown" in all_text(root)
    empty = assert_safe_markup(render_timeline([], title="Nothing"))
    assert "no data" in all_text(empty).lower()


def test_nodes_link_to_same_origin_pages_only() -> None:
    nodes = [
        ChartNode("a", "Mohamed al-Kani", "person", "/actors/1b2c"),
        ChartNode("b", "Kaniyat", "armed_group", "javascript:alert(1)"),
        ChartNode("c", "Elsewhere", "unit", "//evil.example/x"),
        ChartNode("d", "Quoted", "unit", '/actors/x" onclick="alert(1)'),
        ChartNode("e", "No link", "unit"),
    ]
    svg = render_command_chart(nodes, [edge("a", "b"), edge("b", "c")], title="t")
    root = assert_safe_markup(svg)
    links = {g.get("data-node-id"): g.find(f"{SVG}a") for g in find_all(root, "g", "node")}
    link = links["a"]
    assert link is not None and link.get("href") == "/actors/1b2c" and "node-link" in classes(link)
    # The link holds the whole box, and its title names it.
    assert link.find(f"{SVG}rect") is not None and (link.find(f"{SVG}title").text or "").startswith("Mohamed al-Kani")
    assert all(links[k] is None for k in "bcde")
    # Links inside an img would be hidden from assistive technology: a linked chart is a group.
    assert root.get("role") == "group"
    assert parse(render_command_chart(nodes[4:], [], title="t")).get("role") == "img"
    assert "javascript" not in svg and "evil.example" not in svg and "onclick" not in svg
