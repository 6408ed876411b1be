"""The shape of a crawled assembly in a few numbers: what it holds, how deep, how wide.

Counts by part and revision cover every unit in the graph (for one not fetched, the part its
referencing record gave, or None); counts by outcome cover fetched units only, a unit without
a run counting as `unknown` like in the graph's colour classes; `by_status` covers all units.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from genealogy.graph import roots as find_roots
from genealogy.nodes import UNKNOWN, outcome
from genealogy.text import shown


@dataclass(frozen=True, slots=True)
class Summary:
    units: int
    roots: tuple[str, ...]  # top-level assemblies, sorted
    depth: int  # edges on the longest root-to-leaf path; a cycle counts as one level
    widest_serial: str | None  # the unit with the most children (smallest serial on a tie)
    widest_children: int
    by_part: tuple[tuple[str | None, int], ...]  # most units first, then part number
    by_revision: tuple[tuple[str | None, str | None, int], ...]  # (part, revision, units)
    by_outcome: dict[str, int]  # fetched units: present outcome, or `unknown` without a run
    by_status: dict[str, int]
    stats: dict[str, Any] = field(default_factory=dict)  # the crawl's graph.graph["stats"]
    findings: int | None = None
    warnings: int = 0  # malformed descriptive fields repaired, over all units
    units_with_warnings: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "units": self.units,
            "roots": len(self.roots),
            "root_serials": list(self.roots),
            "depth": self.depth,
            "widest": {"serial": self.widest_serial, "children": self.widest_children},
            "by_part": [{"part_number": part, "units": n} for part, n in self.by_part],
            "by_revision": [
                {"part_number": part, "revision": revision, "units": n}
                for part, revision, n in self.by_revision
            ],
            "by_outcome": dict(self.by_outcome),
            "by_status": dict(self.by_status),
            "stats": dict(self.stats),
            "findings": self.findings,
            "warnings": self.warnings,
            "units_with_warnings": self.units_with_warnings,
        }


def summarise(graph: nx.DiGraph, findings_count: int | None = None) -> Summary:
    nodes = {node: graph.nodes[node] for node in graph}
    parts = Counter(attrs.get("part_number") for attrs in nodes.values())
    revisions = Counter((a.get("part_number"), a.get("revision")) for a in nodes.values())
    outcomes = Counter(outcome(a) or UNKNOWN for a in nodes.values() if a.get("status") == "ok")
    statuses = Counter(str(a.get("status")) for a in nodes.values())
    widest, children = _widest(graph)
    warned = [len(a.get("warnings") or ()) for a in nodes.values()]
    return Summary(
        units=len(nodes),
        roots=tuple(find_roots(graph)),
        depth=depth(graph),
        widest_serial=widest,
        widest_children=children,
        by_part=tuple(sorted(parts.items(), key=lambda kv: (-kv[1], _key(kv[0])))),
        by_revision=tuple(
            (part, revision, n)
            for (part, revision), n in sorted(
                revisions.items(), key=lambda kv: (_key(kv[0][0]), _key(kv[0][1]))
            )
        ),
        by_outcome=dict(sorted(outcomes.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_status=dict(sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))),
        stats=dict(graph.graph.get("stats") or {}),
        findings=findings_count,
        warnings=sum(warned),
        units_with_warnings=sum(1 for count in warned if count),
    )


def depth(graph: nx.DiGraph) -> int:
    """Edges on the longest path from a top-level assembly down to a leaf.

    Self-loops are ignored and each cycle is collapsed into one level, so it always ends.
    """
    if not len(graph):
        return 0
    plain = graph
    if nx.number_of_selfloops(graph):
        plain = nx.DiGraph(graph.edges())
        plain.add_nodes_from(graph)
        plain.remove_edges_from(list(nx.selfloop_edges(plain)))
    if not nx.is_directed_acyclic_graph(plain):
        plain = nx.condensation(plain)
    return int(nx.dag_longest_path_length(plain))


def _widest(graph: nx.DiGraph) -> tuple[str | None, int]:
    best: tuple[str | None, int] = (None, 0)
    for node in sorted(graph):
        count = sum(1 for child in graph.successors(node) if child != node)
        if count > best[1]:
            best = (node, count)
    return best


def _key(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")


def format_text(result: Summary) -> str:
    """A few lines: size and shape, statuses, outcomes, parts, crawl cost, findings."""
    tops = ", ".join(shown(root) for root in result.roots[:3])
    if len(result.roots) > 3:
        tops += f", ... {len(result.roots) - 3} more"
    plural = "assembly" if len(result.roots) == 1 else "assemblies"
    shape = f"{result.units} units in {len(result.roots)} top-level {plural}"
    shape += f" ({tops})" if tops else ""
    shape += f", depth {result.depth}"
    if result.widest_serial is not None:
        shape += f", widest {shown(result.widest_serial)} ({result.widest_children} children)"
    lines = [shape]
    lines.append(
        "status: " + _counts((s.replace("_", " "), n) for s, n in result.by_status.items())
    )
    if result.by_outcome:
        lines.append("outcomes: " + _counts(result.by_outcome.items()))
    revisions: dict[str | None, list[tuple[str, int]]] = {}
    for part, revision, n in result.by_revision:
        revisions.setdefault(part, []).append((shown(revision) or "?", n))
    shown_parts = []
    for part, n in result.by_part:
        revs = revisions.get(part, [])
        if len(revs) == 1:
            detail = f" rev {revs[0][0]}"
        else:
            detail = " (" + ", ".join(f"rev {rev}: {count}" for rev, count in revs) + ")"
        shown_parts.append(f"{n} {shown(part) or '?'}{detail}")
    lines.append("parts: " + ", ".join(shown_parts))
    stats = result.stats
    if stats:
        lines.append(
            f"crawl: {stats.get('requests', 0)} requests, {stats.get('retries', 0)} retries, "
            f"{stats.get('cache_hits', 0)} from cache, {stats.get('seconds', 0)} s"
        )
    if result.warnings:
        lines.append(
            f"warnings: {result.warnings} malformed fields repaired in "
            f"{result.units_with_warnings} units (each node's `warnings` says which)"
        )
    if result.findings is not None:
        lines.append(f"findings: {result.findings}")
    return "\n".join(lines)


def _counts(items: Any) -> str:
    return ", ".join(f"{n} {shown(label)}" for label, n in items)
