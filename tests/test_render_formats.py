"""The text tree, Mermaid, GraphML and CSV exports, on graphs built in memory from unit records
(`genealogy.from_records`: the crawl a server would give, without HTTP)."""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
import sys
import xml.etree.ElementTree as ET
from typing import Any

import networkx as nx
import pytest

from genealogy import from_records
from genealogy.nodes import outcome_class
from genealogy.renderers import RenderOptions, format_for, graphml, mermaid, render, text
from genealogy.renderers import csv as csv_format
from genealogy.text import printable, shown
from tests.conftest import fetch_failed
from tests.mermaid_parser import mermaid_parse, needs_mermaid
from tests.records import unit

RECURSION_LIMIT = sys.getrecursionlimit()

HOSTILE_SERIAL = 'H"]\x1b[31m\n%%-->;#quot;`x`fa:fa-bug\\n<b>x</b>'
SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","click")'


def tree_units() -> list[dict[str, Any]]:
    """A -> B, C; B -> D (the start), E; C -> E (a cross link), F, G (no run), M (missing)."""
    return [
        unit("A", part="P-A", children=["B", "C"]),
        unit("B", part="P-B", parent="A", children=["D", "E"]),
        unit("C", part="P-C", parent="A", children=["E", "F", "G", "M"], outcome="ERROR"),
        unit("D", part="P-D", parent="B", outcome="FAIL"),
        unit("E", part="P-E", parent="B", outcome="TIMEOUT"),
        unit("F", part="P-F", parent="C", outcome="ABORTED"),
        unit("G", part="P-G", parent="C", outcome=None),
    ]


@pytest.fixture(scope="module")
def tree() -> nx.DiGraph:
    return from_records(tree_units(), "D")


def hostile_units() -> list[dict[str, Any]]:
    root = unit(
        "ROOT",
        children=[HOSTILE_SERIAL, "-5"],
        part="P-<i>#59;",
        batch={"id": "batch-1", "number": FORMULA},
        metadata={"note": "a\x85b\x1b[2J\u202ec\ufffe", "count": 3},
    )
    root["part"]["name"] = SCRIPT
    evil = unit(
        HOSTILE_SERIAL,
        parent="ROOT",
        created_by_user={"id": "user-1", "name": "+1 \u202eevil"},
        created_by_station={"id": "station-1", "name": "@SUM(1)"},
    )
    evil["part"]["name"] = "Zelle f\u00fcr \U0001f50b %%\r\n--> end"
    minus = unit("-5", parent="ROOT", outcome="FAIL")
    return [root, evil, minus]


@pytest.fixture(scope="module")
def hostile() -> nx.DiGraph:
    return from_records(hostile_units(), HOSTILE_SERIAL)


def shuffled(graph: nx.DiGraph) -> nx.DiGraph:
    """The same graph with nodes and edges inserted in reverse order."""
    copy = nx.DiGraph()
    copy.graph.update(graph.graph)
    for node in reversed(list(graph)):
        copy.add_node(node, **graph.nodes[node])
    for parent, child in reversed(list(graph.edges())):
        copy.add_edge(parent, child, **graph.edges[parent, child])
    return copy


# --- text ---------------------------------------------------------------------------------

TREE_UNICODE = """\
A P-A rev A PASS
├── B P-B rev A PASS
│   ├── D P-D rev A FAIL ◀ start
│   └── E P-E rev A TIMEOUT
└── C P-C rev A ERROR
    ├── E P-E rev A TIMEOUT (*)
    ├── F P-F rev A ABORTED
    ├── G P-G rev A no run
    └── M P-1 rev A not found
"""

TREE_ASCII = """\
A P-A rev A PASS
|-- B P-B rev A PASS
|   |-- D P-D rev A FAIL <- start
|   `-- E P-E rev A TIMEOUT
`-- C P-C rev A ERROR
    |-- E P-E rev A TIMEOUT (*)
    |-- F P-F rev A ABORTED
    |-- G P-G rev A no run
    `-- M P-1 rev A not found
"""


