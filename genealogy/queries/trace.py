"""Why is this unit here? Every path from one unit up to each top-level assembly holding it.

Like `npm explain`: `trace(graph, serial)` follows predecessors (parents) from `serial` until a
unit without a parent, once per distinct path, so a unit listed as a child by two parents is
explained twice. Paths are simple: when a parent is already on the path (an assembly cycle),
the path stops at that repeated unit and ends in `"cycle"`.

`problems` lists the units with something wrong inside the same top-level assemblies, i.e. the
reached tops and all their descendants (for a path ending in a cycle: the repeated unit and
its descendants). A problem's `kind` is:

| kind          | unit                                                                   |
|---------------|------------------------------------------------------------------------|
| `failed`      | fetched; its creating run's outcome is `FAIL`                          |
| `errored`     | fetched; its run ended `ERROR`, `TIMEOUT` or `ABORTED`: no verdict, so |
|               | the unit was never shown to be good                                    |
| `not_found`   | referenced by another record, but the API does not know it             |
| `fetch_error` | its record could not be fetched, so nothing about it is known          |

Units without a run, with an undocumented outcome or left unexplored by a limit are not
problems here (`genealogy.queries.audit` reports what it can about them).

Limits, so that any graph gives a bounded answer (the number of paths can grow exponentially
with shared sub-assemblies: 30 levels of two units each linked to both of the next give 2^30):

- paths are listed up to `MAX_PATHS` of them and `MAX_STEPS` steps in all (the first path is
  always listed whole, however long); `truncated` says more exist, and `total_paths` how many
  there are in all when they can be counted (no cycle above the unit);
- a problem's paths are listed up to `MAX_PROBLEM_PATHS` paths and `MAX_STEPS` steps over all
  problems; `omitted_problem_paths` counts the rest. Every problem is listed.

A step carries the unit's run history when it is known (`run_count`, `latest_outcome`, `runs`
oldest first; all None otherwise), and the text shows it after the state:
`(CELL rev C, FAIL; 3 runs: FAIL 2026-03-01, FAIL 03-02, PASS 03-04)`.

In the text, a path deeper than `MAX_INDENT` levels is not indented further: each deeper
line starts with its `[level N]` (links above the traced unit), and the path says so.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import networkx as nx

from genealogy.errors import ExitCode, GenealogyError
from genealogy.nodes import ProblemKind, outcome, problem_kind, state_text
from genealogy.text import shown

MAX_PATHS = 1000
"""Paths listed at most: with many shared sub-assemblies their number grows exponentially."""
MAX_STEPS = 200_000
"""Steps (units) listed over all paths at most, and over all problem paths (apart): the first
path is listed whole however long, so a chain of any length is traced."""
MAX_PROBLEM_PATHS = 1000
"""Paths of problems up to their top-level assemblies listed at most (one per problem and top)."""
PATH_COUNT_LIMIT = 10**18
"""`total_paths` stops counting here: a count this large means at least that many."""
MAX_INDENT = 100
"""Levels the text indents further; deeper lines stay at this indent and show their level."""
HISTORY_SHOWN = 5
"""Latest runs the text lists per unit; the earlier ones are counted."""

End = Literal["root", "cycle", "unknown"]
"""How a path ends: at a unit without a parent; at a unit already on the path; or at a unit
whose own parent is unknown (it was not fetched, or its parent was not crawled)."""

Charset = Literal["unicode", "ascii"]


class UnknownSerial(GenealogyError, KeyError):
    """The serial number asked about is not in the graph."""

    exit_code = ExitCode.USAGE

    def __init__(self, serial: str) -> None:
        super().__init__(serial)
        self.serial = serial

    def __str__(self) -> str:
        return (
            f"Unit {shown(self.serial)!r} is not in the crawled assembly: "
            "check the serial number, or crawl from it (or with larger limits)."
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One unit on a path, with what identifies it to a human."""

    serial: str
    part_number: str | None
    part_name: str | None
    revision: str | None
    batch: str | None
    outcome: str | None  # the present outcome (genealogy.nodes.outcome); None without a run
    status: str  # ok / not_found / error / unexplored
    state: str  # the outcome, or the status in words (genealogy.nodes.state_text)
    run_count: int | None = None  # runs in the unit's history; None when it is not known
    latest_outcome: str | None = None  # the latest run's outcome (None: no run, or not known)
    runs: tuple[dict[str, Any], ...] | None = None  # the history, oldest first (RunRecord)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["runs"] = None if self.runs is None else [dict(run) for run in self.runs]
        return data


