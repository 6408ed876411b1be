"""Where used: which top-level products contain the matching units (a bad lot, part or serial).

`where_used(graph, matches)` reads an *upward* graph (edge parent -> child, node key = serial,
node attributes as `genealogy.nodes.NodeAttrs`: `status`, `part_number`, `revision`,
`latest_outcome`, `parent_serial`...) holding the matching units and every unit above them,
and follows each matching unit's parents up to a unit with no parent:

- a matching unit that has a parent ends at a *product*: a top-level unit, listed with its
  part, revision and present outcome, the matching units it contains, and the paths from it
  down to each of them (`(product, ..., matching unit)`);
- a matching unit with no parent is installed in nothing: it is *not installed*, not a product
  (it may still be a product of another matching unit below it, and then is listed there too);
- a path that cannot be followed to a top-level unit is *unresolved*, with why: a unit above
  could not be fetched (or was not found), or the parents loop (a cycle).

Products and the units they contain are found by reachability, so they are complete whatever
the graph; the paths themselves are listed up to `MAX_PATHS` (`truncated` says when more
exist: only with units that have several parents, which the list endpoint never gives).
Serials are shown as the records spell them; everything is sorted, so results are stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx

from genealogy.matching import fold
from genealogy.nodes import STATUS_WORDS, Status, outcome
from genealogy.text import shown

MAX_PATHS = 100_000
"""Paths listed at most, over all products and unresolved units."""

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Product:
    """A top-level unit that contains matching units."""

    serial_number: str
    part_number: str | None
    revision: str | None
    latest_outcome: str | None
    contains: tuple[str, ...]  # the matching units inside it, sorted
    paths: tuple[Path, ...]  # from the product down to each matching unit

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial_number": self.serial_number,
            "part_number": self.part_number,
            "revision": self.revision,
            "latest_outcome": self.latest_outcome,
            "contains": list(self.contains),
            "paths": [list(path) for path in self.paths],
        }


@dataclass(frozen=True, slots=True)
class Loose:
    """A matching unit installed in nothing."""

    serial_number: str
    part_number: str | None
    revision: str | None
    latest_outcome: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial_number": self.serial_number,
            "part_number": self.part_number,
            "revision": self.revision,
            "latest_outcome": self.latest_outcome,
        }


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A path up from a matching unit that stops before a top-level unit, and why."""

    serial_number: str  # the matching unit
    path: Path  # from the highest unit reached down to the matching unit
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"serial_number": self.serial_number, "path": list(self.path), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class WhereUsed:
    matches: tuple[str, ...]  # every matching unit, sorted
    products: tuple[Product, ...]  # sorted by serial number
    not_installed: tuple[Loose, ...]
    unresolved: tuple[Unresolved, ...]
    unknown: tuple[str, ...] = ()  # serial numbers asked for that no unit has
    truncated: bool = False  # more paths exist than `MAX_PATHS`

    def to_dict(self) -> dict[str, Any]:
        return {
            "matches": len(self.matches),
            "matching_serials": list(self.matches),
            "products": [product.to_dict() for product in self.products],
            "not_installed": [unit.to_dict() for unit in self.not_installed],
            "unresolved": [item.to_dict() for item in self.unresolved],
            "unknown": list(self.unknown),
            "truncated": self.truncated,
        }


def where_used(
    graph: nx.DiGraph, matches: Iterable[str], *, unknown: Iterable[str] = ()
) -> WhereUsed:
    """The products containing the units `matches` (node keys of `graph`, or the same serials
    in another case; serials not in the graph are `unknown`), the matching units installed in
    nothing, and the paths that could not be followed up. `unknown`: serials asked for that
    no unit has, passed through."""
    by_key = {fold(node): node for node in graph}
    found: set[str] = set()
    missing = set(unknown)
    for serial in matches:
        node = serial if serial in graph else by_key.get(fold(serial))
        if node is None:
            missing.add(serial)
        else:
            found.add(node)
    ordered = sorted(found, key=_order)
    tops: dict[str, set[str]] = {}  # product -> matching units under it
    loose: list[str] = []
    for match in ordered:
        if _is_top(graph, match):
            loose.append(match)
        for top in _tops_above(graph, match):
            tops.setdefault(top, set()).add(match)
    paths, unresolved, truncated = _paths(graph, ordered)
    products = tuple(
        Product(
            serial_number=top,
            part_number=graph.nodes[top].get("part_number"),
            revision=graph.nodes[top].get("revision"),
            latest_outcome=outcome(graph.nodes[top]),
            contains=tuple(sorted(tops[top], key=_order)),
            paths=tuple(sorted(paths.get(top, ()), key=_path_order)),
        )
        for top in sorted(tops, key=_order)
    )
    return WhereUsed(
        matches=tuple(ordered),
        products=products,
        not_installed=tuple(
            Loose(
                serial_number=serial,
                part_number=graph.nodes[serial].get("part_number"),
                revision=graph.nodes[serial].get("revision"),
                latest_outcome=outcome(graph.nodes[serial]),
            )
            for serial in loose
        ),
        unresolved=tuple(sorted(unresolved, key=lambda u: (_order(u.serial_number), u.path))),
        unknown=tuple(sorted(missing, key=_order)),
        truncated=truncated,
    )


def _order(serial: str) -> tuple[str, str]:
    return (fold(serial), serial)


def _path_order(path: Path) -> tuple[tuple[str, str], ...]:
    return tuple(_order(serial) for serial in path)


def _parents(graph: nx.DiGraph, node: str) -> list[str]:
    return sorted(graph.predecessors(node), key=_order)


