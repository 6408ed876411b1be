"""A flat CSV table for spreadsheets: a header row, then one row per unit in serial order.

`parent` and `children` list the unit's neighbours in the graph, joined with `;`. Every text
cell is quoted (`"..."`), numeric cells (`run_duration_s`, `depth`) are bare numbers. Text cells
go through `genealogy.text.printable` (one line each, no control, invisible or ANSI characters).

Against CSV injection (OWASP), a cell that a spreadsheet would take for a formula, one starting
with `=`, `+`, `-`, `@`, tab or carriage return, gets a leading `'`. So does every such item
after a `;` or `,` inside a cell: a spreadsheet opened with `;` as its list separator (the
default in much of Europe) splits `a;=1+1`, and so the `;`-joined `parent`/`children` lists,
into cells of their own, one of which would be a formula. `a;=1+1` is written `a;'=1+1`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import networkx as nx

from genealogy.renderers import RenderOptions
from genealogy.text import printable

COLUMNS = (
    "serial",
    "status",
    "reason",
    "part_number",
    "part_name",
    "revision",
    "batch",
    "sample",
    "created_at",
    "run_outcome",
    "run_procedure",
    "run_started_at",
    "run_ended_at",
    "run_duration_s",
    "created_by_user",
    "created_by_station",
    "parent",
    "children",
    "depth",
)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_ITEM = re.compile(f"(^|[;,])(?=[{re.escape(''.join(FORMULA_STARTS))}])")
"""The start of the cell, or a `;` or `,`, followed by a formula start."""


def render_csv(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(COLUMNS)
    for serial in sorted(graph):
        writer.writerow(_cell(value) for value in row(graph, serial))
    return buffer.getvalue()


def row(graph: nx.DiGraph, serial: str) -> list[Any]:
    """The unit's values in `COLUMNS` order, before escaping."""
    attrs: dict[str, Any] = graph.nodes[serial]
    values: dict[str, Any] = {
        **attrs,
        "serial": serial,
        "parent": ";".join(sorted(graph.predecessors(serial))),
        "children": ";".join(sorted(graph.successors(serial))),
    }
    return [values.get(column) for column in COLUMNS]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return neutralise(printable(str(value)))


def neutralise(text: str) -> str:
    """`text` with a `'` in front of it, and after each `;` or `,`, where what follows would
    start a formula: a spreadsheet splitting the cell on either must find no formula."""
    return _FORMULA_ITEM.sub(r"\1'", text)
