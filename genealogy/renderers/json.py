"""networkx node-link JSON, which `networkx.node_link_graph(data, edges="edges")` loads back.

Each unit and each link is one line: a file that `grep` and a line diff can read, written at
any size by Python's C encoder (any `indent` makes `json` fall back to its pure-Python encoder,
about five times slower). The small header (the crawl's own attributes) is indented.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

from genealogy.renderers import RenderOptions


def render_json(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    return one_item_a_line(node_link(graph))


def node_link(graph: nx.DiGraph) -> dict[str, Any]:
    """`nx.node_link_data(graph, edges="edges")`, with each unit's `id` first on its line."""
    return {
        "directed": True,
        "multigraph": False,
        "graph": graph.graph,
        "nodes": [_keyed({"id": node}, attrs) for node, attrs in graph.nodes(data=True)],
        "edges": [
            _keyed({"source": parent, "target": child}, attrs)
            for parent, child, attrs in graph.edges(data=True)
        ],
    }


def _keyed(keys: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    """The keys first, then the attributes; an attribute of a key's name never replaces it
    (as in `nx.node_link_data`)."""
    return {**keys, **attrs, **keys}


def one_item_a_line(document: dict[str, Any]) -> str:
    """`document` as JSON: its lists one item a line, anything else indented."""
    encode = json.JSONEncoder(ensure_ascii=False).encode
    members = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(map(encode, value))
            members.append(f"{encode(key)}: [\n  {items}\n ]")
        else:
            nested = json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n ")
            members.append(f"{encode(key)}: {nested}")
    return "{\n " + ",\n ".join(members) + "\n}"


def load(text: str) -> nx.DiGraph:
    """The graph back from `render`'s output."""
    graph: nx.DiGraph = nx.node_link_graph(json.loads(text), directed=True, edges="edges")
    return graph
