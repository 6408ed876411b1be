"""DOT source: one box per unit with serial, part, revision and outcome, coloured by outcome.

Node IDs are generated (`u0`, `u1`, ...) and every text from the data goes into HTML-like
labels, escaped, so no serial or part name can end a string, add an attribute or inject markup.

Graphviz (2.43) rejects an HTML-like label longer than 16384 bytes and an empty element such as
`<B></B>`, so every text is clipped to a length that keeps a whole label well under that limit
(one character of data becomes at most 7 bytes: `\\u202e` once its backslash is doubled), and
an empty serial number is shown as a placeholder.
"""

from __future__ import annotations

import html
import itertools
from typing import Any

import graphviz
import networkx as nx

from genealogy.graph import CLASSES, NOT_FETCHED, outcome_class
from genealogy.render import RenderOptions
from genealogy.render.palette import LOOKS
from genealogy.text import shown


def render(graph: nx.DiGraph, fmt: str = "dot", options: RenderOptions | None = None) -> str:
    source: str = build(graph).source
    return source


def build(graph: nx.DiGraph) -> graphviz.Digraph:
    dot = graphviz.Digraph(
        "genealogy",
        graph_attr={
            "rankdir": "LR",
            "fontname": "Helvetica",
            "label": _title(graph),
            "labelloc": "t",
        },
        node_attr={
            "shape": "box",
            "style": "rounded,filled",
            "fontname": "Helvetica",
            "fontsize": "10",
        },
        edge_attr={"color": "#607d8b", "arrowsize": "0.7"},
    )
    ids = {serial: f"u{index}" for index, serial in enumerate(graph)}
    for serial, attrs in graph.nodes(data=True):
        dot.node(ids[serial], label=_label(serial, attrs), **_node_style(attrs))
    for parent, child in graph.edges():
        dot.edge(ids[parent], ids[child])
    _add_legend(dot)
    return dot


SERIAL_LIMIT = 500
"""Characters of a serial number shown in a label; longer ones end with `…`."""
TEXT_LIMIT = 200
"""Characters shown of a part number, part name, revision or outcome."""
REASON_LIMIT = 60
"""Characters shown of the reason a unit was not fetched."""
EMPTY_SERIAL = "<I>(empty serial number)</I>"


def _e(value: object, limit: int = TEXT_LIMIT) -> str:
    """Escape text for an HTML-like label, clipped to `limit` characters of the data.

    Graphviz expands `\\N`, `\\G`, `\\E`... (node, graph, edge names) and `\\\\` even in HTML-like
    labels, after decoding entities: a doubled backslash is the only way to show one.
    """
    text = "" if value is None else str(value)
    return html.escape(shown(_short(text, limit)), quote=True).replace("\\", "\\\\")


def _label(serial: str, attrs: dict[str, Any]) -> str:
    lines = [f"<B>{_e(serial, SERIAL_LIMIT) or EMPTY_SERIAL}</B>"]
    part = " · ".join(_e(v) for v in (attrs.get("part_number"), attrs.get("part_name")) if v)
    if part:
        lines.append(part)
    details = []
    if attrs.get("revision"):
        details.append(f"rev {_e(attrs['revision'])}")
    if attrs.get("status") == "ok":
        details.append(_e(attrs.get("run_outcome") or "no run"))
    else:
        details.append(f"<I>{_e(attrs.get('status', '').replace('_', ' '))}</I>")
    lines.append(" · ".join(details))
    if attrs.get("reason") and attrs.get("status") != "not_found":
        lines.append(f'<FONT POINT-SIZE="8">{_e(attrs["reason"], REASON_LIMIT)}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _node_style(attrs: dict[str, Any]) -> dict[str, str]:
    cls = outcome_class(attrs)
    look = LOOKS[cls]
    style = {"fillcolor": look.fill, "color": look.border}
    if cls == NOT_FETCHED:
        style["style"] = "rounded,dashed,filled"
    if attrs.get("start"):
        style["penwidth"] = "3"
    return style


def _title(graph: nx.DiGraph) -> str:
    start = graph.graph.get("start")
    return f"<Assembly around <B>{_e(start, SERIAL_LIMIT)}</B>>" if start else "Assembly"


def _add_legend(dot: graphviz.Digraph) -> None:
    with dot.subgraph(name="cluster_legend") as legend:
        legend.attr(label="Legend", fontsize="10", color="#b0bec5", style="rounded")
        for cls in CLASSES:
            look = LOOKS[cls]
            style = "rounded,dashed,filled" if cls == NOT_FETCHED else "rounded,filled"
            legend.node(
                f"legend_{cls}",
                label=look.label,
                fillcolor=look.fill,
                color=look.border,
                style=style,
            )
        for left, right in itertools.pairwise(CLASSES):
            legend.edge(f"legend_{left}", f"legend_{right}", style="invis")
