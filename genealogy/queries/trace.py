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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import networkx as nx

from genealogy.errors import ExitCode, GenealogyError
from genealogy.nodes import ProblemKind, outcome, problem_kind, state_text
from genealogy.text import shown

MAX_PATHS = 1000
"""Paths listed at most: with many shared sub-assemblies their number grows exponentially."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    truncated: bool = False  # more than `max_paths` paths: only the first ones are listed

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
        }


def trace(graph: nx.DiGraph, serial: str, *, max_paths: int = MAX_PATHS) -> Trace:
    """Every simple path from `serial` up to a top-level assembly, and the problems under them.

    Raises `UnknownSerial` (a `KeyError`) when `serial` is not a node of `graph`.
    """
    if serial not in graph:
        raise UnknownSerial(serial)
    raw_paths, truncated = _upward_paths(graph, serial, max_paths)
    paths = tuple(
        TracePath(tuple(_step(graph, node) for node in nodes), end) for nodes, end in raw_paths
    )
    tops = sorted({path.top for path in paths})
    return Trace(serial, paths, _problems(graph, tops), truncated)


def _parents(graph: nx.DiGraph, node: str) -> list[str]:
    return sorted(parent for parent in graph.predecessors(node) if parent != node)


def _upward_paths(
    graph: nx.DiGraph, start: str, max_paths: int
) -> tuple[list[tuple[list[str], End]], bool]:
    """Depth-first over parents, in serial order; iterative, so deep assemblies are fine."""
    parents = _parents(graph, start)
    if not parents:
        return [([start], _top_end(graph, start))], False
    found: list[tuple[list[str], End]] = []
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
            found.append(([*path, parent], "cycle"))
            continue
        grandparents = _parents(graph, parent)
        if not grandparents:
            found.append(([*path, parent], _top_end(graph, parent)))
            continue
        path.append(parent)
        on_path.add(parent)
        stack.append(iter(grandparents))
    return found, False


def _top_end(graph: nx.DiGraph, node: str) -> End:
    attrs = graph.nodes[node]
    if attrs.get("status") != "ok":
        return "unknown"
    declared = attrs.get("parent_serial")
    return "unknown" if declared is not None and declared != node else "root"


def _step(graph: nx.DiGraph, node: str) -> Step:
    attrs = graph.nodes[node]
    return Step(
        serial=node,
        part_number=attrs.get("part_number"),
        part_name=attrs.get("part_name"),
        revision=attrs.get("revision"),
        batch=attrs.get("batch"),
        outcome=outcome(attrs),
        status=attrs.get("status", "unexplored"),
        state=state_text(attrs),
    )


def _problems(graph: nx.DiGraph, tops: Iterable[str]) -> tuple[Problem, ...]:
    members: dict[str, set[str]] = {}  # unit -> the tops it is under
    for top in tops:
        for node in {top, *nx.descendants(graph, top)}:
            members.setdefault(node, set()).add(top)
    problems = []
    for node in sorted(members):
        attrs = graph.nodes[node]
        kind = problem_kind(attrs)
        if kind is None:
            continue
        detail = outcome(attrs) if kind in ("failed", "errored") else attrs.get("reason")
        problems.append(
            Problem(
                serial=node,
                part_number=attrs.get("part_number"),
                part_name=attrs.get("part_name"),
                revision=attrs.get("revision"),
                kind=kind,
                detail=detail,
                paths=tuple(_path_up(graph, node, top) for top in sorted(members[node])),
            )
        )
    return tuple(problems)


def _path_up(graph: nx.DiGraph, node: str, top: str) -> tuple[str, ...]:
    """A shortest path from `node` up to `top`; breadth-first in serial order: deterministic."""
    came_from: dict[str, str | None] = {node: None}
    queue = deque([node])
    while queue:
        current = queue.popleft()
        if current == top:
            path: list[str] = []
            at: str | None = current
            while at is not None:
                path.append(at)
                at = came_from[at]
            return tuple(reversed(path))
        for parent in _parents(graph, current):
            if parent not in came_from:
                came_from[parent] = current
                queue.append(parent)
    return (node,)  # not reached: `node` is a descendant of `top`


def describe(part_number: str | None, revision: str | None, state: str | None) -> str:
    """`(PART rev X, STATE)`, leaving out what is unknown; every piece made printable."""
    part = shown(part_number)
    if revision is not None:
        part = f"{part} rev {shown(revision)}".strip()
    bits = [bit for bit in (part, shown(state)) if bit]
    return f"({', '.join(bits)})" if bits else ""


def format_text(result: Trace, *, charset: Charset = "unicode") -> str:
    """One block per path: the unit, then `└─ in PARENT (...)` lines, each indented further."""
    ascii_only = charset == "ascii"
    branch = "`- in " if ascii_only else "└─ in "
    arrow = " -> " if ascii_only else " → "
    blocks = []
    for path in result.paths:
        first = path.steps[0]
        label = describe(first.part_number, first.revision, first.state)
        lines = [f"{shown(first.serial)} {label}".rstrip()]
        for level, step in enumerate(path.steps[1:]):
            label = describe(step.part_number, step.revision, step.state)
            lines.append(f"{'   ' * level}{branch}{shown(step.serial)} {label}".rstrip())
        if path.end == "cycle":
            lines[-1] += f"  [cycle: {shown(path.top)} is already on this path]"
        elif path.end == "unknown":
            lines[-1] += "  [top of what was crawled: its parent is unknown]"
        elif len(path.steps) == 1:
            lines[-1] += "  [top-level assembly]"
        blocks.append("\n".join(lines))
    if result.truncated:
        blocks.append(f"... more paths not shown: only the first {len(result.paths)} are listed")
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
        blocks.append("\n".join(lines))
    else:
        blocks.append("No problems in the same top-level assemblies.")
    return "\n\n".join(blocks)