@dataclass(frozen=True, slots=True)
class TracePath:
    """From the traced unit (first step) up to a top-level assembly (last step)."""

    steps: tuple[Step, ...]
    end: End

    @property
    def top(self) -> str:
        return self.steps[-1].serial

    @property
    def serials(self) -> tuple[str, ...]:
        return tuple(step.serial for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {"end": self.end, "steps": [step.to_dict() for step in self.steps]}


@dataclass(frozen=True, slots=True)
class Problem:
    """A unit with something wrong in the same top-level assembly as the traced unit."""

    serial: str
    part_number: str | None
    part_name: str | None
    revision: str | None
    kind: ProblemKind
    detail: str | None  # the run outcome, or the reason it was not fetched
    paths: tuple[tuple[str, ...], ...]  # per top reached: a shortest path, unit first, top last

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "part_number": self.part_number,
            "part_name": self.part_name,
            "revision": self.revision,
            "kind": self.kind,
            "detail": self.detail,
            "paths": [list(path) for path in self.paths],
        }


@dataclass(frozen=True, slots=True)
class Trace:
    serial: str
    paths: tuple[TracePath, ...]
    problems: tuple[Problem, ...]
    truncated: bool = False  # more paths than the limits let list: only the first ones are
    total_paths: int | None = None  # paths in all, when countable (see PATH_COUNT_LIMIT)
    omitted_problem_paths: int = 0  # problem paths not listed because of the limits

    @property
    def tops(self) -> tuple[str, ...]:
        """The top-level assemblies reached, sorted (a cycle's repeated unit included)."""
        return tuple(sorted({path.top for path in self.paths}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "tops": list(self.tops),
            "paths": [path.to_dict() for path in self.paths],
            "problems": [problem.to_dict() for problem in self.problems],
            "truncated": self.truncated,
            "total_paths": self.total_paths,
            "omitted_problem_paths": self.omitted_problem_paths,
        }


def trace(
    graph: nx.DiGraph,
    serial: str,
    *,
    max_paths: int = MAX_PATHS,
    max_steps: int = MAX_STEPS,
    max_problem_paths: int = MAX_PROBLEM_PATHS,
) -> Trace:
    """Every simple path from `serial` up to a top-level assembly, and the problems under them,
    within the limits (see the module docstring).

    Raises `UnknownSerial` (a `KeyError`) when `serial` is not a node of `graph`.
    """
    if serial not in graph:
        raise UnknownSerial(serial)
    parents = _Parents(graph)
    raw_paths, truncated = _upward_paths(graph, serial, parents, max_paths, max_steps)
    steps: dict[str, Step] = {}  # one Step per unit, shared by every path through it

    def step(node: str) -> Step:
        found = steps.get(node)
        if found is None:
            found = steps[node] = _step(graph, node)
        return found

    paths = tuple(TracePath(tuple(map(step, nodes)), end) for nodes, end in raw_paths)
    total = _count_paths(graph, serial, parents) if truncated else len(paths)
    tops = sorted({path.top for path in paths})
    problems, omitted = _problems(graph, tops, parents, max_problem_paths, max_steps)
    return Trace(serial, paths, problems, truncated, total, omitted)


class _Parents:
    """A unit's parents but itself, sorted, each list computed once."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self.known: dict[str, list[str]] = {}

    def __call__(self, node: str) -> list[str]:
        parents = self.known.get(node)
        if parents is None:
            found = (parent for parent in self.graph.predecessors(node) if parent != node)
            parents = self.known[node] = sorted(found)
        return parents


def _upward_paths(
    graph: nx.DiGraph,
    start: str,
    parents_of: Callable[[str], list[str]],
    max_paths: int,
    max_steps: int,
) -> tuple[list[tuple[list[str], End]], bool]:
    """Depth-first over parents, in serial order; iterative, so deep assemblies are fine.

    Every branch of the walk ends in a path found, so the work is bounded by the steps listed.
    """
    parents = parents_of(start)
    if not parents:
        return [([start], _top_end(graph, start))], False
    found: list[tuple[list[str], End]] = []
    steps = 0
    path = [start]
    on_path = {start}
    stack = [iter(parents)]
    while stack:
        parent = next(stack[-1], None)
        if parent is None:
            stack.pop()
            on_path.discard(path.pop())
            continue
        if len(found) >= max_paths:
            return found, True
        if parent in on_path:
            end: End = "cycle"
        else:
            grandparents = parents_of(parent)
            if grandparents:
                path.append(parent)
                on_path.add(parent)
                stack.append(iter(grandparents))
                continue
            end = _top_end(graph, parent)
        if found and steps + len(path) + 1 > max_steps:
            return found, True
        found.append(([*path, parent], end))
        steps += len(path) + 1
    return found, False


def _count_paths(
    graph: nx.DiGraph, start: str, parents_of: Callable[[str], list[str]]
) -> int | None:
    """How many paths `trace` would give without limits (at most `PATH_COUNT_LIMIT`): one
    pass over the units above `start` in topological order; None if a cycle is among them."""
    above = {start}
    stack = [start]
    while stack:
        for parent in parents_of(stack.pop()):
            if parent not in above:
                above.add(parent)
                stack.append(parent)
    waiting = {node: len(parents_of(node)) for node in above}
    ready = [node for node, count in waiting.items() if not count]
    paths: dict[str, int] = {}
    while ready:
        node = ready.pop()
        parents = parents_of(node)
        paths[node] = min(sum(paths[p] for p in parents), PATH_COUNT_LIMIT) if parents else 1
        for child in graph.successors(node):
            if child in waiting and child != node:
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)
    return paths.get(start) if len(paths) == len(above) else None


def _top_end(graph: nx.DiGraph, node: str) -> End:
    attrs = graph.nodes[node]
    if attrs.get("status") != "ok":
        return "unknown"
    declared = attrs.get("parent_serial")
    return "unknown" if declared is not None and declared != node else "root"


def _step(graph: nx.DiGraph, node: str) -> Step:
    attrs = graph.nodes[node]
    runs = attrs.get("runs")
    history = (
        tuple(dict(run) for run in runs if isinstance(run, Mapping))
        if isinstance(runs, list)
        else None
    )
    count = attrs.get("run_count")
    if not isinstance(count, int) or isinstance(count, bool):
        count = None if history is None else len(history)
    latest = attrs.get("latest_outcome")
    if latest is None and history:
        latest = history[-1].get("outcome")
    return Step(
        serial=node,
        part_number=attrs.get("part_number"),
        part_name=attrs.get("part_name"),
        revision=attrs.get("revision"),
        batch=attrs.get("batch"),
        outcome=outcome(attrs),
        status=attrs.get("status", "unexplored"),
        state=state_text(attrs),
        run_count=count,
        latest_outcome=latest if isinstance(latest, str) else None,
        runs=history,
    )


def _problems(
    graph: nx.DiGraph,
    tops: Iterable[str],
    parents_of: Callable[[str], list[str]],
    max_paths: int,
    max_steps: int,
) -> tuple[tuple[Problem, ...], int]:
    """The problems under `tops`, each with a shortest path up to each top it is under (as
    the limits allow), and how many paths the limits left out.

    One breadth-first walk down from each top gives every unit's distance up to it; a path is
    then read off those distances, so its cost is its length, not the graph's size."""
    distances = {top: _distances_down(graph, top) for top in tops}
    members: dict[str, list[str]] = {}  # unit -> the tops it is under, sorted
    for top in sorted(distances):
        for node in distances[top]:
            members.setdefault(node, []).append(top)
    problems = []
    listed = steps = omitted = 0
    for node in sorted(members):
        attrs = graph.nodes[node]
        kind = problem_kind(attrs)
        if kind is None:
            continue
        detail = outcome(attrs) if kind in ("failed", "errored") else attrs.get("reason")
        paths = []
        for top in members[node]:
            length = distances[top][node] + 1
            if listed >= max_paths or (listed and steps + length > max_steps):
                omitted += 1
                continue
            paths.append(_path_up(node, distances[top], parents_of))
            listed += 1
            steps += length
        problems.append(
            Problem(
                serial=node,
                part_number=attrs.get("part_number"),
                part_name=attrs.get("part_name"),
                revision=attrs.get("revision"),
                kind=kind,
                detail=detail,
                paths=tuple(paths),
            )
        )
    return tuple(problems), omitted


def _distances_down(graph: nx.DiGraph, top: str) -> dict[str, int]:
    """Links from `top` down to each unit under it (breadth-first): each one's distance up."""
    distance = {top: 0}
    queue = deque([top])
    while queue:
        node = queue.popleft()
        below = distance[node] + 1
        for child in graph.successors(node):
            if child not in distance:
                distance[child] = below
                queue.append(child)
    return distance


def _path_up(
    node: str, distance: Mapping[str, int], parents_of: Callable[[str], list[str]]
) -> tuple[str, ...]:
    """The shortest path from `node` up to the top `distance` was measured from that comes
    first in serial order, step by step (the one a breadth-first search over parents in serial
    order finds): at each unit, its smallest parent one link nearer the top."""
    path = [node]
    left = distance[node]
    while left:
        left -= 1
        path.append(next(p for p in parents_of(path[-1]) if distance.get(p) == left))
    return tuple(path)


def describe(part_number: str | None, revision: str | None, state: str | None) -> str:
    """`(PART rev X, STATE)`, leaving out what is unknown; every piece made printable."""
    part = shown(part_number)
    if revision is not None:
        part = f"{part} rev {shown(revision)}".strip()
    bits = [bit for bit in (part, shown(state)) if bit]
    return f"({', '.join(bits)})" if bits else ""


def history_text(step: Step, *, limit: int = HISTORY_SHOWN) -> str:
    """`3 runs: FAIL 2026-03-01, FAIL 03-02, PASS 03-04` (the latest `limit` runs, oldest
    first; a date gives its year only when it changes); empty when the history is unknown or
    holds no run. Every piece made printable."""
    if step.run_count is None or (not step.run_count and not step.runs):
        return ""
    count = step.run_count
    words = f"{count} run" if count == 1 else f"{count} runs"
    runs = step.runs or ()
    if not runs:
        return words
    shown_runs = runs[-limit:]
    earlier = max(count, len(runs)) - len(shown_runs)  # `runs` may hold fewer than counted
    listed = []
    year = None
    for run in shown_runs:
        word = shown(run.get("outcome")) or "?"
        day = _run_day(run)
        if day is None:
            listed.append(word)
        else:
            listed.append(f"{word} {day[5:] if day[:4] == year else day}")
            year = day[:4]
    more = f"{earlier} earlier, " if earlier else ""
    return f"{words}: {more}{', '.join(listed)}"


def _run_day(run: Mapping[str, Any]) -> str | None:
    for key in ("started_at", "ended_at"):
        value = run.get(key)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value).date().isoformat()
            except ValueError:
                continue
    return None