def test_text_tree_marks_repeats_and_the_start(tree: nx.DiGraph) -> None:
    assert text.render_text(tree, RenderOptions()) == TREE_UNICODE


def test_text_tree_in_ascii(tree: nx.DiGraph) -> None:
    assert text.render_text(tree, RenderOptions(charset="ascii")) == TREE_ASCII


def test_text_tree_depth_limits_levels_below_the_roots(tree: nx.DiGraph) -> None:
    assert text.render_text(tree, RenderOptions(depth=0)) == "A P-A rev A PASS\n"
    assert text.render_text(tree, RenderOptions(depth=1, charset="ascii")) == (
        "A P-A rev A PASS\n|-- B P-B rev A PASS\n`-- C P-C rev A ERROR\n"
    )


def test_text_tree_expands_a_unit_first_seen_beyond_the_depth_limit() -> None:
    # X is a child of R (level 1) and of Q (level 2): with depth 2, its child shows under R.
    units = [
        unit("R", children=["Q", "X"]),
        unit("Q", parent="R", children=["X"]),
        unit("X", parent="R", children=["Y"]),
        unit("Y", parent="X"),
    ]
    graph = from_records(units, "R")
    assert text.render_text(graph, RenderOptions(depth=2, charset="ascii")) == (
        "R P-1 rev A PASS <- start\n"
        "|-- Q P-1 rev A PASS\n"
        "|   `-- X P-1 rev A PASS\n"
        "`-- X P-1 rev A PASS\n"
        "    `-- Y P-1 rev A PASS\n"
    )


def test_text_tree_of_a_cycle_starts_at_the_start_and_ends() -> None:
    units = [unit("X", parent="Y", children=["Y"]), unit("Y", parent="X", children=["X"])]
    graph = from_records(units, "Y")
    assert graph.graph["roots"] == []
    assert text.render_text(graph, RenderOptions(charset="ascii")) == (
        "Y P-1 rev A PASS <- start\n`-- X P-1 rev A PASS\n    `-- Y P-1 rev A PASS (*) <- start\n"
    )


def test_text_tree_lists_units_that_no_root_reaches() -> None:
    # R -> S, and S also hangs from Z, which is in a cycle with W: no root reaches Z or W.
    units = [
        unit("R", children=["S"]),
        unit("S", parent="Z"),
        unit("Z", parent="W", children=["S", "W"]),
        unit("W", parent="Z", children=["Z"]),
    ]
    graph = from_records(units, "R")
    assert graph.graph["roots"] == ["R"]
    assert text.render_text(graph, RenderOptions(charset="ascii")) == (
        "R P-1 rev A PASS <- start\n"
        "`-- S P-1 rev A PASS\n"
        "W P-1 rev A PASS\n"
        "`-- Z P-1 rev A PASS\n"
        "    |-- S P-1 rev A PASS (*)\n"
        "    `-- W P-1 rev A PASS (*)\n"
    )


def test_text_tree_does_not_recurse_per_level() -> None:
    serials = [f"U{index:03d}" for index in range(100)]
    units = [
        unit(serial, parent=serials[i - 1] if i else None, children=serials[i + 1 : i + 2])
        for i, serial in enumerate(serials)
    ]
    graph = from_records(units, serials[0])
    # Far fewer frames than levels: one Python call per level would raise RecursionError.
    sys.setrecursionlimit(len(inspect.stack()) + 40)
    try:
        lines = text.render_text(graph, RenderOptions(charset="ascii")).splitlines()
    finally:
        sys.setrecursionlimit(RECURSION_LIMIT)
    assert len(lines) == 100
    assert lines[-1] == " " * 4 * 98 + "`-- U099 P-1 rev A PASS"


