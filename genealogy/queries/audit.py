"""Traceability audit of a crawled assembly: a timeline and a list of findings.

Every finding has a stable `code`, a `severity` and the `serials` it is about, in the order
the table gives. Each distinct problem is reported exactly once. The codes, their severities
and one line on each live in `genealogy.finding_codes` (light enough for `--help`); the text
report is `genealogy.queries.audit_text`, the baseline of accepted findings
`genealogy.queries.baseline`.

| code                          | severity | serials                                      |
|-------------------------------|----------|----------------------------------------------|
| `cycle`                       | error    | the cycle, parent to child, smallest first   |
| `self-parent`                 | error    | the unit                                     |
| `dangling-reference`          | error    | the missing unit, then who references it     |
| `failed-run-installed`        | error    | the unit, then its parents (declared first)  |
| `latest-run-failed`           | error    | the unit, then its parents (declared first)  |
| `inconsistent-link`           | warning  | parent, child                                |
| `fetch-error`                 | warning  | the unit                                     |
| `child-after-parent-assembly` | warning  | parent, child                                |
| `mixed-revisions`             | warning  | every unit of the part, by revision, serial  |
| `serial-mismatch`             | warning  | the serial asked for, the serial answered    |
| `passed-then-failed`          | warning  | the unit                                     |
| `repaired-record`             | info     | the unit                                     |
| `reworked`                    | info     | the unit                                     |
| `no-run`                      | info     | the unit                                     |
| `unexplored`                  | info     | every unexplored unit, sorted                |

- `cycle`: units contain each other in a loop; each distinct cycle once. A unit naming itself
  is `self-parent`, not a cycle. Cycles are listed up to `MAX_CYCLES` of them and
  `MAX_CYCLE_UNITS` units named in all (the first cycle is always listed whole; their number
  can grow exponentially with the links): when more remain, one last `cycle` finding names
  every unit of the loops not fully listed, sorted, and says so.
- `self-parent`: a unit's record names itself as its parent or as one of its children.
- `dangling-reference`: a unit referenced as a parent or child is not found by the API.
- `failed-run-installed`: the run that created a unit ended FAIL, ERROR, TIMEOUT or ABORTED,
  yet the unit is installed in an assembly (its record names a parent, or a record lists it).
  About the creating run only, whatever the run history says.
- `latest-run-failed`: the run history is known (node attribute `runs`), the unit is
  installed (as above), its latest run ended FAIL, ERROR, TIMEOUT or ABORTED, and that latest
  run is not the run that created it (that one is `failed-run-installed`: one run never gives
  both). The message gives the run's date and, if the unit passed before, its last PASS.
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
- `passed-then-failed`: the run history is known, a run of the unit ended PASS and its latest
  run, later, ended FAIL, ERROR, TIMEOUT or ABORTED: a regression or a failed retest, of a unit
  that is NOT installed (a top-level assembly, or a loose unit). An installed unit with that
  history is `latest-run-failed` instead (whose message names the last PASS): a unit whose
  latest run failed gets one of the two findings, never both.
- `repaired-record`: a descriptive field of the unit's record (an attachment, a timestamp, a
  metadata value...) was malformed; it was set to null, dropped or kept as text, and the
  node's `warnings` say which. The unit itself was read.
- `reworked`: the run history is known and a run ended FAIL before a later run ended PASS
  (repaired or retested after a failure). One finding per unit; the message counts the FAIL
  runs before its last PASS and gives their dates and the PASS's. It is reported whatever
  came after that PASS (a later failure is `latest-run-failed` or `passed-then-failed` too).
- `no-run`: a fetched unit has no creating run, and no run in its history when that is
  known: it was never tested.
- `unexplored`: a limit or an interruption left referenced units unfetched: not audited.

The run history checks read node attribute `runs` (`genealogy.nodes.RunRecord` dicts, oldest
first) and `latest_outcome`; units without `runs` are not checked by them. Dates in their
messages are the day a run started (else ended), as its timestamp gives it.

Findings are ordered by severity, then code (the table's order), then serials;
`Audit.grouped()` gives them by code in that order. `Audit.without(codes)` implements
`--ignore`, setting findings aside (`ignored`) rather than dropping them, so a report can count
them and JSON still holds them. `matches(finding, selectors)` implements `--fail-on`: a
selector is a code, `any`, or a severity meaning "at least as severe" (`warning` matches
warnings and errors).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import networkx as nx

from genealogy.finding_codes import CODES as CODES
from genealogy.finding_codes import SEVERITIES as SEVERITIES
from genealogy.finding_codes import Severity as Severity
from genealogy.nodes import BAD_OUTCOMES, FAILED_OUTCOMES, outcome
from genealogy.text import counted, shown
from genealogy.timestamps import moment, run_day

SELECTORS = ("any", *SEVERITIES, *CODES)
"""What `--fail-on` accepts."""

MAX_CYCLES = 1000
"""Distinct cycles reported at most: their number can grow exponentially with the edges."""
MAX_CYCLE_UNITS = 100_000
"""Units named over all cycle findings at most (the first cycle is listed whole, however long)."""
REWORK_DATES = 3
"""FAIL runs whose dates a `reworked` message gives; the rest are counted."""


FindingKey = tuple[str, tuple[str, ...]]
"""A finding's identity across crawls: its code and its serials, sorted, each once."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    serials: tuple[str, ...]
    message: str  # one line of raw data text: pass it through `genealogy.text.shown` to show it
    identity: tuple[str, ...] = ()
    """The serials that make it this finding, when not all of `serials` do (see `key`)."""

    @property
    def key(self) -> FindingKey:
        """What a baseline remembers: not the message (dates and counts in it change as runs
        are added) nor the order of the serials or of the findings. `identity` stands for the
        serials when given: `mixed-revisions` names every unit of the part, but is the same
        finding while the units off the usual revision are the same (a replaced cell on the
        usual revision changes nothing a baseline accepted)."""
        return self.code, tuple(sorted(set(self.identity or self.serials)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "serials": list(self.serials),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """The findings of one code, in report order."""

    code: str
    severity: Severity
    findings: tuple[Finding, ...]


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
    """The timeline and the findings that count. Findings set aside stay at hand, so that a
    report can say how many there were and JSON can still hold every one: `ignored` (their
    code was ignored: `without`) and `accepted` (a baseline holds them), with `fixed`, the
    baseline's entries that no longer occur (`genealogy.queries.baseline.Baseline.compare`)."""

    timeline: tuple[TimelineEntry, ...]
    findings: tuple[Finding, ...]
    ignored: tuple[Finding, ...] = ()
    accepted: tuple[Finding, ...] = ()
    fixed: tuple[FindingKey, ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity == severity)

    def grouped(self) -> tuple[FindingGroup, ...]:
        """The findings by code, most severe first, then in the order of `CODES`."""
        by_code: dict[str, list[Finding]] = {}
        for finding in sorted(self.findings, key=_rank):
            by_code.setdefault(finding.code, []).append(finding)
        return tuple(
            FindingGroup(code, findings[0].severity, tuple(findings))
            for code, findings in by_code.items()
        )

    def without(self, codes: Iterable[str]) -> Audit:
        """The findings of these codes set aside as `ignored` (`ValueError` for a code that
        does not exist, naming those that do)."""
        unwanted = set(validate_codes(codes))
        return replace(
            self,
            findings=tuple(f for f in self.findings if f.code not in unwanted),
            ignored=(*self.ignored, *(f for f in self.findings if f.code in unwanted)),
        )

    def restricted_to(self, serials: Iterable[str]) -> Audit:
        """The timeline of these units and the findings that involve at least one of them."""
        wanted = set(serials)

        def involved(findings: tuple[Finding, ...]) -> tuple[Finding, ...]:
            return tuple(finding for finding in findings if wanted & set(finding.serials))

        return replace(
            self,
            timeline=tuple(entry for entry in self.timeline if entry.serial in wanted),
            findings=involved(self.findings),
            ignored=involved(self.ignored),
            accepted=involved(self.accepted),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": {severity: self.count(severity) for severity in SEVERITIES},
            "findings": [finding.to_dict() for finding in self.findings],
            "ignored": [finding.to_dict() for finding in self.ignored],
            "accepted": [finding.to_dict() for finding in self.accepted],
            "fixed": [{"code": code, "serials": list(serials)} for code, serials in self.fixed],
            "timeline": [entry.to_dict() for entry in self.timeline],
        }


def audit(graph: nx.DiGraph) -> Audit:
    """The timeline of fetched units and every finding, each once, in a stable order."""
    view = _View(graph)
    findings = {
        (finding.code, finding.serials): finding for check in _CHECKS for finding in check(view)
    }
    return Audit(_timeline(view), tuple(sorted(findings.values(), key=_rank)))


_ORDER = {code: index for index, code in enumerate(CODES)}


def _rank(finding: Finding) -> tuple[int, int, tuple[str, ...]]:
    """Report order: by severity, then code (the table's order), then serials."""
    order = _ORDER.get(finding.code, len(_ORDER))
    return SEVERITIES.index(finding.severity), order, finding.serials


def validate_codes(codes: Iterable[str]) -> tuple[str, ...]:
    """The finding codes, normalised; `ValueError` naming the valid ones for anything else."""
    return _normalised(codes, CODES, "finding code", f"use one of {', '.join(CODES)}")


def validate_selectors(selectors: Iterable[str]) -> tuple[str, ...]:
    """The selectors, normalised; `ValueError` naming the valid ones for anything else."""
    valid = f"use any, a severity ({', '.join(SEVERITIES)}) or a finding code ({', '.join(CODES)})"
    return _normalised(selectors, SELECTORS, "finding selector", valid)


def _normalised(
    items: Iterable[str], known: Iterable[str], what: str, valid: str
) -> tuple[str, ...]:
    normal = tuple(item.strip().lower() for item in items)
    for item in normal:
        if item not in known:
            raise ValueError(f"unknown {what} {shown(item)!r}: {valid}")
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

    def children_of(self, node: str) -> KeysView[str]:
        """The children a fetched unit's own record lists, each once, in its order (a view of
        a cached dict, not a copy: a unit listing 100,000 children is read once)."""
        return self._listed(node).keys()

    def lists(self, parent: str, child: str) -> bool:
        """Whether `parent`'s own record lists `child`."""
        return child in self._listed(parent)

    def _listed(self, node: str) -> dict[str, None]:
        listed = self._children.get(node)
        if listed is None:
            listed = self._children[node] = dict.fromkeys(
                self.attrs[node].get("children_serials") or []
            )
        return listed

    def installed_in(self, node: str) -> list[str]:
        """The assemblies a unit is installed in: the parent its record declares first (even
        one outside the graph), then every other unit listing it, sorted."""
        declared = self.parent_of(node)
        parents = [declared] if declared is not None and declared != node else []
        parents += sorted(set(self.graph.predecessors(node)) - {node, *parents})
        return parents


def _cycles(view: _View) -> Iterator[Finding]:
    """Each simple cycle once, tangle by tangle (strongly connected components, by smallest
    serial), up to the limits; then, if any were left, one finding naming their units.

    Which cycles come first is fixed by the serials alone (`_simple_cycles`), so a graph with
    more cycles than the limits always lists the same ones."""
    graph = view.graph
    after = {node: sorted(set(graph.successors(node)) - {node}) for node in graph}
    listed: dict[tuple[str, ...], Finding] = {}
    named = 0
    unlisted: set[str] = set()  # units of the tangles whose cycles were not all listed
    for tangle in _tangles(after, set(after)):
        if len(listed) >= MAX_CYCLES or named >= MAX_CYCLE_UNITS:
            unlisted.update(tangle)  # every tangle of two units or more holds a cycle
            continue
        for cycle in _simple_cycles(after, tangle):
            if len(listed) >= MAX_CYCLES or (listed and named + len(cycle) > MAX_CYCLE_UNITS):
                unlisted.update(tangle)
                break
            ordered = tuple(cycle)  # it starts at its smallest serial
            chain = " contains ".join(ordered)
            listed[ordered] = _finding(
                "cycle", ordered, f"assembly cycle: {chain} contains {ordered[0]}"
            )
            named += len(ordered)
    if unlisted:
        serials = tuple(sorted(unlisted))
        message = (
            f"more assembly cycles among these {counted(len(serials), 'unit')} are not listed: "
            f"only the first {len(listed):,} cycles are (at most {MAX_CYCLES:,} cycles and "
            f"{MAX_CYCLE_UNITS:,} units named in all)"
        )
        same = listed.get(serials)  # a listed cycle through all of them, in sorted order
        text = f"{same.message}; {message}" if same else message
        listed[serials] = _finding("cycle", serials, text)
    yield from listed.values()


def _tangles(after: dict[str, list[str]], members: set[str]) -> list[list[str]]:
    """The strongly connected components of two units or more among `members` (links from
    `after`), each sorted, ordered by their smallest serial: Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(members):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(after[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in members:
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(after[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        unit = stack.pop()
                        on_stack.discard(unit)
                        component.append(unit)
                        if unit == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def _simple_cycles(after: dict[str, list[str]], tangle: list[str]) -> Iterator[list[str]]:
    """Every simple cycle of a tangle once, each starting at its smallest serial, in an order
    the serials alone decide. networkx's `simple_cycles` (Johnson's search over a partition:
    the cycles through one unit, then those of the tangles left without it), choosing the
    smallest unit of the tangle with the smallest serial, children in serial order: networkx
    picks whichever a set yields first, which changes from run to run."""
    pending = [(tangle[0], tangle)]  # by smallest serial: tangles left are disjoint
    while pending:
        smallest, units = heapq.heappop(pending)
        members = set(units)
        yield from _cycles_through(after, members, smallest)
        members.discard(smallest)
        for part in _tangles(after, members):
            heapq.heappush(pending, (part[0], part))


def _cycles_through(
    after: dict[str, list[str]], members: set[str], start: str
) -> Iterator[list[str]]:
    """Johnson's circuit search from `start` within `members` (as networkx's
    `_johnson_cycle_search`): every simple cycle through `start`, each once."""

    def inside(node: str) -> Iterator[str]:
        return (child for child in after[node] if child in members)

    path = [start]
    blocked = {start}
    waiting: dict[str, set[str]] = {}
    stack = [inside(start)]
    closed = [False]
    while stack:
        for child in stack[-1]:
            if child == start:
                yield path[:]
                closed[-1] = True
            elif child not in blocked:
                path.append(child)
                closed.append(False)
                stack.append(inside(child))
                blocked.add(child)
                break
        else:
            stack.pop()
            node = path.pop()
            if closed.pop():
                if closed:
                    closed[-1] = True
                unblock = {node}
                while unblock:
                    unit = unblock.pop()
                    if unit in blocked:
                        blocked.remove(unit)
                        unblock.update(waiting.pop(unit, ()))
            else:
                for child in inside(node):
                    waiting.setdefault(child, set()).add(node)


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
        parents = view.installed_in(node)
        if parents:
            yield _finding(
                "failed-run-installed",
                (node, *parents),
                f"{node}'s run ended {outcome}, yet it is installed in {', '.join(parents)}",
            )


def _latest_failed(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        attrs = view.attrs[node]
        runs = _runs(attrs)
        if not runs:
            continue
        latest = runs[-1]
        present = _latest_outcome(attrs, runs)
        if present not in BAD_OUTCOMES:
            continue
        creating = attrs.get("run_id")
        if creating is not None and latest.get("id") == creating:
            continue  # the creating run: `failed-run-installed` reports it
        parents = view.installed_in(node)
        if not parents:
            continue
        passed = _last_pass(runs[:-1])
        before = f"; it passed on {_day(passed)} before" if passed is not None else ""
        yield _finding(
            "latest-run-failed",
            (node, *parents),
            f"{node}'s latest run ({_day(latest)}, {counted(len(runs), 'run')} in all) ended "
            f"{present}, yet it is installed in {', '.join(parents)}{before}",
        )


def _passed_then_failed(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        attrs = view.attrs[node]
        runs = _runs(attrs)
        if not runs:
            continue
        present = _latest_outcome(attrs, runs)
        passed = _last_pass(runs[:-1])
        if present not in BAD_OUTCOMES or passed is None or view.installed_in(node):
            continue
        yield _finding(
            "passed-then-failed",
            (node,),
            f"{node} passed on {_day(passed)}, but its latest run ({_day(runs[-1])}) ended "
            f"{present}",
        )


def _reworked(view: _View) -> Iterator[Finding]:
    for node in view.fetched:
        runs = _runs(view.attrs[node]) or []
        passes = [i for i, run in enumerate(runs) if run.get("outcome") == "PASS"]
        if not passes:
            continue
        failed = [run for run in runs[: passes[-1]] if run.get("outcome") in FAILED_OUTCOMES]
        if not failed:
            continue
        dates = ", ".join(_day(run) for run in failed[:REWORK_DATES])
        if len(failed) > REWORK_DATES:
            dates += f" and {len(failed) - REWORK_DATES} more"
        yield _finding(
            "reworked",
            (node,),
            f"{node} failed {counted(len(failed), 'run')} ({dates}) before it passed on "
            f"{_day(runs[passes[-1]])}",
        )


def _late_children(view: _View) -> Iterator[Finding]:
    for parent, child in sorted(view.graph.edges()):
        if parent == child or parent not in view.is_fetched or child not in view.is_fetched:
            continue
        made = moment(view.attrs[child].get("created_at"))
        ended_at: str | None = view.attrs[parent].get("run_ended_at")
        what = "'s run ended"
        if ended_at is None:
            ended_at, what = view.attrs[parent].get("created_at"), " was created"
        ended = moment(ended_at)
        if made is not None and ended is not None and made > ended:
            yield _finding(
                "child-after-parent-assembly",
                (parent, child),
                f"{child} was created {view.attrs[child]['created_at']}, after {parent}{what} "
                f"{ended_at}",
            )


def _mixed_revisions(view: _View) -> Iterator[Finding]:
    """One finding per set of units, naming every top-level assembly that holds all of them."""
    mixes: dict[tuple[str, ...], tuple[str, str, list[str], tuple[str, ...]]] = {}
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
            counts = ", ".join(f"{rev} ({counted(len(nodes), 'unit')})" for rev, nodes in ordered)
            mixes.setdefault(serials, (part, counts, [], _off_usual(by_revision)))[2].append(top)
    for serials, (part, counts, tops, unusual) in mixes.items():
        finding = _finding(
            "mixed-revisions",
            serials,
            f"part {part} is on revisions {counts} in {', '.join(tops)}",
        )
        yield replace(finding, identity=(*tops, *unusual))


def _off_usual(by_revision: Mapping[str, list[str]]) -> tuple[str, ...]:
    """The units not on the revision most units of the part have (the first, on a tie)."""
    usual = max(sorted(by_revision), key=lambda revision: len(by_revision[revision]))
    return tuple(s for revision, nodes in by_revision.items() if revision != usual for s in nodes)


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
            f"{counted(len(nodes), 'unit')} referenced but not fetched ({'; '.join(reasons)}): "
            "the audit does not cover them",
        )


_CHECKS = (
    _cycles,
    _self_parents,
    _dangling,
    _failed_installed,
    _latest_failed,
    _inconsistent_links,
    _fetch_errors,
    _late_children,
    _mixed_revisions,
    _serial_mismatches,
    _passed_then_failed,
    _repaired,
    _reworked,
    _no_runs,
    _unexplored,
)


def _finding(code: str, serials: tuple[str, ...], message: str) -> Finding:
    return Finding(code, CODES[code], serials, " ".join(message.split()))


def _runs(attrs: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    """The unit's run history, oldest first; None when it is not known."""
    runs = attrs.get("runs")
    if not isinstance(runs, list):
        return None
    return [run for run in runs if isinstance(run, Mapping)]


