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

from genealogy.nodes import CLASSES, NOT_FETCHED, Status, outcome_class, state_text
from genealogy.renderers import RenderOptions
from genealogy.renderers.palette import LOOKS
from genealogy.text import clip, shown


def render_dot(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    return source(graph)


def source(graph: nx.DiGraph) -> str:
    """The DOT text, written directly: every value is either ours or an escaped HTML label,
    so no quoting library is needed (and 100,000 units take about a second)."""
    lines = [
        "digraph genealogy {",
        f"\tgraph [fontname=Helvetica label={_title(graph)} labelloc=t rankdir=LR]",
        '\tnode [fontname=Helvetica fontsize=10 shape=box style="rounded,filled"]',
        '\tedge [arrowsize=0.7 color="#607d8b"]',
    ]
    ids = {serial: f"u{index}" for index, serial in enumerate(graph)}
    for serial, attrs in graph.nodes(data=True):
        lines.append(f"\t{ids[serial]} [label={_label(serial, attrs)} {_node_style(attrs)}]")
    lines.extend(f"\t{ids[parent]} -> {ids[child]}" for parent, child in graph.edges())
    lines.extend(_legend())
    lines.append("}")
    return "\n".join(lines) + "\n"


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
    return html.escape(shown(clip(text, limit)), quote=True).replace("\\", "\\\\")


def _label(serial: str, attrs: dict[str, Any]) -> str:
    lines = [f"<B>{_e(serial, SERIAL_LIMIT) or EMPTY_SERIAL}</B>"]
    part = " · ".join(_e(v) for v in (attrs.get("part_number"), attrs.get("part_name")) if v)
    if part:
        lines.append(part)
    details = []
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
    return "<" + "<BR/>".join(lines) + ">"


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
        return (
            f"<<B>{_e(start, SERIAL_LIMIT)}</B> compared with <B>{_e(reference, SERIAL_LIMIT)}"
            "</B> (double red border, ≠: differs)>"
        )
    return f"<Assembly around <B>{_e(start, SERIAL_LIMIT)}</B>>" if start else "Assembly"


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
