"""Why is this unit here? Every path from a unit up to each top-level assembly holding it.

Like `npm explain`: `trace(graph, serial)` follows predecessors (parents) from `serial` until a
unit without a parent, once per distinct path, so a unit listed as a child by two parents is
explained twice. `trace_many(graph, serials)` does it for several units at once and names the
top-level assemblies they share (a recall of several failed cells).

How a path ends (`TracePath.end`):

| end           | the last unit                                                            |
|---------------|--------------------------------------------------------------------------|
| `root`        | a top-level assembly: fetched, its record names no parent                |
| `cycle`       | already on the path: the units contain each other in a loop               |
| `self_parent` | its record names itself as its parent: not a top-level assembly, and what |
|               | contains it is unknown                                                   |
| `unknown`     | its own parent is unknown: it was not fetched, or its parent was not     |
|               | crawled (a limit)                                                        |

Structure on the paths (`Flag`, in `Trace.flags` and on each path that goes through it):

| kind            | what the records say                                                   |
|-----------------|------------------------------------------------------------------------|
| `cycle`         | units contain each other in a loop: no top-level assembly above them   |
| `self_parent`   | a unit's record names itself as its parent, or lists itself as a child |
| `contradiction` | the records disagree about a unit's parent: two units claim it, or its |
|                 | record names one parent while that parent does not list it, or another |
|                 | unit lists it while its record names another parent or none            |

A crawl up from a unit reads each unit's own record and its parent's: a third unit that lists
it as a child is known only when that unit was crawled too (a crawl of the whole product).

`problems=True` lists, grouped by kind (`genealogy.nodes.problem_kind`, worst first), the
units with something wrong inside the top-level assemblies reached, i.e. the reached tops and
all their descendants (for a path ending in a cycle: the repeated unit and its descendants).
Counts are of the units the graph holds with a record or a failed fetch; `unexplored` counts
those under the tops that were not looked at (left unexplored by a limit, or named by a record
but absent from the graph, as below a crawl that went up only), so a partial crawl says how
partial it is. A problem's kind is:

| kind          | unit                                                                   |
|---------------|------------------------------------------------------------------------|
| `failed`      | fetched; its present outcome (latest run, else creating run) is `FAIL` |
| `errored`     | fetched; its run ended `ERROR`, `TIMEOUT` or `ABORTED`: no verdict     |
| `not_found`   | referenced by another record, but the API does not know it             |
| `fetch_error` | its record could not be fetched, so nothing about it is known          |

Limits, so that any graph gives a bounded answer (the number of paths can grow exponentially
with shared sub-assemblies: 30 levels of two units each linked to both of the next give 2^30):

- paths are listed up to `MAX_PATHS` of them and `MAX_STEPS` steps in all (the first path is
  always listed whole, however long); `truncated` says more exist, and `total_paths` how many
  there are in all when they can be counted (no cycle above the unit);
- a problem's paths are listed up to `MAX_PROBLEM_PATHS` paths and `MAX_STEPS` steps over all
  problems; `omitted_problem_paths` counts the rest. Every problem is listed and counted.

A step carries what identifies the unit (part, revision, batch), its present outcome, its run
history when known (`run_count`, `latest_outcome`, `runs` oldest first) and the procedure,
station and date of its latest run (`run` = "latest"), or of the run that created it when no
history is known (`run` = "creating"); None where nothing is known. The problems are
`genealogy.queries.trace_problems`; the text is `genealogy.queries.trace_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Literal

import networkx as nx

from genealogy.errors import ExitCode, GenealogyError
from genealogy.nodes import Status, outcome, state_text
from genealogy.queries.trace_problems import (
    MAX_PROBLEM_PATHS,
    MAX_STEPS,
    Parents,
    Problem,
    ProblemGroup,
    Problems,
    problems_under,
)
from genealogy.text import shown

__all__ = [
    "FLAG_KINDS",
    "MAX_PATHS",
    "MAX_PROBLEM_PATHS",
    "MAX_STEPS",
    "PATH_COUNT_LIMIT",
    "Flag",
    "Problem",
    "ProblemGroup",
    "Problems",
    "Step",
    "Trace",
    "TracePath",
    "Traces",
    "UnknownSerial",
    "problems_under",
    "tops_to_crawl",
    "trace",
    "trace_many",
]

MAX_PATHS = 1000
"""Paths listed at most: with many shared sub-assemblies their number grows exponentially."""
PATH_COUNT_LIMIT = 10**18
"""`total_paths` stops counting here: a count this large means at least that many."""

End = Literal["root", "cycle", "self_parent", "unknown"]
"""How a path ends (see the module docstring)."""
FlagKind = Literal["cycle", "self_parent", "contradiction"]
FLAG_KINDS: tuple[FlagKind, ...] = ("cycle", "self_parent", "contradiction")


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
    procedure: str | None = None  # of the run `run` names
    station: str | None = None
    date: str | None = None  # when that run started (else ended), ISO 8601
    run: Literal["latest", "creating"] | None = None  # which run the three above describe

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["runs"] = None if self.runs is None else [dict(run) for run in self.runs]
        return data


@dataclass(frozen=True, slots=True)
class Flag:
    """Something wrong with the structure on a path: a cycle, a self-parent, records that
    contradict each other. `serials`: the cycle in order (the repeated unit first and last),
    the unit, or the unit then each parent its records name."""

    kind: FlagKind
    serials: tuple[str, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "serials": list(self.serials), "message": self.message}


@dataclass(frozen=True, slots=True)
class TracePath:
    """From the traced unit (first step) up to a top-level assembly (last step)."""

    steps: tuple[Step, ...]
    end: End
    flags: tuple[Flag, ...] = ()  # the structural problems of the units on this path

    @property
    def top(self) -> str:
        return self.steps[-1].serial

    @property
    def serials(self) -> tuple[str, ...]:
        return tuple(step.serial for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "end": self.end,
            "steps": [step.to_dict() for step in self.steps],
            "flags": [flag.to_dict() for flag in self.flags],
        }


@dataclass(frozen=True, slots=True)
class Trace:
    serial: str
    paths: tuple[TracePath, ...]
    flags: tuple[Flag, ...] = ()  # every structural problem on the paths, once
    problems: Problems | None = None  # asked for with `problems=True`
    truncated: bool = False  # more paths than the limits let list: only the first ones are
    total_paths: int | None = None  # paths in all, when countable (see PATH_COUNT_LIMIT)
    up_only: bool = False  # the graph was crawled up only: a unit listing one of these units
    # as a child, other than the parent its record names, was not read
    problems_interrupted: bool = False  # problems were asked for, but the run was
    # interrupted before they were looked at (`problems` is then None)

    @property
    def tops(self) -> tuple[str, ...]:
        """The top-level assemblies reached (paths that end at a `root`), sorted."""
        return tuple(sorted({path.top for path in self.paths if path.end == "root"}))

    @property
    def reached(self) -> tuple[str, ...]:
        """Where the paths end, sorted: the top-level assemblies, and the units above which no
        top-level assembly is known (a cycle's repeated unit, a self-parent, a unit whose
        parent is unknown). The problems are looked for under these."""
        return tuple(sorted({path.top for path in self.paths}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "serial": self.serial,
            "tops": list(self.tops),
            "reached": list(self.reached),
            "paths": [path.to_dict() for path in self.paths],
            "flags": [flag.to_dict() for flag in self.flags],
            "truncated": self.truncated,
            "total_paths": self.total_paths,
            "up_only": self.up_only,
            "problems": None if self.problems is None else self.problems.to_dict(),
            "problems_interrupted": self.problems_interrupted,
        }


@dataclass(frozen=True, slots=True)
class Traces:
    """Several units traced at once (`trace_many`)."""

    serials: tuple[str, ...]  # as asked, in order, each once
    traces: tuple[Trace, ...]  # one per serial found, in the order asked
    not_found: tuple[str, ...]  # serials the API does not know (or the graph does not hold)
    shared: tuple[tuple[str, tuple[str, ...]], ...]  # top -> the traced units it contains (2+)
    problems: Problems | None = None  # inside every top reached, asked for with problems=True
    up_only: bool = False  # as `Trace.up_only`
    problems_interrupted: bool = False  # as `Trace.problems_interrupted`

    @property
    def tops(self) -> tuple[str, ...]:
        return tuple(sorted({top for found in self.traces for top in found.tops}))

    @property
    def reached(self) -> tuple[str, ...]:
        return tuple(sorted({end for found in self.traces for end in found.reached}))

    @property
    def flags(self) -> tuple[Flag, ...]:
        return _worst_first(flag for found in self.traces for flag in found.flags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "serials": list(self.serials),
            "tops": list(self.tops),
            "reached": list(self.reached),
            "traces": [found.to_dict() for found in self.traces],
            "not_found": list(self.not_found),
            "shared": [{"top": top, "contains": list(units)} for top, units in self.shared],
            "up_only": self.up_only,
            "problems": None if self.problems is None else self.problems.to_dict(),
            "problems_interrupted": self.problems_interrupted,
        }


def trace(
    graph: nx.DiGraph,
    serial: str,
    *,
    problems: bool = False,
    max_paths: int = MAX_PATHS,
    max_steps: int = MAX_STEPS,
    max_problem_paths: int = MAX_PROBLEM_PATHS,
) -> Trace:
    """Every simple path from `serial` up to a top-level assembly, the structural problems on
    them, and with `problems` the problems under the tops reached, within the limits (see the
    module docstring).

    Raises `UnknownSerial` (a `KeyError`) when `serial` is not a node of `graph`.
    """
    if serial not in graph:
        raise UnknownSerial(serial)
    tracer = _Tracer(graph)
    found = tracer.trace(serial, max_paths, max_steps)
    if problems:
        report = problems_under(
            graph, found.reached, max_problem_paths, max_steps, tracer.parents
        )
        found = _with_problems(found, report)
    return found


def trace_many(
    graph: nx.DiGraph,
    serials: Iterable[str],
    *,
    problems: bool = False,
    max_paths: int = MAX_PATHS,
    max_steps: int = MAX_STEPS,
    max_problem_paths: int = MAX_PROBLEM_PATHS,
) -> Traces:
    """`trace` for each of `serials` (a serial the graph does not hold, or one the API did
    not find, is listed in `not_found` instead), the top-level assemblies that contain two of
    them or more, and with `problems` the problems under every top reached."""
    tracer = _Tracer(graph)
    asked = tuple(dict.fromkeys(serials))
    traces = []
    missing = []
    for serial in asked:
        if serial not in graph or graph.nodes[serial].get("status") == Status.NOT_FOUND:
            missing.append(serial)
        else:
            traces.append(tracer.trace(serial, max_paths, max_steps))
    containing: dict[str, list[str]] = {}
    for found in traces:
        for top in found.tops:
            containing.setdefault(top, []).append(found.serial)
    shared = tuple(
        (top, tuple(units)) for top, units in sorted(containing.items()) if len(units) > 1
    )
    report = None
    if problems:
        reached = sorted({end for found in traces for end in found.reached})
        report = problems_under(graph, reached, max_problem_paths, max_steps, tracer.parents)
    return Traces(asked, tuple(traces), tuple(missing), shared, report, tracer.up_only)


def _with_problems(found: Trace, report: Problems) -> Trace:
    return Trace(
        found.serial,
        found.paths,
        found.flags,
        report,
        found.truncated,
        found.total_paths,
        found.up_only,
        found.problems_interrupted,
    )


class _Tracer:
    """Paths and flags over one graph; steps and flags are made once per unit however many
    paths and traced units share it."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self.parents = Parents(graph)
        self.steps: dict[str, Step] = {}
        self.unit_flags: dict[str, tuple[Flag, ...]] = {}
        self.up_only = graph.graph.get("direction") == "up"  # as `build_graph` records it

    def trace(self, serial: str, max_paths: int, max_steps: int) -> Trace:
        raw_paths, truncated = _upward_paths(
            self.graph, serial, self.parents, max_paths, max_steps
        )
        paths = tuple(self._path(nodes, end) for nodes, end in raw_paths)
        total = _count_paths(self.graph, serial, self.parents) if truncated else len(paths)
        flags = _worst_first(flag for path in paths for flag in path.flags)
        return Trace(serial, paths, flags, None, truncated, total, self.up_only)

    def _path(self, nodes: list[str], end: End) -> TracePath:
        flags = [flag for node in nodes for flag in self._flags_of(node)]
        if end == "cycle":
            flags.insert(0, _cycle_flag(nodes))
        return TracePath(tuple(map(self._step, nodes)), end, _unique(flags))

    def _step(self, node: str) -> Step:
        found = self.steps.get(node)
        if found is None:
            found = self.steps[node] = _step(self.graph, node)
        return found

    def _flags_of(self, node: str) -> tuple[Flag, ...]:
        found = self.unit_flags.get(node)
        if found is None:
            found = self.unit_flags[node] = tuple(_unit_flags(self.graph, node, self.parents))
        return found