def test_text_tree_says_why_a_unit_was_not_fetched() -> None:
    units = [
        unit("A", children=["B", "C"]),
        unit("B", parent="A", children=["B1"]),
        unit("B1", parent="B"),
    ]  # C's record is not among them: the server failed it with HTTP 500, once, not retried
    graph = from_records(units, "A", max_depth=1)
    fetch_failed(
        graph, "C", "HTTP 500: INTERNAL_SERVER_ERROR: Injected fault (gave up after 1 attempts)"
    )
    lines = text.render_text(graph, RenderOptions(charset="ascii")).splitlines()
    assert lines[0] == "A P-1 rev A PASS <- start"
    assert lines[1] == "|-- B P-1 rev A PASS"
    assert lines[2] == "|   `-- B1 P-1 rev A unexplored: beyond the depth limit (1)"
    assert lines[3].startswith("`-- C P-1 rev A error: ")
    assert graph.nodes["C"]["reason"] in lines[3]


SGR = re.compile(r"\x1b\[[0-9;]*m")


def test_text_colours_only_when_asked(tree: nx.DiGraph) -> None:
    plain = text.render_text(tree, RenderOptions())
    coloured = text.render_text(tree, RenderOptions(color=True))
    assert "\x1b" not in plain
    for painted in (
        "\x1b[32mPASS\x1b[0m",
        "\x1b[31mFAIL\x1b[0m",
        "\x1b[33mERROR\x1b[0m",
        "\x1b[35mTIMEOUT\x1b[0m",
        "\x1b[2mABORTED\x1b[0m",
        "\x1b[2mno run\x1b[0m",
        "\x1b[2;31mnot found\x1b[0m",
    ):
        assert painted in coloured
    assert SGR.sub("", coloured) == plain


def test_text_never_prints_control_characters_from_the_data(hostile: nx.DiGraph) -> None:
    plain = text.render_text(hostile, RenderOptions())
    assert "\x1b" not in plain
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", plain)
    lines = plain.splitlines()
    assert len(lines) == 3  # one line per unit: the newline in the serial is not a line break
    assert lines[0] == "ROOT P-<i>#59; rev A PASS"
    assert lines[1] == "├── -5 P-1 rev A FAIL"
    assert lines[2] == f"└── {printable(HOSTILE_SERIAL)} P-1 rev A PASS ◀ start"
    assert "\\x1b[31m\\x0a" in lines[2]
    coloured = text.render_text(hostile, RenderOptions(color=True))
    assert SGR.sub("", coloured) == plain


# --- Mermaid --------------------------------------------------------------------------------

NODE_LINE = re.compile(r'^    (n\d+)\["(.*)"\]$')
EDGE_LINE = re.compile(r"^    (n\d+) --> (n\d+)$")
SAFE_LABEL = re.compile(r"^(?:[A-Za-z0-9 \-_.,/()]|#(?:quot|lt|gt|amp|\d+);|<br>)*$")
NAMED = {"quot": '"', "lt": "<", "gt": ">", "amp": "&"}


def decode(label: str) -> list[str]:
    """What a Mermaid label shows, line by line, decoding its entity codes."""

    def entity(match: re.Match[str]) -> str:
        code = match.group(1)
        return NAMED[code] if code in NAMED else chr(int(code))

    return [re.sub(r"#(\w+);", entity, line) for line in label.split("<br>")]


def mermaid_nodes(source: str) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """{id: label lines} and the edges of a flowchart `mermaid.render` wrote."""
    nodes: dict[str, list[str]] = {}
    edges: list[tuple[str, str]] = []
    for line in source.splitlines():
        if match := NODE_LINE.match(line):
            assert SAFE_LABEL.match(match.group(2)), line
            nodes[match.group(1)] = decode(match.group(2))
        elif match := EDGE_LINE.match(line):
            edges.append((match.group(1), match.group(2)))
    return nodes, edges


