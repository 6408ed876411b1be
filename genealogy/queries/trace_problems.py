"""The problems inside top-level assemblies: failed, errored, missing and unfetched units,
grouped by kind, the worst first, each with its shortest paths up (see `genealogy.queries.trace`,
whose module docstring tabulates the kinds and the limits).

Counts are of the units the graph holds with a record or a failed fetch; `unexplored` counts
those under the tops that were not looked at (left unexplored by a limit or an interruption, or
named by a record but absent from the graph, as below a crawl that went up only); what they
contain is unknown, so a partial crawl says how partial it is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from genealogy.nodes import PROBLEM_KINDS, ProblemKind, Status, outcome, problem_kind

MAX_PROBLEM_PATHS = 1000
"""Paths of problems up to their top-level assemblies listed at most (one per problem and top)."""
MAX_STEPS = 200_000
"""Steps (units) listed over all paths at most, and over all problem paths (apart): the first
path is listed whole however long, so a chain of any length is traced."""


class Parents:
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
class ProblemGroup:
    """Every problem of one kind, by serial number."""

    kind: ProblemKind
    problems: tuple[Problem, ...]

    @property
    def count(self) -> int:
        return len(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "units": [problem.to_dict() for problem in self.problems],
        }


@dataclass(frozen=True, slots=True)
class Problems:
    """The problems inside some top-level assemblies, grouped by kind, the worst first."""

    tops: tuple[str, ...]
    groups: tuple[ProblemGroup, ...]  # only kinds that occur, in `PROBLEM_KINDS` order
    units: int  # units under the tops (the tops included) that were looked at
    unexplored: int  # units under the tops not looked at: problems among them are not counted
    omitted_paths: int = 0  # problem paths not listed because of the limits

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups)

    @property
    def all(self) -> tuple[Problem, ...]:
        """Every problem, the worst kind first, then by serial."""
        return tuple(problem for group in self.groups for problem in group.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tops": list(self.tops),
            "count": self.count,
            "by_kind": {group.kind: group.count for group in self.groups},
            "groups": [group.to_dict() for group in self.groups],
            "units_looked_at": self.units,
            "unexplored": self.unexplored,
            "omitted_paths": self.omitted_paths,
        }


def problems_under(
    graph: nx.DiGraph,
    tops: Iterable[str],
    max_paths: int = MAX_PROBLEM_PATHS,
    max_steps: int = MAX_STEPS,
    parents_of: Callable[[str], list[str]] | None = None,
    *,
    only: Collection[str] | None = None,
) -> Problems:
    """The problems under `tops` (those of them in `graph`), grouped by kind, the worst
    first, each with a shortest path up to each top it is under (as the limits allow); and
    how many units under them were looked at, and how many were not. `only`: list just the
    problems of these units (a filter's matches); the units looked at are counted all the same.

    One breadth-first walk down from each top gives every unit's distance up to it; a path is
    then read off those distances, so its cost is its length, not the graph's size."""
    parents_of = parents_of or Parents(graph)
    tops = sorted(top for top in set(tops) if top in graph)
    distances = {top: _distances_down(graph, top) for top in tops}
    members: dict[str, list[str]] = {}  # unit -> the tops it is under, sorted
    for top in tops:
        for node in distances[top]:
            members.setdefault(node, []).append(top)
    by_kind: dict[ProblemKind, list[Problem]] = {}
    listed = steps = omitted = 0
    looked_at = unexplored = 0
    named_elsewhere: set[str] = set()
    for node in sorted(members):
        attrs = graph.nodes[node]
        status = attrs.get("status")
        if status == Status.UNEXPLORED:
            unexplored += 1
            continue
        looked_at += 1
        named_elsewhere.update(
            child for child in attrs.get("children_serials") or () if child not in graph
        )
        kind = problem_kind(attrs)
        if kind is None or (only is not None and node not in only):
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
        by_kind.setdefault(kind, []).append(
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
    groups = tuple(
        ProblemGroup(kind, tuple(by_kind[kind])) for kind in PROBLEM_KINDS if kind in by_kind
    )
    return Problems(
        tuple(tops), groups, looked_at, unexplored + len(named_elsewhere), omitted
    )


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
