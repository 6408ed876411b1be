"""Diagrams that read at any size: grouping of identical siblings, --depth in every format, the
top-down layout, and the size limit (exit code 13) for drawings and Mermaid.

Graphs for the transforms are built in memory (`from_records`); what the command does is run
against the real local server, and SVG is real Graphviz output, measured from its own
`width`, `viewBox` and `font-size`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from genealogy import DiagramTooLarge, from_records
from genealogy.datasets import TRACTION_PACK, synthetic_tree, traction_pack
from genealogy.errors import ExitCode
from genealogy.grouping import GROUP, group_siblings, limit_depth
from genealogy.localserver import LocalTofuPilot
from genealogy.nodes import outcome_class
from genealogy.renderers import RenderOptions, render
from tests.conftest import MakeServer, run_cli
from tests.records import unit
from tests.strategies import LEGEND_NODES, SVG, dot_structure
from tests.test_html_page import embedded

VIEW_WIDTH_PX = 1920  # a full-HD screen, the drawing fitted to its width
READABLE_PX = 8.0


def module_units(cells: int = 12) -> list[dict[str, Any]]:
    """TOP -> M1 (cells C001.. of CELL rev B, C003 failed, C005 rev C, C007 errored, a missing
    X404) and M2 (two cells only), and a cell C002 that M2 lists too (two parents)."""
    serials = [f"C{n:03d}" for n in range(1, cells + 1)]
    units = [
        unit("TOP", part="RACK", children=["M1", "M2"]),
        unit("M1", part="MOD", parent="TOP", children=[*serials, "X404"]),
        unit("M2", part="MOD", parent="TOP", children=["D001", "D002", "C002"]),
        unit("D001", part="CELL", revision="B", parent="M2"),
        unit("D002", part="CELL", revision="B", parent="M2"),
    ]
    odd = {"C003": {"outcome": "FAIL"}, "C005": {"revision": "C"}, "C007": {"outcome": "ERROR"}}
    for serial in serials:
        fields: dict[str, Any] = {"part": "CELL", "revision": "B", "parent": "M1"}
        units.append(unit(serial, **{**fields, **odd.get(serial, {})}))
    return units


def groups_of(graph: nx.DiGraph) -> dict[str, dict[str, Any]]:
    return {node: attrs[GROUP] for node, attrs in graph.nodes(data=True) if attrs.get(GROUP)}


# -- grouping ----------------------------------------------------------------------------------


def test_identical_sibling_leaves_become_one_group_with_count_and_members() -> None:
    graph = from_records(module_units(), "C012")  # the start is one of the cells
    grouped = group_siblings(graph, threshold=0)
    groups = groups_of(grouped)
    assert len(groups) == 1
    ((name, group),) = groups.items()
    identical = {f"C{n:03d}" for n in range(1, 13)} - {"C002", "C003", "C005", "C007", "C012"}
    assert group == {"count": len(identical), "members": sorted(identical)}
    assert name.startswith(f"×{len(identical)} CELL rev B PASS")
    assert list(grouped.predecessors(name)) == ["M1"] and grouped.out_degree(name) == 0
    assert outcome_class(grouped.nodes[name]) == "pass"
    # drawn singly: failed, errored, missing, another revision, the start, two parents
    for single in ("C003", "C007", "X404", "C005", "C012", "C002", "D001", "D002"):
        assert single in grouped, single
    assert not identical & set(grouped)
    # every unit is either drawn or counted in exactly one group
    counted = sum(g["count"] for g in groups.values()) + grouped.number_of_nodes() - len(groups)
    assert counted == graph.number_of_nodes()
    assert graph.number_of_nodes() == 18 and GROUP not in str(graph.nodes(data=True))


def test_units_marked_by_diff_are_never_grouped() -> None:
    graph = from_records(module_units(), "TOP")
    marked = {"C004", "C006", "C008"}  # alike, and each a difference from the reference
    for serial in marked:
        graph.nodes[serial]["diff"] = "missing from the reference"
    grouped = group_siblings(graph, threshold=0)
    assert marked <= set(grouped)
    assert not any(marked & set(group["members"]) for group in groups_of(grouped).values())
    assert groups_of(grouped)  # the unmarked identical cells are still one box


def test_grouping_starts_above_the_threshold_and_needs_three_members() -> None:
    graph = from_records(module_units(), "TOP")
    assert group_siblings(graph, threshold=graph.number_of_nodes()) is graph
    assert groups_of(group_siblings(graph, threshold=graph.number_of_nodes() - 1))
    # M2's two cells stay single: a group of two saves one box
    assert {"D001", "D002"} <= set(group_siblings(graph, threshold=0))
    assert groups_of(group_siblings(graph, threshold=0, min_members=2)).keys() >= {
        "×2 CELL rev B PASS in M2"
    }


def test_a_group_name_never_takes_a_real_serial_number() -> None:
    units = module_units()
    taken = "×8 CELL rev B PASS in M1"  # what the group would be called
    units[0]["children"].append({**units[0]["children"][0], "serial_number": taken})
    units.append(unit(taken, part="RACK", parent="TOP"))
    graph = from_records(units, "TOP")
    grouped = group_siblings(graph, threshold=0)
    assert taken in grouped and not grouped.nodes[taken].get(GROUP)
    assert groups_of(grouped)[f"{taken} (2)"]["count"] == 8


def test_renderers_group_diagrams_only_and_no_group_draws_every_unit() -> None:
    graph = from_records(module_units(120), "TOP")  # 126 units: above the threshold
    _, labels, _ = dot_structure(str(render(graph, "dot")))
    texts = ["".join(label.itertext()) for label in labels.values()]
    assert len(labels) == 11 and any(text.startswith("×116 CELL rev B PASS") for text in texts)
    assert "#215;116 CELL rev B PASS" in str(render(graph, "mermaid"))  # × as an entity
    _, every, _ = dot_structure(str(render(graph, "dot", RenderOptions(group=False))))
    assert len(every) == graph.number_of_nodes() == 126
    assert len(json.loads(render(graph, "json"))["nodes"]) == 126  # data keeps every unit
    assert len(list(csv.DictReader(io.StringIO(str(render(graph, "csv")))))) == 126
    assert str(render(graph, "text")).count("\n") == 126 + 1  # C002 again, marked (*)


# -- depth -------------------------------------------------------------------------------------


def levels(graph: nx.DiGraph) -> dict[str, int]:
    """Shortest distance from a top-level assembly, computed apart from the code under test."""
    roots = [node for node in graph if graph.in_degree(node) == 0]
    lengths = nx.multi_source_dijkstra_path_length(graph, roots)
    return {node: int(length) for node, length in lengths.items()}


def mermaid_nodes(source: str) -> int:
    return len(re.findall(r'^    n\d+\["', source, re.MULTILINE))


def graphml_nodes(source: str) -> int:
    root = ET.fromstring(source)
    return len(root.findall(".//{http://graphml.graphdrawing.org/xmlns}node"))


COUNTERS = {
    "dot": lambda text: len(dot_structure(text)[1]),
    "mermaid": mermaid_nodes,
    "json": lambda text: len(json.loads(text)["nodes"]),
    "csv": lambda text: len(list(csv.DictReader(io.StringIO(text)))),
    "graphml": graphml_nodes,
}


@pytest.mark.parametrize("fmt", sorted(COUNTERS))
@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_depth_is_honoured_by_every_format(fmt: str, depth: int) -> None:
    graph = from_records(synthetic_tree(60, 4), "SN-0000042")  # 3 links below the top
    expected = sum(1 for level in levels(graph).values() if level <= depth)
    options = RenderOptions(depth=depth, group=False)
    assert COUNTERS[fmt](str(render(graph, fmt, options))) == expected


@pytest.mark.graphviz
def test_depth_is_honoured_by_svg_and_says_what_is_below() -> None:
    graph = from_records(synthetic_tree(60, 4), "SN-0000000")
    svg = str(render(graph, "svg", RenderOptions(depth=1)))
    root = ET.fromstring(svg)
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == 1 + 4 + LEGEND_NODES  # fan-out 4: the top and its children
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert texts.count("4 more below (--depth)") == 4


def test_depth_counts_from_the_top_whatever_the_start_and_keeps_the_crawled_graph() -> None:
    graph = from_records(module_units(), "C003")
    cut = limit_depth(graph, 1)
    assert set(cut) == {"TOP", "M1", "M2"}
    assert graph.number_of_nodes() == 18  # a new graph: the crawled one is unchanged
    assert limit_depth(graph, None) is graph


# -- layout ------------------------------------------------------------------------------------


def test_dot_is_drawn_top_down_from_the_top_level_assembly() -> None:
    graph = from_records(module_units(), "C012")  # crawled from a leaf
    source = str(render(graph, "dot"))
    assert "rankdir=TB" in source and "rankdir=LR" not in source
    _, labels, _ = dot_structure(source)
    first = "".join(labels["u0"].itertext())
    assert first.startswith("TOP")  # the root is written, and ranked, first


def test_many_leaves_are_a_grid_in_one_box_with_one_arrow() -> None:
    graph = from_records(module_units(20), "TOP")
    source = str(render(graph, "dot", RenderOptions(group=False)))
    assert source.count("subgraph cluster_u") == 1
    assert len(re.findall(r"-> u\d+ \[lhead=cluster_u\d+\]", source)) == 1
    assert "[style=invis]" in source  # the grid's columns


# -- the size limit ----------------------------------------------------------------------------


def svg_size(svg: str) -> tuple[float, float, float]:
    """Width and height in points (from `width`, checked against the viewBox) and the most
    frequent font size, read from the SVG itself."""
    root = ET.fromstring(svg)
    width, height = (float(root.get(side, "").removesuffix("pt")) for side in ("width", "height"))
    box = [float(v) for v in root.get("viewBox", "").split()]
    assert box[2:] == pytest.approx([width, height], abs=0.1)
    fonts = Counter(float(t.get("font-size", 0)) for t in root.iter(f"{SVG}text"))
    return width, height, fonts.most_common(1)[0][0]


def text_px(svg: str) -> float:
    """Text height in pixels, the drawing fitted to a full-HD screen's width (never enlarged
    beyond its natural size, 96 px per 72 pt)."""
    width, _, font = svg_size(svg)
    return font * min(96 / 72, VIEW_WIDTH_PX / width)


@pytest.fixture(scope="module")
def pack_server() -> Any:
    data = traction_pack()
    with LocalTofuPilot(data.units, runs=data.runs, api_key="test-key-5f0c2a9e") as server:
        yield server


@pytest.mark.slow
@pytest.mark.graphviz
def test_the_traction_pack_is_a_readable_svg(pack_server: LocalTofuPilot, tmp_path: Path) -> None:
    out = tmp_path / "pack.svg"
    result = run_cli(pack_server, "export", TRACTION_PACK, "--no-cache", "-o", str(out), via=None)
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    width, height, font = svg_size(svg)
    assert font == 10 and width <= 2400 and height <= 2400, (width, height)
    assert text_px(svg) >= READABLE_PX
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    groups = [t for t in texts if re.fullmatch(r"×\d+ CELL-18650 rev B PASS", t)]
    assert len(groups) == 16  # one per module
    failed = [t for t in texts if re.fullmatch(r"CELL-18650-\d{6}", t)]
    assert failed and "7,122 units in " in " ".join(texts)
    counted = sum(int(t[1:].split()[0]) for t in groups) + len(failed)
    assert counted == 7122 - 18  # every cell: in a group or drawn singly


@pytest.mark.slow
@pytest.mark.graphviz
def test_the_pack_unit_by_unit_is_refused_with_a_plain_reason(
    pack_server: LocalTofuPilot, tmp_path: Path
) -> None:
    out = tmp_path / "pack.svg"
    args = ("export", TRACTION_PACK, "--no-cache", "-o", str(out), "--no-group")
    result = run_cli(pack_server, *args, "-v", via=None)
    assert result.exit_code == ExitCode.DIAGRAM_TOO_LARGE == 13
    assert not out.exists()
    assert "7,122 boxes" in result.stderr and "-o FILE.html" in result.stderr
    assert "--force" in result.stderr and "--depth" in result.stderr
    assert "WARNING" not in result.stderr
    depth = run_cli(pack_server, *args, "--depth", "1", via=None)
    assert depth.exit_code == 0 and out.exists()  # 18 units: --depth makes it drawable
    assert len(re.findall(r'class="node"', out.read_text())) == 18 + LEGEND_NODES


@pytest.mark.slow
@pytest.mark.graphviz
def test_5000_units_grouped_are_still_too_wide_and_force_writes_with_a_plain_warning(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(synthetic_tree(5000, 5))
    out = tmp_path / "big.svg"
    refused = run_cli(server, "export", "SN-0000000", "--no-cache", "-o", str(out), via=None)
    assert refused.exit_code == 13 and not out.exists()
    assert "too large to read" in refused.stderr and "px high" in refused.stderr
    forced = run_cli(
        server, "export", "SN-0000000", "--no-cache", "-o", str(out), "--force", "-v", via=None
    )
    assert forced.exit_code == 0 and out.exists()
    assert text_px(out.read_text(encoding="utf-8")) < READABLE_PX
    warning = [line for line in forced.stderr.splitlines() if "drawn as asked" in line]
    assert warning and warning[0].startswith("genealogy: the diagram is drawn as asked, but ")


@pytest.mark.graphviz
def test_200_units_are_not_one_tall_column(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server(synthetic_tree(200, 4))
    out = tmp_path / "tree.png"
    result = run_cli(server, "export", "SN-0000000", "--no-cache", "-o", str(out), via=None)
    assert result.exit_code == 0, result.output
    width, height = struct.unpack(">II", out.read_bytes()[16:24])  # the PNG's IHDR
    assert width < 4000 and height < 2000 and height < 2 * width, (width, height)


def test_mermaid_over_its_limit_is_refused_before_anything_is_written(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(synthetic_tree(600, 3))
    out = tmp_path / "flow.mmd"
    args = ("export", "SN-0000000", "--no-cache", "-o", str(out))
    refused = run_cli(server, *args, "--no-group", via=None)
    assert refused.exit_code == ExitCode.DIAGRAM_TOO_LARGE
    assert not out.exists()
    assert "over Mermaid's limit of 50,000" in refused.stderr
    assert "-o FILE.html" in refused.stderr
    grouped = run_cli(server, *args, via=None)
    assert grouped.exit_code == 0 and len(out.read_text()) < 50_000
    forced = run_cli(server, *args, "--no-group", "--force", via=None)
    assert forced.exit_code == 0 and len(out.read_text()) > 50_000


def test_the_library_raises_diagram_too_large_for_mermaid() -> None:
    graph = from_records(synthetic_tree(600, 3), "SN-0000000")
    with pytest.raises(DiagramTooLarge, match="50,000") as raised:
        render(graph, "mermaid", RenderOptions(group=False))
    assert raised.value.exit_code == 13
    assert len(str(render(graph, "mermaid", RenderOptions(group=False, force=True)))) > 50_000


def test_the_html_page_lists_the_findings_of_the_units_it_shows_at_a_depth(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    """`--depth 1` cuts the page at the modules: the missing cell's dangling reference and the
    failed cell's findings are below the cut, so the page does not list them."""
    whole, cut = tmp_path / "whole.html", tmp_path / "cut.html"
    assert run_cli(server, "export", "CELL-21700-C-0142", "-o", str(whole)).exit_code == 0
    result = run_cli(server, "export", "CELL-21700-C-0142", "--depth", "1", "-o", str(cut))
    assert result.exit_code == 0, result.output
    everything, shown = embedded(whole.read_text()), embedded(cut.read_text())
    assert len(shown["units"]) < len(everything["units"])
    drawn = {unit["serial"] for unit in shown["units"]}
    assert len(shown["findings"]) < len(everything["findings"])
    for finding in shown["findings"]:
        assert {shown["units"][i]["serial"] for i in finding["units"]} & drawn, finding