def test_mermaid_flowchart_has_every_unit_and_link(tree: nx.DiGraph) -> None:
    source = mermaid.render_mermaid(tree, RenderOptions())
    assert source.splitlines()[0] == "flowchart TD"
    nodes, edges = mermaid_nodes(source)
    serial_of = {node_id: lines[0] for node_id, lines in nodes.items()}
    assert sorted(serial_of.values()) == sorted(tree)
    assert sorted((serial_of[a], serial_of[b]) for a, b in edges) == sorted(tree.edges())
    id_of = {serial: node_id for node_id, serial in serial_of.items()}
    assert nodes[id_of["C"]] == ["C", "P-C \u00b7 Part P-C", "rev A \u00b7 ERROR"]
    assert nodes[id_of["M"]] == ["M", "P-1 \u00b7 Part P-1", "rev A \u00b7 not found"]
    assert nodes[id_of["G"]][-1] == "rev A \u00b7 no run"
    for serial in tree:
        cls = outcome_class(tree.nodes[serial])
        class_line = next(line for line in source.splitlines() if line.endswith(f" {cls}"))
        assert id_of[serial] in class_line.split()[1].split(",")
    assert re.search(r"classDef not_fetched .*stroke-dasharray", source)
    assert re.search(r"classDef pass fill:#c8e6c9,stroke:#2e7d32", source)
    assert f"    style {id_of['D']} stroke-width:4px" in source.splitlines()


def test_mermaid_labels_cannot_be_broken_by_the_data(hostile: nx.DiGraph) -> None:
    source = mermaid.render_mermaid(hostile, RenderOptions())
    nodes, edges = mermaid_nodes(source)  # every label matches SAFE_LABEL
    assert len(nodes) == 3 and len(edges) == 2
    statements = [line for line in source.splitlines() if not NODE_LINE.match(line)]
    assert statements[0] == "flowchart TD"
    for line in statements[1:]:  # nothing but our own statements: no line from the data
        assert re.fullmatch(
            r"    (n\d+ --> n\d+|classDef \w+ \S+( 5)?|class [n\d,]+ \w+|style n\d+ \S+)", line
        )
    assert len(statements) == 1 + 2 + 7 + 2 + 1  # head, edges, classDefs, classes, style
    for forbidden in ("<script", "<b>", "<i>", "%%", "-->;", "`", "fa:fa-", '"]\x1b'):
        assert forbidden not in source
    labels = {lines[0]: lines for lines in nodes.values()}
    evil = labels[printable(HOSTILE_SERIAL)]
    assert evil[1] == f"P-1 \u00b7 {printable(hostile.nodes[HOSTILE_SERIAL]['part_name'])}"
    assert labels["ROOT"][1] == f"P-<i>#59; \u00b7 {SCRIPT}"


BROKEN = 'flowchart TD\n    n0["a"]"]\n'
MARKUP = 'flowchart TD\n    n0["<b>x</b> fa:fa-bug"]\n'


@pytest.fixture(scope="module")
def parsed(tree: nx.DiGraph, hostile: nx.DiGraph) -> list[dict[str, Any]]:
    """Mermaid's verdict on the tree, the hostile graph and two bad charts, in one Node run."""
    sources = [mermaid.render_mermaid(graph, RenderOptions()) for graph in (tree, hostile)]
    return mermaid_parse(*sources, BROKEN, MARKUP)


