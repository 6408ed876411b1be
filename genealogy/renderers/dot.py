"""DOT source: one box per unit with serial, part, revision and outcome, coloured by outcome.

A unit with a `diff` attribute (`genealogy diff`, `genealogy.queries.diff.marked`) has a double
border and a `≠` line saying how it differs from the reference.

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

import networkx as nx

from genealogy.grouping import GROUP, HIDDEN, group_title
from genealogy.nodes import CLASSES, NOT_FETCHED, Status, outcome_class, state_text
from genealogy.renderers import RenderOptions, layout
from genealogy.renderers.palette import LOOKS
from genealogy.text import clip, shown


def render_dot(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    return source(graph)


def source(graph: nx.DiGraph) -> str:
    """The DOT text, written directly: every value is either ours or an escaped HTML label,
    so no quoting library is needed (and 100,000 units take about a second).

    Top down, the top-level assemblies first (`layout`); nodes and links in the order of the
    text tree, so the drawing is the same whatever order the crawl met the units in."""
    drawn = layout.plan(graph)
    ids = {serial: f"u{index}" for index, serial in enumerate(drawn.order)}
    lines = [
        "digraph genealogy {",
        f"\tgraph [fontname=Helvetica label={_title(graph)} labelloc=t {layout.GRAPH}]",
        '\tnode [fontname=Helvetica fontsize=10 shape=box style="rounded,filled"]',
        '\tedge [arrowsize=0.7 color="#607d8b"]',
    ]
    in_grid = {kid for kids in drawn.grids.values() for kid in kids}
    for serial in drawn.order:
        if serial not in in_grid:
            lines.append(_node(ids[serial], serial, graph.nodes[serial]))
        if serial in drawn.grids:
            lines.append(f"\tsubgraph cluster_{ids[serial]} {{")
            lines.append(f"\t\t{GRID_STYLE}")
            grid = drawn.grids[serial]
            lines.extend("\t" + _node(ids[kid], kid, graph.nodes[kid]) for kid in grid)
            lines.append("\t}")
    for parent, child, kind in drawn.edges:
        lines.append(f"\t{ids[parent]} -> {ids[child]}{_edge_style(kind, ids[parent])}")
    lines.extend(_legend())
    lines.append("}")
    return "\n".join(lines) + "\n"


GRID_STYLE = 'color="#90a4ae" style="rounded,dashed" label=""'
"""The box around a grid of leaves that one arrow from their parent points into."""


def _node(node_id: str, serial: str, attrs: dict[str, Any]) -> str:
    return f"\t{node_id} [label={_label(serial, attrs)} {_node_style(attrs)}]"


def _edge_style(kind: str, parent_id: str) -> str:
    if kind == layout.INVISIBLE:
        return " [style=invis]"
    if kind == layout.INTO_GRID:
        return f" [lhead=cluster_{parent_id}]"
    return ""


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
    labels, after decoding entities: a doubled backslash is the only way to show one. A text
    of nothing but `]` (a serial number `]`) is a syntax error to Graphviz (2.43): `]` is
    written as its character reference.
    """
    text = "" if value is None else str(value)
    escaped = html.escape(shown(clip(text, limit)), quote=True)
    return escaped.replace("\\", "\\\\").replace("]", "&#93;")


def _label(serial: str, attrs: dict[str, Any]) -> str:
    group = attrs.get(GROUP)
    if group:
        return _group_label(group["count"], attrs)
    lines = [f"<B>{_e(serial, SERIAL_LIMIT) or EMPTY_SERIAL}</B>"]
    if attrs.get("part_name"):  # a line of its own: the boxes stay narrow
        lines.append(_e(attrs["part_name"]))
    details = [_e(attrs["part_number"])] if attrs.get("part_number") else []
    if attrs.get("revision"):
        details.append(f"rev {_e(attrs['revision'])}")
    if attrs.get("status") == Status.OK:
        details.append(_e(state_text(attrs)))
    else:
        details.append(f"<I>{_e(state_text(attrs))}</I>")
    lines.append(" · ".join(details))
    if attrs.get("reason") and attrs.get("status") != "not_found":
        lines.append(f'<FONT POINT-SIZE="8">{_e(attrs["reason"], REASON_LIMIT)}</FONT>')
    if attrs.get("diff"):  # `genealogy diff`: how it differs from the reference
        lines.append(f'<FONT COLOR="{DIFF_COLOUR}"><B>≠ {_e(attrs["diff"])}</B></FONT>')
    return "<" + "<BR/>".join([*lines, *_hidden(attrs)]) + ">"


