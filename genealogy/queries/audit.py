"""Traceability audit of a crawled assembly: a timeline and a list of findings.

Every finding has a stable `code`, a `severity` and the `serials` it is about, in the order
the table gives. Each distinct problem is reported exactly once.

| code                          | severity | serials                                      |
|-------------------------------|----------|----------------------------------------------|
| `cycle`                       | error    | the cycle, parent to child, smallest first   |
| `self-parent`                 | error    | the unit                                     |
| `dangling-reference`          | error    | the missing unit, then who references it     |
| `failed-run-installed`        | error    | the unit, then its parents (declared first)  |
| `inconsistent-link`           | warning  | parent, child                                |
| `fetch-error`                 | warning  | the unit                                     |
| `child-after-parent-assembly` | warning  | parent, child                                |
| `mixed-revisions`             | warning  | every unit of the part, by revision, serial  |
| `serial-mismatch`             | warning  | the serial asked for, the serial answered    |
| `repaired-record`             | info     | the unit                                     |
| `no-run`                      | info     | the unit                                     |
| `unexplored`                  | info     | every unexplored unit, sorted                |

- `cycle`: units contain each other in a loop; each distinct cycle once (at most
  `MAX_CYCLES`). A unit naming itself is `self-parent`, not a cycle.
- `self-parent`: a unit's record names itself as its parent or as one of its children.
- `dangling-reference`: a unit referenced as a parent or child is not found by the API.
- `failed-run-installed`: the run that created a unit ended FAIL, ERROR, TIMEOUT or ABORTED,
  yet the unit is installed in an assembly (its record names a parent, or a record lists it).
- `inconsistent-link`: A lists B as a child but B's record names another parent or none; or B
  names A as its parent but A's record does not list B. Only links between two fetched units.
- `fetch-error`: a unit's record could not be fetched, so it and its links were not checked.
- `child-after-parent-assembly`: a child was created after its parent's run ended (after the
  parent was created, when it has no run): tested without it, or reworked. Direct links only.
- `mixed-revisions`: fetched units of one part number under the same top-level assembly (a
  root and its descendants) are on different revisions.
- `serial-mismatch`: the record fetched for a serial number names another serial number
  (data is wrong); the node stays under the serial asked for. Serials match
  case-insensitively, as the service does: a difference in case alone is no mismatch.
- `repaired-record`: a descriptive field of the unit's record (an attachment, a timestamp, a
  metadata value...) was malformed; it was set to null, dropped or kept as text, and the
  node's `warnings` say which. The unit itself was read.
- `no-run`: a fetched unit has no creating run: it was never tested.
- `unexplored`: a limit or an interruption left referenced units unfetched: not audited.

Findings are ordered by severity, then code (the table's order), then serials.
`matches(finding, selectors)` implements `--fail-on`: a selector is a code, `any`, or a
severity meaning "at least as severe" (`warning` matches warnings and errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal

import networkx as nx

from genealogy.nodes import BAD_OUTCOMES, outcome
from genealogy.text import ljust, shown, width

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
"""Most severe first."""

CODES: dict[str, Severity] = {
    "cycle": "error",
    "self-parent": "error",
    "dangling-reference": "error",
    "failed-run-installed": "error",
    "inconsistent-link": "warning",
    "fetch-error": "warning",
    "child-after-parent-assembly": "warning",
    "mixed-revisions": "warning",
    "serial-mismatch": "warning",
    "repaired-record": "info",
    "no-run": "info",
    "unexplored": "info",
}
"""Every finding code and its severity, in report order."""

SELECTORS = ("any", *SEVERITIES, *CODES)
"""What `--fail-on` accepts."""

MAX_CYCLES = 1000
"""Distinct cycles reported at most: their number can grow exponentially with the edges."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    serials: tuple[str, ...]
    message: str  # one line of raw data text: pass it through `genealogy.text.shown` to show it

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "serials": list(self.serials),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One fetched unit's creation."""

    created_at: str  # ISO 8601, as in the graph
    serial: str
    part_number: str | None
    revision: str | None
    run_id: str | None
    procedure: str | None
    made_by: str | None  # the creating station, else the user
    outcome: str | None
    duration_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at,
            "serial": self.serial,
            "part_number": self.part_number,
            "revision": self.revision,
            "run_id": self.run_id,
            "procedure": self.procedure,
            "made_by": self.made_by,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
        }