@pytest.mark.slow
@needs_mermaid
@pytest.mark.parametrize("which", ["tree", "hostile"])
def test_mermaid_parser_reads_our_flowcharts_as_written(
    request: pytest.FixtureRequest, parsed: list[dict[str, Any]], which: str
) -> None:
    graph: nx.DiGraph = request.getfixturevalue(which)
    result = parsed[["tree", "hostile"].index(which)]
    assert "error" not in result, result.get("error")
    assert result["type"] == "flowchart-v2"
    assert result["direction"] == "TB"
    vertices = {vertex["id"]: vertex for vertex in result["vertices"]}
    assert len(vertices) == graph.number_of_nodes()
    serial_of = {node_id: v["label"]["text"].split("\n")[0] for node_id, v in vertices.items()}
    by_shown = {shown(serial): serial for serial in graph}
    assert sorted(serial_of.values()) == sorted(by_shown)
    edges = sorted((by_shown[serial_of[a]], by_shown[serial_of[b]]) for a, b in result["edges"])
    assert edges == sorted(graph.edges())
    for node_id, vertex in vertices.items():
        serial = by_shown[serial_of[node_id]]
        label = vertex["label"]
        assert vertex["labelType"] == "string"  # not Markdown
        assert label["tags"] == ["br", "br"]  # the only markup: our line breaks
        assert not label["icon"]
        assert label["text"].split("\n")[2].endswith(mermaid.outcome_text(graph.nodes[serial]))
        assert vertex["classes"] == [outcome_class(graph.nodes[serial])]
    assert "stroke-dasharray:5 5" in result["classDefs"]["not_fetched"]
    if which == "hostile":
        lines = {v["label"]["text"].split("\n")[1] for v in vertices.values()}
        assert f"P-<i>#59; \u00b7 {SCRIPT}" in lines
        assert f"P-1 \u00b7 {printable(graph.nodes[HOSTILE_SERIAL]['part_name'])}" in lines


@pytest.mark.slow
@needs_mermaid
def test_mermaid_parser_check_can_fail(parsed: list[dict[str, Any]]) -> None:
    """The checks above would catch a broken label, injected markup or an icon."""
    broken, markup = parsed[2:]
    assert "Parse error" in broken["error"]
    label = markup["vertices"][0]["label"]
    assert label["tags"] == ["b"] and label["icon"]


# --- GraphML ------------------------------------------------------------------------------


def load_graphml(document: str) -> nx.DiGraph:
    ET.fromstring(document.encode())  # well-formed XML
    graph: nx.DiGraph = nx.read_graphml(io.BytesIO(document.encode()))
    return graph


def assert_same_attrs(loaded: dict[str, Any], original: dict[str, Any]) -> None:
    expected = {key: value for key, value in original.items() if value is not None}
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        if isinstance(value, list | dict):
            assert json.loads(loaded[key]) == value, key
        else:
            assert loaded[key] == value, key
            assert type(loaded[key]) is type(value), key


def test_graphml_loads_back_with_the_same_graph(tree: nx.DiGraph) -> None:
    loaded = load_graphml(graphml.render_graphml(tree, RenderOptions()))
    assert loaded.is_directed()
    assert set(loaded) == set(tree)
    assert set(loaded.edges()) == set(tree.edges())
    for node in tree:
        assert_same_attrs(loaded.nodes[node], tree.nodes[node])
    for edge in tree.edges():
        assert_same_attrs(loaded.edges[edge], tree.edges[edge])
    assert_same_attrs(
        {k: v for k, v in loaded.graph.items() if k not in {"node_default", "edge_default"}},
        tree.graph,
    )
    assert loaded.nodes["M"]["status"] == "not_found"
    assert "run_outcome" not in loaded.nodes["M"]  # None is left out
    assert json.loads(loaded.nodes["C"]["children_serials"]) == ["E", "F", "G", "M"]


def test_graphml_is_well_formed_with_control_characters_in_the_data(
    hostile: nx.DiGraph,
) -> None:
    document = graphml.render_graphml(hostile, RenderOptions())
    assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", document)  # not XML
    assert not re.search("[\x7f-\x9f\u202e]", document)  # controls and bidi: escaped too
    loaded = load_graphml(document)
    assert set(loaded) == {printable(node) for node in hostile}
    assert set(loaded.edges()) == {(printable(a), printable(b)) for a, b in hostile.edges()}
    evil = loaded.nodes[printable(HOSTILE_SERIAL)]
    assert evil["part_name"] == printable(hostile.nodes[HOSTILE_SERIAL]["part_name"])
    assert evil["created_by_user"] == "+1 \\u202eevil"
    root = loaded.nodes["ROOT"]
    assert root["part_name"] == SCRIPT  # plain text, escaped by the XML writer
    assert root["batch"] == FORMULA
    # JSON values keep the exact data, control characters included.
    assert json.loads(root["children_serials"]) == [HOSTILE_SERIAL, "-5"]
    assert json.loads(root["metadata"]) == {"note": "a\x85b\x1b[2J\u202ec\ufffe", "count": 3}
    assert loaded.graph["start"] == printable(HOSTILE_SERIAL)


