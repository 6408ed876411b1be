"""Hostile texts in unit records never break, extend or inject into DOT, SVG and JSON exports."""

from __future__ import annotations

import json
from typing import Any

import graphviz
import networkx as nx
import pytest

from genealogy.errors import OutputError
from genealogy.graph import build_graph
from genealogy.output import encode
from genealogy.renderers import RenderOptions, dot, render, svg
from genealogy.renderers import json as json_render
from genealogy.text import printable, shown
from tests.records import ref, unit
from tests.strategies import (
    LEGEND_NODES,
    NASTY,
    as_drawn,
    assert_same_graph,
    bold_text,
    crawl_of,
    dot_structure,
    in_label,
    strict_json,
    svg_facts,
)

SCRIPT = "<script>alert(1)</script>"

INJECTIONS = (
    'x"]; evil [label="pwned',
    'x" -> "evil',
    "x]; evil; a -> b; //",
    "x>]; evil [label=<pwned",
    "x</B>> ]; evil [label=<<B>pwned",
    "x\\",
    'x\\"]; evil [label="pwned',
    "x\n}\ndigraph evil {\n a -> b",
    "x\r\nevil -> x",
    "x /* comment */ y",
    "x // comment\nevil",
    "# evil",
    "subgraph cluster_x { evil }",
    "edge [style=invis]",
    "node [shape=none label=pwned]",
    "&lt;B&gt;x&lt;/B&gt;",
)


def _hostile_family(serial: str) -> nx.DiGraph:
    """A parent with the hostile serial and two children, one of which is missing."""
    parent = unit(serial, children=["child-1", "child-2"])
    parent["part"]["name"] = SCRIPT
    child = unit("child-1", parent=serial)
    graph = build_graph(crawl_of(parent, child))
    assert graph.number_of_nodes() == 2  # child-2 was not fetched: not in `units`
    return graph


def _svg(graph: nx.DiGraph) -> str:
    """Drawn even when too wide to read (a 500-character serial number is): escaping is
    tested here, the size limit in tests/test_diagrams.py."""
    drawn = render(graph, "svg", RenderOptions(force=True))
    assert isinstance(drawn, str)
    return drawn


@pytest.mark.graphviz
@pytest.mark.parametrize("serial", INJECTIONS + NASTY, ids=repr)
def test_a_hostile_serial_adds_no_node_edge_or_attribute(serial: str) -> None:
    graph = _hostile_family(serial)
    facts = svg_facts(_svg(graph))  # well-formed, nothing active, only generated IDs
    assert facts.nodes == graph.number_of_nodes() + LEGEND_NODES
    assert facts.edges == graph.number_of_edges() == 1
    shown_serial = printable(serial) or "(empty serial number)"
    assert [as_drawn(t) for t in facts.bold].count(as_drawn(shown_serial)) == 1 + bool(serial)


@pytest.mark.parametrize("serial", INJECTIONS + NASTY, ids=repr)
def test_dot_source_keeps_data_inside_escaped_html_labels(serial: str) -> None:
    source = render(_hostile_family(serial), "dot")
    assert isinstance(source, str)
    title, labels, edges = dot_structure(source)
    assert sorted(labels) == ["u0", "u1"] and edges == 1
    # the parent is the unit whose part name is the script; node order follows the serials
    parents = [label for label in labels.values() if SCRIPT in "".join(label.itertext())]
    assert len(parents) == 1
    assert bold_text(parents[0]) == (in_label(serial) or "(empty serial number)")
    if serial:
        assert title is not None and bold_text(title) == in_label(serial)
    else:
        assert title is None


@pytest.mark.graphviz
def test_dot_accepts_the_graph_it_gets_through_graphviz_json() -> None:
    """`dot -Tjson` counts the objects Graphviz itself parsed out of the DOT source."""
    graph = _hostile_family(INJECTIONS[0])
    source = render(graph, "dot")
    assert isinstance(source, str)
    parsed = json.loads(graphviz.pipe("dot", "json", source.encode()))
    names = sorted(obj["name"] for obj in parsed["objects"] if "nodes" not in obj)
    assert names == sorted(
        ["u0", "u1"]
        + [
            f"legend_{c}"
            for c in ("pass", "fail", "error", "timeout", "aborted", "unknown", "not_fetched")
        ]
    )
    assert len(parsed["edges"]) == 1 + LEGEND_NODES - 1


@pytest.mark.graphviz
def test_a_script_part_name_appears_only_as_escaped_text() -> None:
    graph = _hostile_family("SN-1")
    drawn = _svg(graph)
    assert "<script" not in drawn.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in drawn
    facts = svg_facts(drawn)
    assert any(SCRIPT in text for text in facts.texts)
    assert "&lt;script&gt;" in render(graph, "dot")


@pytest.mark.graphviz
@pytest.mark.parametrize(
    "text", ["javascript:alert(1)", '" onload="alert(1)', "' onclick='x", "<a href='x'>y</a>"]
)
def test_active_content_in_data_stays_text(text: str) -> None:
    record = unit(text, children=["C"], batch={"id": "b", "number": text})
    record["part"]["name"] = text
    record["part"]["number"] = text
    record["part"]["revision"]["number"] = text
    record["created_during"]["outcome"] = text
    child = unit("C", parent=text)
    facts = svg_facts(_svg(build_graph(crawl_of(record, child))))  # checks attributes and tags
    assert any(text in t for t in facts.texts)


# Graphviz quirks -----------------------------------------------------------------------------