def _label(step: Step) -> str:
    label = describe(step.part_number, step.revision, step.state)
    history = history_text(step)
    if history and label:
        return f"{label[:-1]}; {history})"
    return label or (f"({history})" if history else "")


def format_text(result: Trace, *, charset: Charset = "unicode") -> str:
    """One block per path: the unit, then `└─ in PARENT (...)` lines, each indented further
    (up to `MAX_INDENT` levels: deeper lines start with their `[level N]` instead)."""
    ascii_only = charset == "ascii"
    branch = "`- in " if ascii_only else "└─ in "
    arrow = " -> " if ascii_only else " → "
    deepest = "   " * MAX_INDENT
    blocks = []
    for path in result.paths:
        first = path.steps[0]
        lines = [f"{shown(first.serial)} {_label(first)}".rstrip()]
        for level, step in enumerate(path.steps[1:]):
            indent = "   " * level if level < MAX_INDENT else f"{deepest}[level {level + 1}] "
            lines.append(f"{indent}{branch}{shown(step.serial)} {_label(step)}".rstrip())
        if path.end == "cycle":
            lines[-1] += f"  [cycle: {shown(path.top)} is already on this path]"
        elif path.end == "unknown":
            lines[-1] += "  [top of what was crawled: its parent is unknown]"
        elif len(path.steps) == 1:
            lines[-1] += "  [top-level assembly]"
        if len(path.steps) > MAX_INDENT + 1:
            lines.append(
                f"({len(path.steps) - 1:,} levels: lines deeper than {MAX_INDENT} are not "
                "indented further, each starts with its [level N])"
            )
        blocks.append("\n".join(lines))
    if result.truncated:
        listed = len(result.paths)
        first_ones = f"only the first {listed:,} {'is' if listed == 1 else 'are'} listed"
        total = result.total_paths
        if total is None:
            blocks.append(f"... more paths not shown: {first_ones}")
        elif total >= PATH_COUNT_LIMIT:
            blocks.append(f"... more paths not shown (at least {total:,} in all): {first_ones}")
        else:
            more = total - listed
            noun = "path" if more == 1 else "paths"
            blocks.append(f"... {more:,} more {noun} not shown: {first_ones}")
    mark = "x" if ascii_only else "✗"
    if result.problems:
        lines = [f"Problems in the same top-level assemblies ({len(result.problems)}):"]
        for problem in result.problems:
            what = problem.kind.replace("_", " ")
            detail = shown(problem.detail)
            if detail.lower().startswith(what):
                what, detail = detail, ""  # a reason saying "not found (404 ...)" already
            detail = f": {detail}" if detail else ""
            label = describe(problem.part_number, problem.revision, None)
            unit = f"{shown(problem.serial)} {label}".rstrip()
            lines.append(f"  {mark} {unit}: {what}{detail}")
            lines.extend(f"      {arrow.join(shown(s) for s in path)}" for path in problem.paths)
        if result.omitted_problem_paths:
            count = result.omitted_problem_paths
            lines.append(
                f"  ... {count:,} more {'path' if count == 1 else 'paths'} up from these problems "
                f"not shown: at most {MAX_PROBLEM_PATHS:,} paths and {MAX_STEPS:,} units are listed"
            )
        blocks.append("\n".join(lines))
    else:
        blocks.append("No problems in the same top-level assemblies.")
    return "\n\n".join(blocks)
