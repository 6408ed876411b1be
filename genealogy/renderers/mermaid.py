"""Mermaid flowchart source: one box per unit with serial, part, revision and outcome.

Node IDs are generated (`n0`, `n1`, ... in serial-number order) and no data is ever written
outside a double-quoted label. Inside a label, only ASCII letters, digits, space and `-_.,/()`
are written as they are; every other character becomes a Mermaid entity code (`#quot;`,
`#lt;`, `#gt;`, `#amp;`, or `#<decimal code point>;`). So no data can end the label (`"`,
`]`), start a comment (`%%`), an edge (`-->`), a statement (`;`, newline) or a Markdown string
(backtick), and what Mermaid decodes from the entities is text, never HTML: `<` arrives as
`&lt;`. Escaping `#` and `;` keeps data from forming entity codes of its own, `:` keeps it from
forming Font Awesome icons (`fa:fa-...`), and `\\` keeps `\\n` from becoming a line break.
Line breaks in a label are `<br>`, the only markup written.

Texts are clipped (a serial number to 200 characters, other fields to 100, a reason to 60) so
that one hostile record cannot blow up the diagram; Mermaid refuses to render a diagram of
more than `maxTextSize` characters (50 000 by default, which a few hundred units reach), so a
longer source raises `DiagramTooLarge` before anything is written (`renderers.size`).
"""

from __future__ import annotations

import string
from typing import Any

import networkx as nx

from genealogy.grouping import GROUP, HIDDEN, group_title
from genealogy.nodes import CLASSES, NOT_FETCHED, Status, outcome_class, state_text
from genealogy.renderers import RenderOptions
from genealogy.renderers.palette import LOOKS
from genealogy.renderers.size import check_mermaid
from genealogy.text import clip, shown

SAFE = frozenset(string.ascii_letters + string.digits + " -_.,/()")
NAMED = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
DOT = "\u00b7"  # the middle dot between the fields of a line
SERIAL_LIMIT = 200
TEXT_LIMIT = 100
REASON_LIMIT = 60


def render_mermaid(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    """The flowchart; over Mermaid's size limit `DiagramTooLarge`, unless `options.force`."""
    source = build(graph)
    if not (options and options.force):
        check_mermaid(source)
    return source


def build(graph: nx.DiGraph, direction: str = "TD") -> str:
    """The flowchart source; `direction` is `TD` (top down) or `LR` (left to right)."""
    if direction not in {"TD", "TB", "BT", "LR", "RL"}:
        raise ValueError(f"Unknown Mermaid direction {direction!r}")
    serials = sorted(graph)
    ids = {serial: f"n{index}" for index, serial in enumerate(serials)}
    out = [f"flowchart {direction}"]
    for serial in serials:
        out.append(f'    {ids[serial]}["{label(serial, graph.nodes[serial])}"]')
    for parent, child in sorted(graph.edges()):
        out.append(f"    {ids[parent]} --> {ids[child]}")
    for cls in CLASSES:
        out.append(f"    classDef {cls} {_style(cls)}")
    by_class: dict[str, list[str]] = {}
    for serial in serials:
        by_class.setdefault(outcome_class(graph.nodes[serial]), []).append(ids[serial])
    for cls in CLASSES:
        if cls in by_class:
            out.append(f"    class {','.join(by_class[cls])} {cls}")
    starts = [ids[s] for s in serials if graph.nodes[s].get("start")]
    for node_id in starts:
        out.append(f"    style {node_id} stroke-width:4px")
    return "\n".join(out) + "\n"


def escape(value: object, limit: int = TEXT_LIMIT) -> str:
    """Text for inside a double-quoted Mermaid label, clipped to `limit` characters of data."""
    text = shown(clip("" if value is None else str(value), limit))
    body = text.strip(" ")
    lead, trail = len(text) - len(text.lstrip(" ")), len(text) - len(text.rstrip(" "))
    escaped = "".join(
        char if char in SAFE else NAMED.get(char) or f"#{ord(char)};" for char in body
    )
    # Mermaid trims labels: spaces at the edges go as entities, which it decodes after the trim
    return "#32;" * lead + escaped + "#32;" * (trail if body else 0)


def label(serial: str, attrs: dict[str, Any]) -> str:
    sep = f" {escape(DOT)} "
    group = attrs.get(GROUP)
    if group:  # `×444 CELL-18650 rev B PASS`, then the part name
        title = [escape(group_title(group["count"], attrs), SERIAL_LIMIT)]
        name = [escape(attrs["part_name"])] if attrs.get("part_name") else []
        return "<br>".join(title + name)
    lines = [escape(serial, SERIAL_LIMIT)]
    part = sep.join(escape(v) for v in (attrs.get("part_number"), attrs.get("part_name")) if v)
    if part:
        lines.append(part)
    details = []
    if attrs.get("revision"):
        details.append(f"rev {escape(attrs['revision'])}")
    details.append(escape(outcome_text(attrs)))
    lines.append(sep.join(details))
    if attrs.get(HIDDEN):
        lines.append(escape(f"{attrs[HIDDEN]:,} more below (--depth)"))
    return "<br>".join(lines)


def outcome_text(attrs: dict[str, Any]) -> str:
    """The state, with why an `error` unit has no record (clipped: Mermaid's size limit)."""
    if attrs.get("status") == Status.ERROR and attrs.get("reason"):
        return f"error: {clip(str(attrs['reason']), REASON_LIMIT)}"
    return state_text(attrs)


def _style(cls: str) -> str:
    look = LOOKS[cls]
    style = f"fill:{look.fill},stroke:{look.border},color:#212121"
    if cls == NOT_FETCHED:
        style += ",stroke-dasharray:5 5"
    return style