def _is_top(graph: nx.DiGraph, node: str) -> bool:
    """A fetched unit with no parent: its record names none, and no edge leads to it."""
    attrs = graph.nodes[node]
    return (
        attrs.get("status") == Status.OK
        and attrs.get("parent_serial") is None
        and not any(True for _ in graph.predecessors(node))
    )


def _tops_above(graph: nx.DiGraph, node: str) -> set[str]:
    """The top-level units above `node` (not `node` itself), by reachability: always ends."""
    return {above for above in nx.ancestors(graph, node) if _is_top(graph, above)}


def _paths(
    graph: nx.DiGraph, matches: list[str]
) -> tuple[dict[str, list[Path]], list[Unresolved], bool]:
    """Every simple path up from each matching unit: those reaching a top-level unit, by top
    (written top first), and those that stop short, with why."""
    complete: dict[str, list[Path]] = {}
    stopped: list[Unresolved] = []
    listed = 0
    for match in matches:
        stack: list[tuple[str, Path]] = [(match, (match,))]  # (unit, path from it down)
        while stack:
            node, below = stack.pop()
            parents = _parents(graph, node)
            if not parents:
                top = _is_top(graph, node)
                if top and len(below) == 1:
                    continue  # the matching unit itself is installed in nothing
                if listed >= MAX_PATHS:
                    return complete, stopped, True
                listed += 1
                if top:
                    complete.setdefault(node, []).append(tuple(reversed(below)))
                else:
                    stopped.append(Unresolved(match, tuple(reversed(below)), _why(graph, node)))
                continue
            for parent in reversed(parents):
                if parent not in below:
                    stack.append((parent, (*below, parent)))
                    continue
                if listed >= MAX_PATHS:
                    return complete, stopped, True
                listed += 1
                reason = f"the parents loop: {shown(parent)} contains itself"
                stopped.append(Unresolved(match, (parent, *reversed(below)), reason))
    return complete, stopped, False


def _why(graph: nx.DiGraph, node: str) -> str:
    """Why the way up stops at `node`, which is not a top-level unit."""
    attrs = graph.nodes[node]
    status = str(attrs.get("status", Status.UNEXPLORED))
    if status != Status.OK:
        words = STATUS_WORDS.get(status, status)
        detail = attrs.get("reason")
        return (
            f"{shown(node)} could not be fetched ({words}{': ' + shown(detail) if detail else ''})"
        )
    return f"the parent of {shown(node)}, {shown(attrs.get('parent_serial'))}, was not crawled"


def format_text(result: WhereUsed, *, criteria: str | None = None) -> str:
    """The recall list for humans: each product with its count of matching units and the
    paths down to them, then the matching units installed in nothing, then what could not be
    followed up. `criteria` describes the query (`--batch CELL-LOT-2604`)."""
    about = f" ({shown(criteria)})" if criteria else ""
    if not result.matches:
        lines = [f"No unit matches{about}."]
        lines += _unknown_lines(result)
        return "\n".join(lines)
    count = _count(len(result.matches), "matching unit")
    products = _count(len(result.products), "product")
    lines = [f"{count}{about}: in {products}, {len(result.not_installed)} not installed."]
    for product in result.products:
        lines.append("")
        head = _unit_line(
            product.serial_number, product.part_number, product.revision, product.latest_outcome
        )
        lines.append(f"{head}: {_count(len(product.contains), 'matching unit')}")
        for path in product.paths:
            lines.append("  " + " → ".join(shown(serial) for serial in path))
    if result.not_installed:
        lines.append("")
        lines.append(f"Not installed in any unit ({len(result.not_installed)}):")
        for unit in result.not_installed:
            lines.append(
                "  "
                + _unit_line(
                    unit.serial_number, unit.part_number, unit.revision, unit.latest_outcome
                )
            )
    if result.unresolved:
        lines.append("")
        lines.append(f"Not followed up to a top-level unit ({len(result.unresolved)}):")
        for item in result.unresolved:
            shown_path = " → ".join(shown(serial) for serial in item.path)
            lines.append(f"  {shown_path}: {item.reason}")
    lines += _unknown_lines(result)
    if result.truncated:
        lines.append("")
        lines.append(f"Paths listed up to {MAX_PATHS:,}: more exist (products are complete).")
    return "\n".join(lines)


def _unknown_lines(result: WhereUsed) -> list[str]:
    if not result.unknown:
        return []
    return ["", f"Unknown serial numbers ({len(result.unknown)}):"] + [
        f"  {shown(serial)}" for serial in result.unknown
    ]


def _unit_line(serial: str, part: str | None, revision: str | None, latest: str | None) -> str:
    part_text = shown(part) or "?"
    rev = f" rev {shown(revision)}" if revision else ""
    return f"{shown(serial)} {part_text}{rev} {shown(latest) or 'no run'}"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


CSV_COLUMNS = (
    "serial_number",
    "part_number",
    "revision",
    "latest_outcome",
    "matching_units",
    "matching_serials",
)


def format_csv(result: WhereUsed) -> str:
    """One row per product: serial, part, revision, present outcome, how many matching units it
    contains and their serials joined with `;`. Quoted and neutralised as the graph's CSV is
    (`genealogy.renderers.csv`): no cell, nor any item after a `;` or `,`, starts a formula."""
    import csv
    import io

    from genealogy.renderers.csv import neutralise
    from genealogy.text import printable

    def cell(value: object) -> object:
        if value is None:
            return ""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return neutralise(printable(str(value)))

    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(CSV_COLUMNS)
    for product in result.products:
        values = (
            product.serial_number,
            product.part_number,
            product.revision,
            product.latest_outcome,
            len(product.contains),
            ";".join(product.contains),
        )
        writer.writerow([cell(value) for value in values])
    return buffer.getvalue()
