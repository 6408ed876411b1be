"""networkx node-link JSON, which `networkx.node_link_graph(data, edges="edges")` loads back."""

from __future__ import annotations

import json

import networkx as nx

from genealogy.render import RenderOptions


def render(graph: nx.DiGraph, fmt: str = "json", options: RenderOptions | None = None) -> str:
    data = nx.node_link_data(graph, edges="edges")
    return json.dumps(data, ensure_ascii=False, indent=1)


def load(text: str) -> nx.DiGraph:
    """The graph back from `render`'s output."""
    graph: nx.DiGraph = nx.node_link_graph(json.loads(text), directed=True, edges="edges")
    return graph
