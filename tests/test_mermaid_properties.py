"""Properties of the Mermaid flowchart and the terminal texts, for any text in any field.

Mermaid: whatever the units' texts (`tests/strategies.py`: controls, quotes, markup, Mermaid
syntax, bidi controls, lone surrogates...), Mermaid's own parser accepts the flowchart, finds
one vertex per unit and one edge per link, and each label decodes back to what
`genealogy.text.printable` makes of the data, clipped as `genealogy.renderers.mermaid` documents
(a serial number to 200 characters, other fields to 100, a reason to 60, the last one kept
being `…`). Starting Node costs seconds, so the examples are generated first (deterministic,
derandomised hypothesis) and parsed in one Node run.

Terminal: the coloured text tree holds no escape but the SGR colours the renderer writes, and
no control character but the line ends; so do the trace, audit, summary and crawl reports.
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from genealogy.cli.report import crawl_summary
from genealogy.crawler import CrawlResult
from genealogy.graph import build_graph
from genealogy.nodes import outcome_class
from genealogy.queries import (
    audit,
    format_audit,
    format_summary,
    format_trace,
    summarise,
    trace,
)
from genealogy.renderers import RenderOptions, mermaid, text
from genealogy.text import printable
from tests import strategies
from tests.mermaid_parser import AVAILABLE, SKIP_REASON, mermaid_parse
from tests.records import unit
from tests.strategies import crawl_of

pytestmark = pytest.mark.slow  # Node parses 40 generated flowcharts; the others run 100 examples

EXAMPLES = 40
"""Flowcharts generated and parsed; Node is started once for all of them."""

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
COLLECT = settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples every run
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=_HEALTH,
)
IN_PROCESS = settings(max_examples=100, deadline=None, suppress_health_check=_HEALTH)


SERIAL_LIMIT, TEXT_LIMIT, REASON_LIMIT = 200, 100, 60
"""The clipping `genealogy.renderers.mermaid` documents."""
DOT = "\u00b7"


def clipped(value: object, limit: int) -> str:
    """The documented clipping: at most `limit` characters of data, the last one `…`."""
    data = str(value)
    return data if len(data) <= limit else data[: limit - 1] + "\u2026"


def outcome(attrs: dict[str, Any]) -> str:
    status = attrs.get("status")
    if status == "ok":
        return str(attrs.get("run_outcome") or "no run")
    if status == "error" and attrs.get("reason"):
        return f"error: {clipped(attrs['reason'], REASON_LIMIT)}"
    return str(status or "unknown").replace("_", " ")


def expected_lines(serial: str, attrs: dict[str, Any]) -> list[str]:
    """What a unit's label must show, line by line: printable data, clipped as documented."""
    lines = [printable(clipped(serial, SERIAL_LIMIT))]
    part = [attrs.get("part_number"), attrs.get("part_name")]
    if any(part):
        lines.append(f" {DOT} ".join(printable(clipped(v, TEXT_LIMIT)) for v in part if v))
    last = printable(clipped(outcome(attrs), TEXT_LIMIT))
    if attrs.get("revision"):
        last = f"rev {printable(clipped(attrs['revision'], TEXT_LIMIT))} {DOT} {last}"
    lines.append(last)
    return lines


LABELLED = ("part_number", "part_name", "revision", "run_outcome", "reason")
"""The node attributes a Mermaid label shows, besides the serial number."""


@st.composite
def graphs(draw: st.DrawFn) -> nx.DiGraph:
    """A crawled graph with hostile texts everywhere, some stretched past the clipping limits."""
    graph = build_graph(draw(strategies.crawl_results()))

    def stretched(text: str | None) -> str | None:
        times = draw(st.sampled_from([1, 1, 8, 40]), label="times")
        return text if text is None or times == 1 else (text or "x") * times

    for node in graph:
        attrs = graph.nodes[node]
        for name in LABELLED:
            attrs[name] = stretched(attrs.get(name))
    longer = {node: stretched(node) for node in graph}
    if len(set(longer.values())) == len(longer):  # relabelling must keep serials unique
        graph = nx.relabel_nodes(graph, longer)
    return graph


def generated_flowcharts() -> list[tuple[nx.DiGraph, str]]:
    """`EXAMPLES` crawled graphs with hostile texts everywhere, and their flowcharts.

    What can be checked without Mermaid is checked here, where hypothesis can shrink a failure:
    one line per statement, every data text inside a label of entity codes and `<br>`.
    """
    collected: list[tuple[nx.DiGraph, str]] = []

    @COLLECT
    @given(graphs())
    def render_one(graph: nx.DiGraph) -> None:
        source = mermaid.render_mermaid(graph, RenderOptions())
        assert isinstance(source, str)
        source.encode("utf-8")  # no lone surrogate reaches the file
        lines = source.splitlines()
        assert lines[0] == "flowchart TD"
        labels = [line for line in lines if line.startswith("    n") and '["' in line]
        assert len(labels) == graph.number_of_nodes()
        for line in labels:
            assert re.fullmatch(
                r'    n\d+\["(?:[A-Za-z0-9 \-_.,/()]|#(?:quot|lt|gt|amp|\d+);|<br>)*"\]', line
            ), line
        collected.append((graph, source))

    render_one()
    assert len(collected) >= EXAMPLES // 2
    return collected