def _group_label(count: int, attrs: dict[str, Any]) -> str:
    """`×444 CELL-18650 rev B PASS` in bold (one text in the SVG), then the part name."""
    lines = [f"<B>{_e(group_title(count, attrs), SERIAL_LIMIT)}</B>"]
    if attrs.get("part_name"):
        lines.append(_e(attrs["part_name"]))
    return "<" + "<BR/>".join(lines) + ">"


def _hidden(attrs: dict[str, Any]) -> list[str]:
    """Below a unit at the --depth cut: how many of its children are not drawn."""
    hidden = attrs.get(HIDDEN)
    if not hidden:
        return []
    return [f'<FONT POINT-SIZE="8">{hidden:,} more below (--depth)</FONT>']


def _node_style(attrs: dict[str, Any]) -> str:
    """Attributes from our own palette: fixed words and colours, nothing from the data."""
    cls = outcome_class(attrs)
    marks = (" penwidth=3" if attrs.get("start") else "") + (
        f' peripheries=2 color="{DIFF_COLOUR}"' if attrs.get("diff") else ""
    )
    return STYLES[cls] + marks


def _style(cls: str) -> str:
    look = LOOKS[cls]
    dashed = "rounded,dashed,filled" if cls == NOT_FETCHED else "rounded,filled"
    return f'color="{look.border}" fillcolor="{look.fill}" style="{dashed}"'


STYLES = {cls: _style(cls) for cls in CLASSES}


DIFF_COLOUR = "#b71c1c"
"""The `≠` line and the double border of a unit that differs from the reference (the fill
keeps the outcome's colour)."""


def _title(graph: nx.DiGraph) -> str:
    start = graph.graph.get("start")
    reference = graph.graph.get("diff_reference")
    if start and reference:
        title = (
            f"<B>{_e(start, SERIAL_LIMIT)}</B> compared with <B>{_e(reference, SERIAL_LIMIT)}"
            "</B> (double red border, ≠: differs)"
        )
    else:
        title = f"Assembly around <B>{_e(start, SERIAL_LIMIT)}</B>" if start else "Assembly"
    note = _grouped_note(graph)
    return f"<{title}{note}>" if start or note else title


def _grouped_note(graph: nx.DiGraph) -> str:
    """Under the title of a grouped drawing: how many units its boxes stand for."""
    counts = [attrs[GROUP]["count"] for _, attrs in graph.nodes(data=True) if attrs.get(GROUP)]
    if not counts:
        return ""
    units = graph.number_of_nodes() - len(counts) + sum(counts)
    return (
        f'<BR/><FONT POINT-SIZE="10">{units:,} units in {graph.number_of_nodes():,} boxes: '
        "identical sibling units are one box (×N; --no-group draws each)</FONT>"
    )


def _legend() -> list[str]:
    lines = [
        "\tsubgraph cluster_legend {",
        '\t\tcolor="#b0bec5" fontsize=10 label=Legend style=rounded',
    ]
    lines.extend(f'\t\tlegend_{cls} [label="{LOOKS[cls].label}" {STYLES[cls]}]' for cls in CLASSES)
    lines.extend(
        f"\t\tlegend_{left} -> legend_{right} [style=invis]"
        for left, right in itertools.pairwise(CLASSES)
    )
    lines.append("\t}")
    return lines