@dataclass(frozen=True, slots=True)
class Audit:
    timeline: tuple[TimelineEntry, ...]
    findings: tuple[Finding, ...]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def restricted_to(self, serials: Iterable[str]) -> Audit:
        """The timeline of these units and the findings that involve at least one of them."""
        wanted = set(serials)
        return Audit(
            tuple(entry for entry in self.timeline if entry.serial in wanted),
            tuple(finding for finding in self.findings if wanted & set(finding.serials)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {severity: self.count(severity) for severity in SEVERITIES},
            "findings": [finding.to_dict() for finding in self.findings],
            "timeline": [entry.to_dict() for entry in self.timeline],
        }


def audit(graph: nx.DiGraph) -> Audit:
    """The timeline of fetched units and every finding, each once, in a stable order."""
    view = _View(graph)
    findings = {
        (finding.code, finding.serials): finding for check in _CHECKS for finding in check(view)
    }
    order = {code: index for index, code in enumerate(CODES)}
    ranked = sorted(
        findings.values(),
        key=lambda f: (SEVERITIES.index(f.severity), order[f.code], f.serials),
    )
    return Audit(_timeline(view), tuple(ranked))


def validate_selectors(selectors: Iterable[str]) -> tuple[str, ...]:
    """The selectors, normalised; `ValueError` naming the valid ones for anything else."""
    normal = tuple(selector.strip().lower() for selector in selectors)
    for selector in normal:
        if selector not in SELECTORS:
            raise ValueError(
                f"unknown finding selector {shown(selector)!r}: use any, a severity "
                f"({', '.join(SEVERITIES)}) or a finding code ({', '.join(CODES)})"
            )
    return normal


def matches(finding: Finding, selectors: Iterable[str]) -> bool:
    """Whether `--fail-on selectors` fails on this finding (`ValueError` on a bad selector)."""
    rank = SEVERITIES.index(finding.severity)
    for selector in validate_selectors(selectors):
        if selector == "any" or selector == finding.code:
            return True
        if selector in SEVERITIES and rank <= SEVERITIES.index(selector):
            return True
    return False


# -- the checks ---------------------------------------------------------------------------------


class _View:
    """The graph's nodes split by status, with the attributes the checks read."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self.attrs: dict[str, dict[str, Any]] = {node: graph.nodes[node] for node in graph}
        self.fetched = sorted(n for n, a in self.attrs.items() if a.get("status") == "ok")
        self.is_fetched = set(self.fetched)
        self._children: dict[str, dict[str, None]] = {}

    def status(self, node: str) -> str:
        return str(self.attrs[node].get("status", "unexplored"))

    def parent_of(self, node: str) -> str | None:
        """The parent a fetched unit's own record declares."""
        parent = self.attrs[node].get("parent_serial")
        return str(parent) if parent is not None else None

    def children_of(self, node: str) -> list[str]:
        """The children a fetched unit's own record lists, each once, in its order."""
        listed = self._children.get(node)
        if listed is None:
            listed = self._children[node] = dict.fromkeys(
                self.attrs[node].get("children_serials") or []
            )
        return list(listed)

    def lists(self, parent: str, child: str) -> bool:
        """Whether `parent`'s own record lists `child`."""
        self.children_of(parent)
        return child in self._children[parent]


def _cycles(view: _View) -> Iterator[Finding]:
    graph = view.graph
    tangles = (c for c in nx.strongly_connected_components(graph) if len(c) > 1)
    loops = (
        cycle
        for component in sorted(tangles, key=min)
        for cycle in nx.simple_cycles(
            nx.DiGraph((u, v) for u, v in graph.subgraph(component).edges() if u != v)
        )
    )
    for cycle in islice(loops, MAX_CYCLES):
        first = cycle.index(min(cycle))
        ordered = (*cycle[first:], *cycle[:first])
        chain = " contains ".join(ordered)
        yield _finding("cycle", ordered, f"assembly cycle: {chain} contains {ordered[0]}")


def _self_parents(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        roles = []
        if view.parent_of(node) == node:
            roles.append("parent")
        if view.lists(node, node):
            roles.append("child")
        if roles:
            yield _finding(
                "self-parent", (node,), f"{node} names itself as its {' and '.join(roles)}"
            )


def _inconsistent_links(view: _View) -> Iterator[Finding]:
    for parent in view.fetched:
        for child in view.children_of(parent):
            if child == parent or child not in view.is_fetched:
                continue
            declared = view.parent_of(child)
            if declared == parent:
                continue
            names = f"names {declared} as its parent" if declared else "names no parent"
            yield _finding(
                "inconsistent-link",
                (parent, child),
                f"{parent} lists {child} as a child, but {child}'s record {names}",
            )
    for child in view.fetched:
        named = view.parent_of(child)
        if named is None or named == child or named not in view.is_fetched:
            continue
        if not view.lists(named, child):
            yield _finding(
                "inconsistent-link",
                (named, child),
                f"{child} names {named} as its parent, but {named}'s record does not list it",
            )


def _dangling(view: _View) -> Iterator[Finding]:
    for node in sorted(view.attrs):
        if view.status(node) != "not_found":
            continue
        graph = view.graph
        referrers = sorted({*graph.predecessors(node), *graph.successors(node)} - {node})
        reason = view.attrs[node].get("reason") or "not found"
        yield _finding(
            "dangling-reference",
            (node, *referrers),
            f"{node} is referenced by {', '.join(referrers) or 'another unit'} "
            f"but does not exist: {reason}",
        )


def _fetch_errors(view: _View) -> Iterator[Finding]:
    for node in sorted(view.attrs):
        if view.status(node) == "error":
            reason = view.attrs[node].get("reason") or "unknown error"
            yield _finding(
                "fetch-error",
                (node,),
                f"{node} could not be fetched ({reason}): it and its links were not checked",
            )


def _failed_installed(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        outcome = view.attrs[node].get("run_outcome")
        if outcome not in BAD_OUTCOMES:
            continue
        declared = view.parent_of(node)
        parents = [declared] if declared is not None and declared != node else []
        parents += sorted(set(view.graph.predecessors(node)) - {node, *parents})
        if parents:
            yield _finding(
                "failed-run-installed",
                (node, *parents),
                f"{node}'s run ended {outcome}, yet it is installed in {', '.join(parents)}",
            )


def _late_children(view: _View) -> Iterator[Finding]:
    for parent, child in sorted(view.graph.edges()):
        if parent == child or parent not in view.is_fetched or child not in view.is_fetched:
            continue
        made = _moment(view.attrs[child].get("created_at"))
        ended_at: str | None = view.attrs[parent].get("run_ended_at")
        what = "'s run ended"
        if ended_at is None:
            ended_at, what = view.attrs[parent].get("created_at"), " was created"
        ended = _moment(ended_at)
        if made is not None and ended is not None and made > ended:
            yield _finding(
                "child-after-parent-assembly",
                (parent, child),
                f"{child} was created {view.attrs[child]['created_at']}, after {parent}{what} "
                f"{ended_at}",
            )


def _mixed_revisions(view: _View) -> Iterator[Finding]:
    """One finding per set of units, naming every top-level assembly that holds all of them."""
    mixes: dict[tuple[str, ...], tuple[str, str, list[str]]] = {}
    for top, members in _assemblies(view.graph):
        revisions: dict[str, dict[str, list[str]]] = {}
        for node in sorted(members & view.is_fetched):
            part, revision = view.attrs[node].get("part_number"), view.attrs[node].get("revision")
            if part is not None and revision is not None:
                revisions.setdefault(part, {}).setdefault(revision, []).append(node)
        for part, by_revision in sorted(revisions.items()):
            if len(by_revision) < 2:
                continue
            ordered = sorted(by_revision.items())
            serials = tuple(serial for _, nodes in ordered for serial in nodes)
            counts = ", ".join(f"{rev} ({_units(len(nodes))})" for rev, nodes in ordered)
            mixes.setdefault(serials, (part, counts, []))[2].append(top)
    for serials, (part, counts, tops) in mixes.items():
        yield _finding(
            "mixed-revisions",
            serials,
            f"part {part} is on revisions {counts} in {', '.join(tops)}",
        )


def _serial_mismatches(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        reported = view.attrs[node].get("reported_serial")
        if reported is not None:
            yield _finding(
                "serial-mismatch",
                (node, str(reported)),
                f"{node} was asked for, but the API answered with unit {reported}: "
                "links naming either may be split across two nodes",
            )


def _repaired(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        warnings = view.attrs[node].get("warnings") or []
        if warnings:
            more = f" (+{len(warnings) - 1} more)" if len(warnings) > 1 else ""
            yield _finding(
                "repaired-record",
                (node,),
                f"{node}'s record had malformed fields, repaired: {warnings[0]}{more}",
            )


def _no_runs(view: _View) -> Iterator[Finding]:
    """No creating run, and no run in its history (or, listed, no latest run) either."""
    for node in view.fetched:
        attrs = view.attrs[node]
        if attrs.get("run_id") is None and not attrs.get("run_count") and not outcome(attrs):
            yield _finding("no-run", (node,), f"{node} has no run: it was never tested")


def _unexplored(view: _View) -> Iterator[Finding]:
    nodes = sorted(n for n in view.attrs if view.status(n) == "unexplored")
    if nodes:
        reasons = sorted({str(view.attrs[n].get("reason") or "not fetched") for n in nodes})
        yield _finding(
            "unexplored",
            tuple(nodes),
            f"{_units(len(nodes))} referenced but not fetched ({'; '.join(reasons)}): "
            "the audit does not cover them",
        )


_CHECKS = (
    _cycles,
    _self_parents,
    _dangling,
    _failed_installed,
    _inconsistent_links,
    _fetch_errors,
    _late_children,
    _mixed_revisions,
    _serial_mismatches,
    _repaired,
    _no_runs,
    _unexplored,
)


def _finding(code: str, serials: tuple[str, ...], message: str) -> Finding:
    return Finding(code, CODES[code], serials, " ".join(message.split()))


def _units(count: int) -> str:
    return f"{count} unit" if count == 1 else f"{count} units"


def _moment(value: object) -> datetime | None:
    """An ISO time as an aware datetime (naive ones taken as UTC), None if absent or invalid."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _assemblies(graph: nx.DiGraph) -> Iterator[tuple[str, set[str]]]:
    """(label, units) per top-level assembly: each root with its descendants, then each group
    of units reachable from no root (a cycle with no unit above it) with its descendants."""
    covered: set[str] = set()
    for node in sorted(graph):
        if all(parent == node for parent in graph.predecessors(node)):
            members = {node, *nx.descendants(graph, node)}
            covered |= members
            yield node, members
    rest = graph.subgraph(set(graph) - covered)
    for component in sorted(nx.weakly_connected_components(rest), key=min):
        members = set(component)
        for node in component:
            members |= nx.descendants(graph, node)
        yield min(component), members


def _timeline(view: _View) -> tuple[TimelineEntry, ...]:
    entries = []
    for node in view.fetched:
        attrs = view.attrs[node]
        entries.append(
            TimelineEntry(
                created_at=str(attrs.get("created_at")),
                serial=node,
                part_number=attrs.get("part_number"),
                revision=attrs.get("revision"),
                run_id=attrs.get("run_id"),
                procedure=attrs.get("run_procedure"),
                made_by=attrs.get("created_by_station") or attrs.get("created_by_user"),
                outcome=attrs.get("run_outcome"),
                duration_s=attrs.get("run_duration_s"),
            )
        )
    never = datetime.max.replace(tzinfo=UTC)
    entries.sort(key=lambda e: (_moment(e.created_at) or never, e.serial))
    return tuple(entries)


# -- text ---------------------------------------------------------------------------------------


def format_text(result: Audit, *, timeline: bool = True, findings: bool = True) -> str:
    """The findings (one line each) and the timeline as an aligned table."""
    parts = []
    if findings:
        counts = ", ".join(f"{result.count(s)} {s}" for s in SEVERITIES)
        lines = [f"{len(result.findings)} findings ({counts})"]
        lines.extend(f"  {f.severity:<7} {f.code}: {shown(f.message)}" for f in result.findings)
        parts.append("\n".join(lines))
    if timeline:
        parts.append(_timeline_text(result.timeline))
    return "\n\n".join(parts)


def _timeline_text(entries: tuple[TimelineEntry, ...]) -> str:
    header = ("created", "serial", "part", "run", "procedure", "by", "outcome", "seconds")
    rows = [header]
    for e in entries:
        part = shown(e.part_number) + (f" rev {shown(e.revision)}" if e.revision else "")
        seconds = "" if e.duration_s is None else f"{e.duration_s:g}"
        rows.append(
            (
                shown(e.created_at),
                shown(e.serial),
                part,
                shown(e.run_id),
                shown(e.procedure),
                shown(e.made_by),
                shown(e.outcome) if e.run_id else "no run",
                seconds,
            )
        )
    widths = [max(width(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(ljust(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return f"Timeline ({len(entries)} units)\n" + "\n".join(lines)
