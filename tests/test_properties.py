"""Properties of the exports, for any texts anywhere in the units (hypothesis, no HTTP)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy.crawler import CrawlResult
from genealogy.graph import build_graph
from genealogy.output import encode
from genealogy.renderers import dot, layout, render
from genealogy.renderers import json as json_render
from genealogy.text import printable, shown
from tests import strategies
from tests.strategies import (
    LEGEND_NODES,
    arrows,
    as_drawn,
    assert_same_graph,
    bold_text,
    dot_structure,
    expected_edges,
    in_label,
    strict_json,
    svg_facts,
)

_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
WITH_GRAPHVIZ = settings(max_examples=30, deadline=None, suppress_health_check=_HEALTH)
"""Each example runs the real `dot` program."""
IN_PROCESS = settings(max_examples=100, deadline=None, suppress_health_check=_HEALTH)

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufff8\ufffe\uffff\ud800-\udfff"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
"""What `printable` must never let through (controls, invisibles, bidi, non-XML, surrogates)."""


def _shown_serial(serial: str) -> str:
    return printable(serial) or "(empty serial number)"


@pytest.mark.graphviz
@pytest.mark.slow
@WITH_GRAPHVIZ
@given(strategies.crawl_results())
def test_svg_draws_every_unit_and_nothing_else(result: CrawlResult) -> None:
    graph = build_graph(result)
    drawn = render(graph, "svg")
    assert isinstance(drawn, str)
    facts = svg_facts(drawn)  # well-formed XML; no script, event attribute, link or data ID
    assert facts.nodes == len(result.units) + LEGEND_NODES
    assert graph.number_of_edges() == len(expected_edges(result))
    assert facts.edges == arrows(graph)  # one arrow into a grid of leaves stands for all of them
    bold = [as_drawn(text) for text in facts.bold]
    for serial in result.units:
        assert as_drawn(_shown_serial(serial)) in bold, serial
    if result.start:
        assert bold.count(as_drawn(printable(result.start))) >= 2  # the title and the node
    # the same bytes are what `--output` writes
    assert encode(drawn).decode("utf-8") == drawn


@pytest.mark.slow
@IN_PROCESS
@given(strategies.crawl_results())
def test_dot_keeps_every_text_inside_escaped_labels(result: CrawlResult) -> None:
    graph = build_graph(result)
    source = render(graph, "dot")
    assert isinstance(source, str)
    title, labels, edges = dot_structure(source)  # only our statements; labels well-formed
    assert edges == arrows(graph)
    ids = {serial: f"u{index}" for index, serial in enumerate(layout.plan(graph).order)}
    assert set(labels) == set(ids.values())
    for serial, node_id in ids.items():
        assert bold_text(labels[node_id]) == (in_label(serial) or "(empty serial number)")
        shown_text = "".join(labels[node_id].itertext())
        assert not _UNSAFE.search(shown_text)
    if result.start:
        assert title is not None and bold_text(title) == in_label(result.start)
    else:
        assert title is None
    assert source.encode("utf-8")  # no lone surrogate can reach the file or `dot`


@pytest.mark.slow
@IN_PROCESS
@given(strategies.crawl_results())
def test_json_is_valid_and_loads_back_the_same_graph(result: CrawlResult) -> None:
    graph = build_graph(result)
    text = render(graph, "json")
    assert isinstance(text, str)
    strict_json(text)
    assert_same_graph(json_render.load(text), graph)
    written = encode(text).decode("utf-8")  # what `--output` writes: valid UTF-8
    strict_json(written)
    assert_same_graph(json_render.load(written), graph)


@IN_PROCESS
@given(strategies.texts(64))
def test_printable_leaves_nothing_unsafe_and_is_stable(text: str) -> None:
    visible = printable(text)
    assert not _UNSAFE.search(visible)
    assert printable(visible) == visible
    assert shown(text) == visible
    visible.encode("utf-8")  # raises if a lone surrogate were left
    assert (visible == text) == (_UNSAFE.search(text) is None)


@IN_PROCESS
@given(st.text(st.characters(codec=None) | st.characters(categories=["Cs"]), max_size=64))
def test_encode_always_gives_utf8(text: str) -> None:
    decoded = encode(text).decode("utf-8")
    if not re.search("[\ud800-\udfff]", text):
        assert decoded == text


@IN_PROCESS
@given(strategies.texts(3 * dot.SERIAL_LIMIT), strategies.texts(3 * dot.TEXT_LIMIT))
def test_a_label_never_nears_graphviz_limit(serial: str, text: str) -> None:
    attrs = {
        "status": "error",
        "part_number": text * 3,
        "part_name": text * 3,
        "revision": text * 3,
        "reason": text * 3,
        "run_outcome": text * 3,
    }
    for status in ("ok", "error"):
        label = dot._label(serial * 3, attrs | {"status": status})
        assert len(label.encode("utf-8")) < 16384
