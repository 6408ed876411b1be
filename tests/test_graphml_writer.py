"""The GraphML renderer writes its document line by line, without an ElementTree of the whole
graph: what it writes must be exactly what `networkx.generate_graphml(portable(graph))` writes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings

import genealogy
from genealogy.graph import build_graph
from genealogy.renderers import graphml
from tests.records import unit
from tests.strategies import crawl_results
from tests.test_render_formats import HOSTILE_SERIAL, hostile_units, tree_units


def networkx_document(graph: nx.DiGraph) -> str:
    lines = nx.generate_graphml(graphml.portable(graph), prettyprint=True)
    return "\n".join([graphml.XML_DECLARATION, *lines]) + "\n"


def written(graph: nx.DiGraph) -> str:
    return graphml.render_graphml(graph)


@pytest.mark.parametrize(
    ("records", "start"),
    [
        (tree_units(), "A"),
        (hostile_units(), HOSTILE_SERIAL),
        (genealogy.demo_records(), "CELL-21700-C-0142"),
        (
            [
                unit("X1", parent="X3", children=["X2"]),
                unit("X2", parent="X1", children=["X3"]),
                unit("X3", parent="X2", children=["X1"]),
            ],
            "X1",
        ),
    ],
    ids=["tree", "hostile", "demo", "cycle"],
)
def test_the_document_is_the_one_networkx_writes(records: list[dict[str, Any]], start: str) -> None:
    graph = genealogy.from_records(records, start)
    assert written(graph) == networkx_document(graph)


def test_odd_graphs_too() -> None:
    graph = nx.DiGraph()
    assert written(graph) == networkx_document(graph)  # an empty graph element
    graph.graph.update({"id": 'G<"1">', "name": "é\U0001f600", "count": 3})
    graph.add_node("a\x00", weight=1.5, flag=True, empty="")  # escapes to a\x00...
    graph.add_node("a\\x00", other=2)  # ... which another node is spelled as: they merge
    graph.add_node("bare")
    graph.add_edge("a\x00", "bare", kinds=["x", "y"])
    graph.add_edge("bare", "a\\x00")
    assert written(graph) == networkx_document(graph)


def test_a_value_graphml_cannot_hold_is_refused_as_networkx_refuses_it() -> None:
    class Level(IntEnum):
        ONE = 1

    graph = nx.DiGraph()
    graph.add_node("A", odd=complex(1, 2))  # not a number GraphML knows: `portable` makes text
    assert written(graph) == networkx_document(graph)
    graph.nodes["A"]["odd"] = Level.ONE  # an int of a type of its own: neither writes it
    with pytest.raises(nx.NetworkXError, match="does not support"):
        networkx_document(graph)
    with pytest.raises(nx.NetworkXError, match="does not support"):
        written(graph)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(crawl_results(max_units=6))
@pytest.mark.slow
def test_any_crawl_gives_the_document_networkx_writes(result: Any) -> None:
    graph = build_graph(result)
    assert written(graph) == networkx_document(graph)