def _unique(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    return tuple(dict.fromkeys(flags))


def _worst_first(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    """Each flag once: cycles, then self-parents, then contradictions, each by serials."""
    return tuple(sorted(_unique(flags), key=lambda f: (FLAG_KINDS.index(f.kind), f.serials)))


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
    if attrs.get("status") != Status.OK:
        return "unknown"
    declared = attrs.get("parent_serial")
    if declared == node:
        return "self_parent"
    return "unknown" if declared is not None else "root"


# -- structure -------------------------------------------------------------------------------


def _cycle_flag(nodes: list[str]) -> Flag:
    """The loop at the end of a path ending in a cycle, from the repeated unit round to it."""
    loop = nodes[nodes.index(nodes[-1]) :]
    contains = ", ".join(
        f"{shown(parent)} contains {shown(child)}" for child, parent in pairwise(loop)
    )
    return Flag(
        "cycle",
        tuple(loop),
        f"assembly cycle: {contains}; no top-level assembly is above them",
    )


def _unit_flags(
    graph: nx.DiGraph, node: str, parents_of: Callable[[str], list[str]]
) -> list[Flag]:
    """A unit's self-parent and contradicting-parent flags, from its record and its parents'."""
    attrs = graph.nodes[node]
    flags = []
    fetched = attrs.get("status") == Status.OK
    declared = attrs.get("parent_serial") if fetched else None
    roles = []
    if fetched and declared == node:
        roles.append("as its parent")
    if fetched and node in (attrs.get("children_serials") or ()):
        roles.append("among its children")
    if roles:
        parent_of_itself = declared == node and not parents_of(node)
        flags.append(
            Flag(
                "self_parent",
                (node,),
                f"{shown(node)}'s record names itself {' and '.join(roles)}"
                + (": it is not a top-level assembly" if parent_of_itself else ""),
            )
        )
    claims = _parent_claims(graph, node, parents_of(node), declared)
    if len(claims) > 1 or any(claim.disputed for claim in claims):
        named = tuple(dict.fromkeys(claim.parent for claim in claims))
        text = "; ".join(claim.sentence for claim in claims)
        flags.append(
            Flag(
                "contradiction",
                (node, *named),
                f"the records contradict each other about the parent of {shown(node)}: {text}",
            )
        )
    return flags


@dataclass(frozen=True, slots=True)
class _Claim:
    """What one record says about a unit's parent, and whether the other side disputes it."""

    parent: str
    sentence: str
    disputed: bool


def _parent_claims(
    graph: nx.DiGraph, node: str, parents: list[str], declared: str | None
) -> list[_Claim]:
    """Each parent `node`'s own record names, and each unit whose record lists it."""
    claims = []
    unit = shown(node)
    fetched = graph.nodes[node].get("status") == Status.OK
    for parent in parents:
        name = shown(parent)
        listed = node in (graph.nodes[parent].get("children_serials") or ())
        if declared == parent:
            disputed = not listed and graph.nodes[parent].get("status") == Status.OK
            but = f", but {name}'s record does not list it" if disputed else ""
            sentence = f"{unit}'s record names {name} as its parent{but}"
            claims.append(_Claim(parent, sentence, disputed))
        elif listed:
            disputed = fetched and declared is None
            but = f", but {unit}'s record names no parent" if disputed else ""
            sentence = f"{name}'s record lists {unit} as a child{but}"
            claims.append(_Claim(parent, sentence, disputed))
    if declared is not None and declared != node and declared not in parents:
        sentence = f"{unit}'s record names {shown(declared)} as its parent"
        claims.append(_Claim(declared, sentence, False))
    return claims


# -- steps -----------------------------------------------------------------------------------


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
    run, procedure, station, date = _described_run(attrs, history)
    return Step(
        serial=node,
        part_number=attrs.get("part_number"),
        part_name=attrs.get("part_name"),
        revision=attrs.get("revision"),
        batch=attrs.get("batch"),
        outcome=outcome(attrs),
        status=attrs.get("status", Status.UNEXPLORED),
        state=state_text(attrs),
        run_count=count,
        latest_outcome=latest if isinstance(latest, str) else None,
        runs=history,
        procedure=procedure,
        station=station,
        date=date,
        run=run,
    )


def _described_run(
    attrs: Mapping[str, Any], history: tuple[dict[str, Any], ...] | None
) -> tuple[Literal["latest", "creating"] | None, str | None, str | None, str | None]:
    """Which run a step describes, and its procedure, station and date: the latest run of a
    known history; else the run that created the unit (at the station that created it)."""
    if history is not None and not history:
        return None, None, None, None  # the history is known, and holds no run
    if history:
        last = history[-1]
        date = last.get("started_at") or last.get("ended_at")
        return "latest", _text(last.get("procedure")), _text(last.get("station")), _text(date)
    if attrs.get("run_id") is None:
        return None, None, None, None
    date = attrs.get("run_started_at") or attrs.get("run_ended_at")
    station = attrs.get("created_by_station")
    return "creating", _text(attrs.get("run_procedure")), _text(station), _text(date)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def tops_to_crawl(found: Trace | Traces | Sequence[Trace]) -> list[str]:
    """The tops of the paths whose records were fetched: where a crawl down starts to find
    the problems inside the assemblies reached (a top not fetched has nothing to crawl)."""
    traces = found.traces if isinstance(found, Traces) else (
        (found,) if isinstance(found, Trace) else tuple(found)
    )
    tops = {path.top: path.steps[-1].status for one in traces for path in one.paths}
    return sorted(top for top, status in tops.items() if status == Status.OK)
