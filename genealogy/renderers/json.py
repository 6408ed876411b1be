"""networkx node-link JSON, which `networkx.node_link_graph(data, edges="edges")` loads back."""

from __future__ import annotations

import json

import networkx as nx

from genealogy.renderers import RenderOptions

INDENT_UP_TO = 2000
"""Graphs up to this many units are indented for reading; larger ones are written compact,
as Python's JSON encoder is several times slower with any indent."""


def render_json(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    data = nx.node_link_data(graph, edges="edges")
    indent = 1 if graph.number_of_nodes() <= INDENT_UP_TO else None
    return json.dumps(data, ensure_ascii=False, indent=indent)


def load(text: str) -> nx.DiGraph:
    """The graph back from `render`'s output."""
    graph: nx.DiGraph = nx.node_link_graph(json.loads(text), directed=True, edges="edges")
    return graph