# --- CSV ----------------------------------------------------------------------------------


def read_csv(document: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(document, newline="")))
    assert rows[0] == list(csv_format.COLUMNS)
    assert all(len(row) == len(rows[0]) for row in rows)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_csv_has_one_row_per_unit(tree: nx.DiGraph) -> None:
    rows = read_csv(csv_format.render_csv(tree, RenderOptions()))
    assert [row["serial"] for row in rows] == sorted(tree)
    by_serial = {row["serial"]: row for row in rows}
    assert by_serial["C"]["parent"] == "A"
    assert by_serial["C"]["children"] == "E;F;G;M"
    assert by_serial["E"]["parent"] == "B;C"
    assert by_serial["D"] == {
        "serial": "D",
        "status": "ok",
        "reason": "",
        "part_number": "P-D",
        "part_name": "Part P-D",
        "revision": "A",
        "batch": "",
        "sample": "",
        "created_at": "2026-01-10T10:00:00+00:00",
        "run_outcome": "FAIL",
        "run_procedure": "Functional test",
        "run_started_at": "2026-01-10T09:55:00+00:00",
        "run_ended_at": "2026-01-10T10:00:00+00:00",
        "run_duration_s": "300.0",
        "created_by_user": "",
        "created_by_station": "",
        "parent": "B",
        "children": "",
        "depth": "0",
    }
    assert by_serial["M"]["status"] == "not_found"
    assert by_serial["M"]["reason"] == tree.nodes["M"]["reason"]
    assert by_serial["M"]["depth"] == "4"  # D -> B -> A -> C -> M


def test_csv_neutralises_formulas_and_control_characters(hostile: nx.DiGraph) -> None:
    document = csv_format.render_csv(hostile, RenderOptions())
    assert not re.search("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\u202e]", document)
    assert len(document.split("\r\n")) == 1 + 3 + 1  # header, 3 units, final line end
    rows = {row["serial"]: row for row in read_csv(document)}
    assert set(rows) == {"ROOT", "'-5", printable(HOSTILE_SERIAL)}
    root, evil = rows["ROOT"], rows[printable(HOSTILE_SERIAL)]
    assert root["batch"] == "'" + FORMULA
    assert root["part_name"] == SCRIPT
    assert root["children"] == f"'-5;{printable(HOSTILE_SERIAL)}"
    assert evil["created_by_user"] == "'+1 \\u202eevil"
    assert evil["created_by_station"] == "'@SUM(1)"
    assert evil["run_outcome"] == "PASS"  # ordinary text is left alone
    assert rows["'-5"]["run_outcome"] == "FAIL"
    assert rows["'-5"]["run_duration_s"] == "300.0"


def test_csv_neutralise() -> None:
    for cell in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
        assert csv_format.neutralise(cell) == "'" + cell
    for cell in ("1-1", "a=b", "", "'=x"):
        assert csv_format.neutralise(cell) == cell


# --- all four -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        ("tree.txt", "text"),
        ("flow.mmd", "mermaid"),
        ("flow.MERMAID", "mermaid"),
        ("g.graphml", "graphml"),
        ("units.csv", "csv"),
    ],
)
def test_formats_are_registered(tree: nx.DiGraph, path: str, fmt: str) -> None:
    assert format_for(path, None) == fmt
    assert isinstance(render(tree, fmt), str)


@pytest.mark.parametrize("fmt", ["text", "mermaid", "graphml", "csv"])
def test_output_does_not_depend_on_crawl_order(tree: nx.DiGraph, fmt: str) -> None:
    assert render(shuffled(tree), fmt) == render(tree, fmt)