def _latest_outcome(attrs: Mapping[str, Any], runs: list[Mapping[str, Any]]) -> object:
    """The outcome of the latest run: the node's `latest_outcome`, else the last run's."""
    if "latest_outcome" in attrs:
        return attrs["latest_outcome"]
    return runs[-1].get("outcome") if runs else None


def _last_pass(runs: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((run for run in reversed(runs) if run.get("outcome") == "PASS"), None)


def _day(run: Mapping[str, Any]) -> str:
    """The day a run started (else ended) as its own timestamp gives it, or `undated`."""
    return run_day(run) or "undated"


def _assemblies(graph: nx.DiGraph) -> Iterator[tuple[str, set[str]]]:
    """(label, units) per top-level assembly: each root with its descendants, then each group
    of units reachable from no root (a cycle with no unit above it) with its descendants.

    One walk per root and one per group: linear when no unit hangs under two of them."""
    covered: set[str] = set()
    for node in sorted(graph):
        if all(parent == node for parent in graph.predecessors(node)):
            members = _reach(graph, (node,))
            covered |= members
            yield node, members
    rest = graph.subgraph(set(graph) - covered)
    for component in sorted(nx.weakly_connected_components(rest), key=min):
        yield min(component), _reach(graph, component)


def _reach(graph: nx.DiGraph, sources: Iterable[str]) -> set[str]:
    """`sources` and everything below them, in one breadth-first walk."""
    seen = set(sources)
    queue = deque(seen)
    while queue:
        for child in graph.successors(queue.popleft()):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def _creating_run(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The run that created the unit: from its record (`GET /v2/units/{serial}`), or, where
    only the list endpoints were read, the first run of its history, which is the run a unit
    is created by; all None when neither is known."""
    if attrs.get("run_id") is not None:
        return {
            "id": attrs["run_id"],
            "procedure": attrs.get("run_procedure"),
            "outcome": attrs.get("run_outcome"),
            "duration_s": attrs.get("run_duration_s"),
        }
    runs = _runs(attrs)
    first = runs[0] if runs else {}
    return {key: first.get(key) for key in ("id", "procedure", "outcome", "duration_s")}


def _timeline(view: _View) -> tuple[TimelineEntry, ...]:
    entries = []
    for node in view.fetched:
        attrs = view.attrs[node]
        run = _creating_run(attrs)
        entries.append(
            TimelineEntry(
                created_at=str(attrs.get("created_at")),
                serial=node,
                part_number=attrs.get("part_number"),
                revision=attrs.get("revision"),
                run_id=run["id"],
                procedure=run["procedure"],
                made_by=attrs.get("created_by_station") or attrs.get("created_by_user"),
                outcome=run["outcome"],
                duration_s=run["duration_s"],
            )
        )
    never = datetime.max.replace(tzinfo=UTC)
    entries.sort(key=lambda e: (moment(e.created_at) or never, e.serial))
    return tuple(entries)