@pytest.mark.graphviz
@pytest.mark.parametrize("text", ["\ufffe", "\uffff", "a\ufffeb\uffffc"])
def test_non_xml_characters_are_escaped_not_passed_to_graphviz(text: str) -> None:
    """U+FFFE and U+FFFF are not XML characters: Graphviz refused the whole label."""
    record = unit(text)
    record["part"]["name"] = text
    facts = svg_facts(_svg(build_graph(crawl_of(record))))
    assert printable(text) in facts.bold
    assert "\\ufffe" in printable("\ufffe") and "\\uffff" in printable("\uffff")


@pytest.mark.graphviz
def test_an_empty_serial_and_empty_texts_render() -> None:
    """Graphviz refuses `<B></B>`: an empty serial is shown as a placeholder."""
    record = unit("")
    for field in ("number", "name"):
        record["part"][field] = ""
    record["part"]["revision"]["number"] = ""
    record["created_during"]["outcome"] = ""
    graph = build_graph(crawl_of(record))
    facts = svg_facts(_svg(graph))
    assert facts.nodes == 1 + LEGEND_NODES
    assert "(empty serial number)" in facts.texts
    assert graph.graph["start"] == ""
    assert facts.texts[0] == "Assembly"


def _worst_case(length: int) -> str:
    """Characters that grow most when escaped: U+202E -> `\\\\u202e`, `'` -> `&#x27;`."""
    return ("'\u202e😀&" * length)[:length]


@pytest.mark.graphviz
@pytest.mark.parametrize("length", [10_000, 100_000])
def test_very_long_texts_are_clipped_and_render(length: int) -> None:
    """Graphviz refuses an HTML label over 16384 bytes (and the pipe broke while writing)."""
    text = _worst_case(length)
    record = unit(text, parent="P" * length, children=["C" * length])
    record["part"].update(number=text, name=text)
    record["part"]["revision"]["number"] = text
    record["created_during"]["outcome"] = text
    child = unit("C" * length, parent=text)
    graph = build_graph(crawl_of(record, child))
    source = render(graph, "dot")
    assert isinstance(source, str)
    _, labels, _ = dot_structure(source)
    assert len(labels) == 2
    assert max(len(line.encode()) for line in source.splitlines()) < 16384
    facts = svg_facts(_svg(graph))
    assert facts.nodes == 2 + LEGEND_NODES
    shown_serial = printable(text[: dot.SERIAL_LIMIT - 1]) + "…"
    assert shown_serial in facts.bold


def test_the_longest_label_stays_under_graphviz_limit() -> None:
    """Every field at its clip length in the characters that grow most when escaped."""
    text = _worst_case(5 * dot.SERIAL_LIMIT)
    attrs: dict[str, Any] = {
        "status": "error",
        "part_number": text,
        "part_name": text,
        "revision": text,
        "run_outcome": text,
        "reason": text,
    }
    worst = max(len(dot._label(text, attrs | {"status": s}).encode()) for s in ("ok", "error"))
    assert worst < 16384 - 1024, worst


@pytest.mark.graphviz
def test_graphviz_failure_is_an_output_error_with_its_message(monkeypatch: Any) -> None:
    """Even with a source larger than the pipe: once `dot` quits, its stderr is still reported."""
    huge = "digraph { x [label=<" + "x" * 200_000 + ">] }"
    monkeypatch.setattr(dot, "source", lambda graph: huge)
    with pytest.raises(OutputError, match=r"Graphviz failed to draw the graph: .*HTML string"):
        svg.render_svg(build_graph(crawl_of(unit("A"))))


def test_graphviz_that_cannot_be_run_is_an_output_error(monkeypatch: Any) -> None:
    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(graphviz, "pipe", refuse)
    with pytest.raises(OutputError, match="Could not run Graphviz: Permission denied"):
        svg.render_svg(build_graph(crawl_of(unit("A"))))


# Text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "visible"),
    [
        ("a\nb", "a\\x0ab"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\u202egnp.exe", "\\u202egnp.exe"),
        ("\u061cx", "\\u061cx"),  # ARABIC LETTER MARK, a bidi control
        ("a\u2060b", "a\\u2060b"),  # WORD JOINER, invisible
        ("\ud800", "\\ud800"),
        ("\ufffe\uffff", "\\ufffe\\uffff"),
        ("\ufffd é 😀", "\ufffd é 😀"),
    ],
)
def test_printable(raw: str, visible: str) -> None:
    assert printable(raw) == visible
    assert shown(raw) == visible


def test_shown_of_none_is_empty() -> None:
    assert shown(None) == ""


# JSON -----------------------------------------------------------------------------------------


def test_json_export_of_hostile_units_loads_back_equal() -> None:
    records = [unit(text or "empty", metadata={text: text}) for text in NASTY]
    records[0]["children"] = [ref(r["serial_number"]) for r in records[1:]]
    records[0]["metadata"] = {"nan": float("nan"), "inf": float("inf"), "n": 10**30}
    graph = build_graph(crawl_of(*records))
    text = json_render.render_json(graph)
    strict_json(text)
    assert_same_graph(json_render.load(text), graph)
    data = encode(text)
    data.decode("utf-8")  # valid UTF-8, lone surrogates written as JSON escapes
    strict_json(data.decode("utf-8"))
    assert_same_graph(json_render.load(data.decode("utf-8")), graph)
    assert graph.nodes[records[0]["serial_number"]]["metadata"]["nan"] == "nan"


def test_encode_writes_lone_surrogates_as_escapes() -> None:
    assert encode('"a\ud800"') == b'"a\\ud800"'
    assert json.loads(encode(json.dumps("a\udfff", ensure_ascii=False))) == "a\udfff"
    assert encode(b"\xff") == b"\xff"
