"""One self-contained, interactive HTML page: a collapsible tree, search, details and findings.

The page is a fixed template (`assets/page.*`) plus the data as JSON in a non-executable
`<script type="application/json">` block, which the page's script reads with `JSON.parse` and
puts on screen with `textContent` only: no string from the data is ever parsed as markup.

A Content-Security-Policy in the page allows exactly our one script and one style sheet (by
hash) and no connection, frame, form or remote image: opened from `file://` or served from
anywhere, the page fetches nothing, and even markup that slipped in could not run a script.

The tree is a spanning tree of the graph, placed breadth-first from the top-level assemblies:
each unit appears once, at its shallowest position. A unit that a second parent also lists
(inconsistent data) or that closes a cycle appears there as a *link* row pointing at it, so
the page grows with the number of links, never exponentially.

Each unit carries `below`: how many failed (FAIL), errored (ERROR, TIMEOUT, ABORTED) and
missing (not found, or not fetchable) units its row holds in the placed tree, i.e. what opening
it all the way shows (link rows lead elsewhere and are not counted), so every unit counts once
per top-level row; a collapsed row shows it ("2 failed · 1 missing"). One pass over the placed
tree computes them all. A unit whose run history is known carries it (`runs`, oldest first,
each with its outcome class; `run_count`; `latest_outcome`), shown under "Run history".
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import deque
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

import networkx as nx

from genealogy.graph import roots as top_level
from genealogy.nodes import CLASSES, NOT_FETCHED, OUTCOMES, UNKNOWN, outcome_class, state_text
from genealogy.nodes import problem_kind as kind_of
from genealogy.queries.audit import Audit
from genealogy.renderers import RenderOptions
from genealogy.renderers.palette import LOOKS
from genealogy.text import shown

FIELDS = (
    "part_number",
    "part_name",
    "revision",
    "batch",
    "sample",
    "run_outcome",
    "run_procedure",
    "run_id",
    "run_started_at",
    "run_ended_at",
    "run_duration_s",
    "created_at",
    "created_by_station",
    "created_by_user",
    "reason",
    "reported_serial",
    "parent_serial",
    "run_count",
    "latest_outcome",
    "diff",
)
"""Node attributes the page shows, copied when present (not None); `diff` only on a tree
`genealogy diff` marked: how the unit differs from the reference."""

RUN_FIELDS = ("id", "outcome", "procedure", "started_at", "ended_at", "duration_s")
"""What the page shows of each run of a unit's history."""

BELOW = {"failed": "failed", "errored": "errored", "not_found": "missing", "fetch_error": "missing"}
"""A problem kind (genealogy.nodes.problem_kind) -> what a collapsed row counts it as."""

INDENT_LEVELS = 40
"""Levels indented one step further each; deeper rows line up at this indent (their level
is still in the row's aria-level and the details' path to the top)."""


def render_html(graph: nx.DiGraph, options: RenderOptions | None = None) -> str:
    """The page; its findings are `options.audit`'s (none when not given): the caller runs
    the audit, so the page lists what the `audit` command reports for the same view."""
    data = page_data(graph, (options or RenderOptions()).audit)
    start = graph.graph.get("start")
    title = f"Genealogy of {shown(start)}" if start else "Genealogy"
    assets = _assets()
    return assets.template.substitute(
        title=html.escape(title),
        csp=assets.csp,
        style=assets.style,
        script=assets.script,
        data=script_json(data),
    )


def page_data(graph: nx.DiGraph, report: Audit | None = None) -> dict[str, Any]:
    """Everything the page shows, with units referred to by their index in `units`."""
    serials = list(graph)
    index = {serial: position for position, serial in enumerate(serials)}
    roots, kids, links = placement(graph, index)
    below = problems_below(graph, serials, roots, kids)
    units = [_unit(graph, serial, index, kids, links) for serial in serials]
    for unit, counts in zip(units, below, strict=True):
        if counts:
            unit["below"] = counts
    findings = [
        {
            "code": finding.code,
            "severity": finding.severity,
            "message": shown(finding.message),  # names every serial, also any not in the graph
            "units": [index[serial] for serial in finding.serials if serial in index],
        }
        for finding in (report.findings if report is not None else ())
    ]
    meta = graph.graph
    start = meta.get("start")
    page: dict[str, Any] = {
        "start": index.get(start) if isinstance(start, str) else None,
        "roots": roots,
        "units": units,
        "findings": findings,
        "classes": [{"key": key, "label": LOOKS[key].label} for key in CLASSES],
        "indent_levels": INDENT_LEVELS,
        "crawl": {
            "direction": meta.get("direction"),
            "interrupted": bool(meta.get("interrupted")),
            "max_depth": meta.get("max_depth"),
            "max_units": meta.get("max_units"),
        },  # not the crawl's timings: the same data gives the same page
    }
    reference = meta.get("diff_reference")
    if isinstance(reference, str):  # `genealogy diff`: findings are the differences from it
        page["reference"] = shown(reference)
    return page


