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

The document is written line by line, exactly as `networkx.generate_graphml(portable(graph))`
writes it (keys in reverse order of first use, `attr.type` from the value's Python type,
ElementTree's escaping and indentation, non-ASCII characters as `&#N;` references), without
building an ElementTree of every node: 100,000 units take seconds and a few hundred MB
instead of half a minute and 2 GB.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from typing import Any

import networkx as nx

from genealogy.renderers import RenderOptions
from genealogy.text import printable

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
ROOT = (
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">'
)
XML_TYPES: dict[type, str] = {bool: "boolean", int: "long", float: "double", str: "string"}
"""GraphML's `attr.type` per Python type, as networkx names them."""
_NONCHARACTERS = re.compile("[\ufffe\uffff]")
_NON_ASCII = re.compile("[^\x20-\x7e]")


def render_graphml(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    document = "\n".join([XML_DECLARATION, *_lines(graph)]) + "\n"
    # as ElementTree's us-ascii output: every other character as a character reference
    return document.encode("ascii", "xmlcharrefreplace").decode("ascii")


def _lines(graph: nx.DiGraph) -> list[str]:
    """`portable(graph)`, held as plain dicts the way networkx holds it (a node key met twice
    once escaped merges into one node; edges come by source in node order), then written."""
    meta = _attrs(graph.graph)
    nodes: dict[str, dict[str, Any]] = {}
    for node in sorted(graph):
        nodes.setdefault(_text(node), {}).update(_attrs(graph.nodes[node]))
    adjacency: dict[str, dict[str, dict[str, Any]]] = {}
    for parent, child in sorted(graph.edges()):
        edge = adjacency.setdefault(_text(parent), {}).setdefault(_text(child), {})
        edge.update(_attrs(graph.edges[parent, child]))
    keys: dict[tuple[str, str, str], str] = {}
    known: dict[tuple[str, type, str], str] = {}  # the same, by Python type: one lookup

    def data(attrs: dict[str, Any], scope: str, indent: str) -> list[str]:
        out = []
        for name, value in attrs.items():
            key = known.get((name, type(value), scope))
            if key is None:
                xml_type = XML_TYPES.get(type(value))
                if xml_type is None:  # as networkx: `portable` leaves only these four types
                    raise nx.NetworkXError(
                        f"GraphML writer does not support {type(value)} as data values."
                    )
                key = keys.get((name, xml_type, scope))
                if key is None:
                    key = keys[name, xml_type, scope] = f"d{len(keys)}"
                known[name, type(value), scope] = key
            text = _cdata(str(value))
            out.append(
                f'{indent}<data key="{key}">{text}</data>'
                if text
                else f'{indent}<data key="{key}" />'
            )
        return out

    graph_id = meta.pop("id", None)
    graph_data = data(  # its keys come first, its elements after the edges
        {k: v for k, v in meta.items() if k not in ("node_default", "edge_default")},
        "graph",
        "    ",
    )
    body: list[str] = []
    for node, attrs in nodes.items():
        head = f'    <node id="{_attribute(node)}"'
        if attrs:
            body.append(head + ">")
            body.extend(data(attrs, "node", "      "))
            body.append("    </node>")
        else:
            body.append(head + " />")
    for parent in nodes:
        for child, attrs in adjacency.get(parent, {}).items():
            head = f'    <edge source="{_attribute(parent)}" target="{_attribute(child)}"'
            if attrs:
                body.append(head + ">")
                body.extend(data(attrs, "edge", "      "))
                body.append("    </edge>")
            else:
                body.append(head + " />")
    body.extend(graph_data)
    graph_tag = '<graph edgedefault="directed"'
    if graph_id is not None:
        graph_tag += f' id="{_attribute(str(graph_id))}"'
    lines = [ROOT]
    lines.extend(
        f'  <key id="{key}" for="{scope}" attr.name="{_attribute(name)}" attr.type="{kind}" />'
        for (name, kind, scope), key in reversed(keys.items())
    )
    if body:
        lines.append(f"  {graph_tag}>")
        lines.extend(body)
        lines.append("  </graph>")
    else:
        lines.append(f"  {graph_tag} />")
    lines.append("</graphml>")
    return lines


def _cdata(text: str) -> str:
    """Text as ElementTree escapes it in an element."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _attribute(text: str) -> str:
    """Text as ElementTree escapes it in an attribute value."""
    text = _cdata(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    for raw, reference in (("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;")):
        if raw in text:
            text = text.replace(raw, reference)
    return text


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
    return {_key(key): _value(value) for key, value in attrs.items() if value is not None}


@cache
def _key(name: object) -> str:
    return _text(name)


def _value(value: Any) -> Any:
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is bool or kind is int or kind is float:
        return value
    if isinstance(value, list | tuple | dict):
        return _json(value)
    if isinstance(value, bool | int | float):
        return value
    return _text(str(value))


def _json(value: Any) -> str:
    """JSON whose strings escape what XML or a terminal should not get, as `\\uNNNN`."""
    if not value:  # most units list no child and hold no metadata
        return "{}" if isinstance(value, dict) else "[]"
    if isinstance(value, list) and len(value) <= 4 and all(type(v) is str for v in value):
        return _short_json(tuple(value))  # such as every edge's `declared_by`
    return _json_text(value)


@lru_cache(maxsize=256)
def _short_json(items: tuple[str, ...]) -> str:
    return _json_text(list(items))


def _json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return _NON_ASCII.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    if printable(char) == char and not _NONCHARACTERS.match(char):
        return char
    return json.dumps(char)[1:-1]  # \\uNNNN; beyond U+FFFF a surrogate pair


def _text(value: object) -> str:
    text = str(value)
    if text.isascii() and text.isprintable():  # the common case: nothing to escape
        return text
    return _NONCHARACTERS.sub(lambda m: f"\\u{ord(m.group()):04x}", printable(text))
