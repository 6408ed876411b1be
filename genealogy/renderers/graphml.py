"""GraphML for yEd, Gephi, Cytoscape or `networkx.read_graphml`, with every attribute.

GraphML holds only scalar values, so the graph is adapted on the way out:

* `None` values are left out (an absent `<data>` element means "no value");
* lists and dicts (`children_serials`, `metadata`, the edges' `declared_by`, the graph's
  `roots` and `stats`) become JSON strings, which `json.loads` turns back into equal values:
  a control or invisible character in them is written as a JSON `\\uNNNN` escape (a surrogate
  pair beyond U+FFFF);
* every other string, node key included, goes through `genealogy.text.printable`: XML 1.0
  cannot hold most control characters (and `\\r` would not survive a parser), so a control or
  invisible character is written as a visible `\\xNN` / `\\uNNNN` / `\\UNNNNNNNN` escape, as
  in every other format; the non-characters U+FFFE and U+FFFF, also forbidden in XML, likewise.

Everything else, bool, int, float and ordinary text, loads back from `networkx.read_graphml`
equal to the graph's value. Nodes and edges are written in sorted order, so the same graph
always gives the same file.
"""

from __future__ import annotations

import json
import re
from typing import Any

import networkx as nx

from genealogy.renderers import RenderOptions
from genealogy.text import printable

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_NONCHARACTERS = re.compile("[\ufffe\uffff]")
_NON_ASCII = re.compile("[^\x20-\x7e]")


def render_graphml(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    lines = nx.generate_graphml(portable(graph), prettyprint=True)
    return "\n".join([XML_DECLARATION, *lines]) + "\n"


def portable(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy of `graph` with only the values GraphML can hold; see the module docstring."""
    out = nx.DiGraph()
    out.graph.update(_attrs(graph.graph))
    for node in sorted(graph):  # sorted, so that the output does not depend on crawl order
        out.add_node(_text(node), **_attrs(graph.nodes[node]))
    for parent, child in sorted(graph.edges()):
        out.add_edge(_text(parent), _text(child), **_attrs(graph.edges[parent, child]))
    return out


def _attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    return {_text(key): _value(value) for key, value in attrs.items() if value is not None}


def _value(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return _json(value)
    if isinstance(value, bool | int | float):
        return value
    return _text(str(value))


def _json(value: Any) -> str:
    """JSON whose strings escape what XML or a terminal should not get, as `\\uNNNN`."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _NON_ASCII.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if printable(char) == char and not _NONCHARACTERS.match(char):
        return char
    return json.dumps(char)[1:-1]  # \\uNNNN; beyond U+FFFF a surrogate pair


def _text(value: object) -> str:
    return _NONCHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(str(value)))