def placement(
    graph: nx.DiGraph, index: dict[str, int]
) -> tuple[list[int], list[list[int]], list[list[int]]]:
    """Top rows, and for each unit its children placed under it and its children shown as links.

    Breadth-first from the top-level assemblies, then from any unit still unplaced (members of
    a cycle with no top): the start unit first, then by serial.
    """
    kids: list[list[int]] = [[] for _ in index]
    links: list[list[int]] = [[] for _ in index]
    placed: set[str] = set()
    top_rows: list[int] = []
    declared = graph.graph.get("roots")
    starts = [s for s in declared if s in index] if declared is not None else top_level(graph)
    crawl_start = graph.graph.get("start")
    seeds = [crawl_start] if crawl_start in index else []
    for start in [*starts, *seeds, *sorted(graph)]:
        if start in placed:
            continue
        placed.add(start)
        top_rows.append(index[start])
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for child in sorted(graph.successors(node)):
                if child == node:
                    continue  # a unit naming itself: `lists_itself`, and a finding
                if child in placed:
                    links[index[node]].append(index[child])
                else:
                    placed.add(child)
                    kids[index[node]].append(index[child])
                    queue.append(child)
    return top_rows, kids, links


def problems_below(
    graph: nx.DiGraph, serials: list[str], roots: list[int], kids: list[list[int]]
) -> list[dict[str, int]]:
    """Per unit, its failed, errored and missing units below it in the placed tree (itself not
    counted; only the kinds present): one pass, children before parents."""
    own = [BELOW.get(kind_of(graph.nodes[serial]) or "") for serial in serials]
    order: list[int] = []
    stack = list(roots)
    while stack:
        position = stack.pop()
        order.append(position)
        stack.extend(kids[position])
    counts: list[dict[str, int]] = [{} for _ in serials]
    for position in reversed(order):
        total = counts[position]
        for kid in kids[position]:
            for word, number in counts[kid].items():
                total[word] = total.get(word, 0) + number
            kind = own[kid]
            if kind is not None:
                total[kind] = total.get(kind, 0) + 1
    return [{w: c[w] for w in ("failed", "errored", "missing") if w in c} for c in counts]


def _runs(runs: list[Any]) -> list[dict[str, Any]]:
    """The history for the page: each run's fields (texts made printable) and its class."""
    shown_runs = []
    for run in runs:
        if not isinstance(run, dict):
            continue
        entry: dict[str, Any] = {}
        for field in RUN_FIELDS:
            value = run.get(field)
            if value is not None:
                entry[field] = shown(value) if isinstance(value, str) else value
        result = run.get("outcome")
        entry["class"] = result.lower() if result in OUTCOMES else UNKNOWN
        shown_runs.append(entry)
    return shown_runs


def _unit(
    graph: nx.DiGraph,
    serial: str,
    index: dict[str, int],
    kids: list[list[int]],
    links: list[list[int]],
) -> dict[str, Any]:
    attrs = graph.nodes[serial]
    position = index[serial]
    unit: dict[str, Any] = {
        "serial": shown(serial),
        "class": outcome_class(attrs),
        "status": attrs.get("status"),
        "state": shown(state_text(attrs)),
    }
    for field in FIELDS:
        value = attrs.get(field)
        if value is not None:
            unit[field] = shown(value) if isinstance(value, str) else value
    runs = attrs.get("runs")
    if isinstance(runs, list):  # the run history is known
        unit["runs"] = _runs(runs)
        created = attrs.get("run_outcome")  # its colour may differ from the present one's
        if attrs.get("status") != "ok":
            unit["run_class"] = NOT_FETCHED
        else:
            unit["run_class"] = created.lower() if created in OUTCOMES else UNKNOWN
    warnings = attrs.get("warnings")
    if warnings:  # most units have none: leave the key out
        unit["warnings"] = [shown(warning) for warning in warnings]
    declared_children = attrs.get("children_serials")
    if declared_children is not None:  # unknown for a unit not fetched
        # a record may list one child twice: count units, not entries
        unit["children_count"] = len(dict.fromkeys(declared_children))
    if graph.has_edge(serial, serial):
        unit["lists_itself"] = True
    parents = [index[parent] for parent in graph.predecessors(serial) if parent != serial]
    for key, value in (("kids", kids[position]), ("links", links[position]), ("parents", parents)):
        if value:
            unit[key] = value
    if attrs.get("start"):
        unit["start"] = True
    metadata = attrs.get("metadata")
    if metadata:
        unit["metadata"] = {
            shown(key): shown(value if isinstance(value, str) else json.dumps(value))
            for key, value in metadata.items()
        }
    return unit


def script_json(data: Any) -> str:
    """JSON safe inside `<script>`: `<`, `>` and `&` escaped, so nothing can close the element
    or open a comment; U+2028/U+2029 escaped for older JavaScript parsers."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


class _Assets:
    def __init__(self) -> None:
        folder = files("genealogy.renderers") / "assets"
        self.template = Template((folder / "page.html").read_text(encoding="utf-8"))
        self.style = (
            (folder / "page.css").read_text(encoding="utf-8") + _outcome_colours() + _indents()
        )
        self.script = (folder / "page.js").read_text(encoding="utf-8")
        self.csp = "; ".join(
            (
                "default-src 'none'",
                f"script-src '{_sha256(self.script)}'",
                f"style-src '{_sha256(self.style)}'",
                "img-src data:",
                "base-uri 'none'",
                "form-action 'none'",
            )
        )


def _outcome_colours() -> str:
    """One rule per outcome class, from the palette every visual format shares."""
    return "".join(
        f".c-{key}{{--fill:{look.fill};--border:{look.border}}}\n" for key, look in LOOKS.items()
    )


def _indents() -> str:
    """A class per level of indent: the policy allows no inline style to compute it from."""
    return "".join(
        f".lv-{level}>.row{{padding-left:{6 + 18 * level}px}}\n"
        for level in range(INDENT_LEVELS + 1)
    )


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@cache
def _assets() -> _Assets:
    return _Assets()