def check_parsed(graph: nx.DiGraph, result: dict[str, Any]) -> None:
    assert "error" not in result, result["error"]
    assert result["type"] == "flowchart-v2"
    serial_of = {f"n{index}": serial for index, serial in enumerate(sorted(graph))}
    vertices = {vertex["id"]: vertex for vertex in result["vertices"]}
    assert set(vertices) == set(serial_of)  # one vertex per unit, none from the data
    edges = sorted((serial_of[a], serial_of[b]) for a, b in result["edges"])
    assert edges == sorted(graph.edges())
    for node_id, vertex in vertices.items():
        serial = serial_of[node_id]
        attrs = graph.nodes[serial]
        label = vertex["label"]
        assert vertex["labelType"] == "string"  # not Markdown
        assert set(label["tags"]) <= {"br"}, label  # no markup but our line breaks
        assert not label["icon"]
        assert vertex["classes"] == [outcome_class(attrs)]
        expected = expected_lines(serial, attrs)
        assert label["text"].split("\n") == expected, (serial, attrs)


SPACED = (" ", "  two  spaces  ", " lead", "trail ")
"""Serial numbers with spaces at the edges of a label (and a run outcome `"PASS "`)."""


def spaced_flowcharts() -> list[tuple[nx.DiGraph, str]]:
    flowcharts = []
    for serial in SPACED:
        graph = build_graph(crawl_of(unit(serial, outcome="PASS ")))
        flowcharts.append((graph, mermaid.render_mermaid(graph, RenderOptions())))
    return flowcharts


Verdicts = dict[str, list[tuple[nx.DiGraph, str, dict[str, Any]]]]


@pytest.fixture(scope="module")
def verdicts() -> Verdicts:
    """Generated and hand-made flowcharts with Mermaid's verdict on each, from one Node run."""
    if not AVAILABLE:
        pytest.skip(SKIP_REASON)
    groups = {"generated": generated_flowcharts(), "spaced": spaced_flowcharts()}
    flat = [item for flowcharts in groups.values() for item in flowcharts]
    results = iter(mermaid_parse(*[source for _, source in flat]))
    return {
        name: [(graph, source, next(results)) for graph, source in flowcharts]
        for name, flowcharts in groups.items()
    }


def check_all(verdicts: list[tuple[nx.DiGraph, str, dict[str, Any]]]) -> None:
    for graph, source, result in verdicts:
        try:
            check_parsed(graph, result)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- flowchart ---\n{source}") from error


def test_mermaid_parses_any_text_into_the_right_nodes_and_labels(verdicts: Verdicts) -> None:
    assert len(verdicts["generated"]) >= EXAMPLES // 2
    check_all(verdicts["generated"])
    check_all(verdicts["spaced"])  # spaces at label edges survive Mermaid's trim


# --- terminal text --------------------------------------------------------------------------

SGR = re.compile(r"\x1b\[[0-9;]*m")
UNSAFE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufffe\uffff\ud800-\udfff]"
)
"""What no terminal text may hold: every control character but the line end, invisible and
bidi controls, non-characters and lone surrogates."""


@IN_PROCESS
@given(strategies.crawl_results())
def test_coloured_tree_has_only_our_colour_codes(result: CrawlResult) -> None:
    graph = build_graph(result)
    coloured = text.render_text(graph, RenderOptions(color=True))
    assert isinstance(coloured, str)
    bare = SGR.sub("", coloured)
    assert "\x1b" not in bare
    assert not UNSAFE.search(bare), UNSAFE.findall(bare)
    assert bare == text.render_text(graph, RenderOptions())
    lines = bare.splitlines()
    assert len(lines) >= graph.number_of_nodes()  # no data line break hides a unit
    for serial in graph:  # each unit starts a line, after the tree's drawing characters
        unit_line = re.compile(rf"(?:│   |    )*(?:├── |└── )?{re.escape(printable(serial))}( |$)")
        assert any(unit_line.match(line) for line in lines), serial
    coloured.encode("utf-8")


@IN_PROCESS
@given(strategies.crawl_results())
def test_terminal_reports_hold_no_control_character(result: CrawlResult) -> None:
    graph = build_graph(result)
    report = audit(graph)
    texts = {
        "tree-ascii": text.render_text(graph, RenderOptions(charset="ascii")),
        "trace": format_trace(trace(graph, result.start)),
        "audit": format_audit(report),
        "summary": format_summary(summarise(graph, len(report.findings))),
        "crawl": crawl_summary(result, strict=True),
    }
    for name, shown_text in texts.items():
        assert not UNSAFE.search(shown_text), (name, UNSAFE.findall(shown_text))
        assert "\x1b" not in shown_text, name
        shown_text.encode("utf-8")
