"""A flat CSV table for spreadsheets: a header row, then one row per unit in serial order.

`parent` and `children` list the unit's neighbours in the graph, joined with `;`. Text cells
go through `genealogy.text.printable` (one line each, no control characters or ANSI escapes),
and a text cell that a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
tab or carriage return) gets a leading `'`, as OWASP advises against CSV injection. Numeric
cells (`run_duration_s`, `depth`) are written as numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import networkx as nx

from genealogy.render import RenderOptions
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


def render(graph: nx.DiGraph, fmt: str = "csv", options: RenderOptions | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
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
    """`text`, with a `'` in front if a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
