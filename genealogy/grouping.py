"""What a diagram draws: the graph cut at a depth, and identical sibling leaves drawn as one node.

Both are pure transforms that return a new graph and leave the crawled one alone; the diagram
formats (DOT, SVG, PNG, PDF, Mermaid) draw their result, the data formats (JSON, GraphML, CSV)
are cut at the depth but never grouped, so every unit stays in the data.

**Depth** means what `genealogy tree --depth` means: levels below the top-level assemblies
(`renderers.text.tops`). A unit is kept when its shortest path down from a top-level assembly
has at most `depth` links; in a diagram, a unit at the cut whose children were left out
carries `hidden`, how many, and says so in its box.

**Grouping.** A 7,122-unit traction pack is 16 modules of 444 cells each: drawn one box per
cell, Graphviz needs 7,000 boxes side by side and the text ends up a pixel high. The cells of
one module are all alike, so one box "×444 CELL-18650 rev B PASS" says the same. Leaves (no
children) with one parent, the same part number, revision and outcome class are grouped when
there are at least `MIN_MEMBERS` of them and the graph has more than `GROUP_ABOVE` units.
Never grouped: failed, errored and missing units (what a reader looks for), the start unit,
a unit `genealogy diff` marked as differing, and a unit two parents list (inconsistent data,
drawn as it is).

The text tree and the HTML page are not grouped: the text tree is one line per unit to read,
grep and diff (`--depth` and the filters narrow it), and the page already reads at any size,
opening a few levels and counting the failed and missing units under a collapsed row.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import networkx as nx

from genealogy.nodes import Status, outcome_class, problem_kind

GROUP_ABOVE = 100
"""Graphs of more units than this are grouped: the 79-unit demo rack is drawn unit by unit, a
200-unit assembly is not."""
MIN_MEMBERS = 3
"""Fewer identical siblings than this are drawn singly: a group of two saves one box."""

GROUP = "group"
"""Node attribute of a group node: `{"count": n, "members": [serials, sorted]}`."""
HIDDEN = "hidden"
"""Node attribute of a unit at the depth cut: how many of its children are not drawn."""


def limit_depth(graph: nx.DiGraph, depth: int | None, *, mark: bool = False) -> nx.DiGraph:
    """The units at most `depth` links below a top-level assembly (all of them for None);
    with `mark`, a unit whose children were cut carries `hidden`, how many (for a diagram's
    label: the data formats keep the attributes as crawled)."""
    if depth is None:
        return graph
    from genealogy.renderers.text import tops

    level = _levels(graph, tops(graph))
    kept = graph.subgraph(node for node, at in level.items() if at <= depth).copy()
    for node in kept if mark else ():
        left_out = sum(1 for child in graph.successors(node) if child not in kept)
        if left_out:
            kept.nodes[node][HIDDEN] = left_out
    return kept


def _levels(graph: nx.DiGraph, tops: Iterable[str]) -> dict[str, int]:
    """Each unit's shortest distance down from any of `tops` (a breadth-first walk)."""
    level = dict.fromkeys(tops, 0)
    queue = deque(level)
    while queue:
        node = queue.popleft()
        for child in graph.successors(node):
            if child not in level:
                level[child] = level[node] + 1
                queue.append(child)
    return level


def group_siblings(
    graph: nx.DiGraph,
    start: str | None = None,
    threshold: int = GROUP_ABOVE,
    min_members: int = MIN_MEMBERS,
) -> nx.DiGraph:
    """The graph with each set of identical sibling leaves replaced by one group node.

    A group node is keyed `×{count} {part} rev {revision} {outcome} in {parent}` (made unique
    if a serial number happens to read the same), keeps the first member's attributes (so it
    is coloured and labelled like them) and carries `group`: its count and member serials.
    Graphs of `threshold` units or fewer come back unchanged (the same object).
    """
    if graph.number_of_nodes() <= threshold:
        return graph
    start = start if start is not None else graph.graph.get("start")
    sets: dict[tuple[str, tuple[Any, ...]], list[str]] = {}
    for node in graph:
        key = _group_key(graph, node, start)
        if key is not None:
            sets.setdefault(key, []).append(node)
    grouped = graph.copy()
    for (parent, _), members in sorted(sets.items(), key=lambda item: str(item[0])):
        if len(members) >= min_members:
            _replace(grouped, parent, sorted(members))
    return grouped


def _group_key(
    graph: nx.DiGraph, node: str, start: str | None
) -> tuple[str, tuple[Any, ...]] | None:
    """(parent, what the unit is) for a unit that may be grouped, else None."""
    attrs = graph.nodes[node]
    if node == start or attrs.get("start") or graph.out_degree(node) or graph.in_degree(node) != 1:
        return None
    if attrs.get("status") != Status.OK or problem_kind(attrs) is not None:
        return None
    if attrs.get("diff"):  # marked by `genealogy diff`: each one is a finding of its own
        return None
    (parent,) = graph.predecessors(node)
    if parent == node:
        return None
    what = (attrs.get("part_number"), attrs.get("part_name"), attrs.get("revision"))
    return parent, (*what, outcome_class(attrs))


def _replace(graph: nx.DiGraph, parent: str, members: list[str]) -> None:
    first = graph.nodes[members[0]]
    attrs = {k: v for k, v in first.items() if k in SHARED}
    attrs[GROUP] = {"count": len(members), "members": members}
    name = group_name(len(members), first, parent)
    key, suffix = name, 1
    while key in graph:
        suffix += 1
        key = f"{name} ({suffix})"
    graph.remove_nodes_from(members)
    graph.add_node(key, **attrs)
    graph.add_edge(parent, key, declared_by=["group"])


SHARED = frozenset(
    {"status", "part_number", "part_name", "revision", "run_outcome", "latest_outcome"}
)
"""What the members of a group have in common, and the group node keeps."""


def group_name(count: int, attrs: dict[str, Any], parent: str) -> str:
    """`×444 CELL-2170 rev C PASS in MOD-0001`: what the group node is keyed by."""
    return f"{group_title(count, attrs)} in {parent}"


def group_title(count: int, attrs: dict[str, Any]) -> str:
    """`×444 CELL-2170 rev C PASS`: what a group's box says (not escaped: callers escape)."""
    from genealogy.nodes import state_text

    words = [f"×{count:,}"]
    if attrs.get("part_number"):
        words.append(str(attrs["part_number"]))
    if attrs.get("revision"):
        words.append(f"rev {attrs['revision']}")
    words.append(state_text(attrs))
    return " ".join(words)


def diagram(
    graph: nx.DiGraph, depth: int | None, group: bool, threshold: int = GROUP_ABOVE
) -> nx.DiGraph:
    """What a diagram format draws: cut at `depth`, then grouped (unless `group` is False)."""
    shown = limit_depth(graph, depth, mark=True)
    return group_siblings(shown, threshold=threshold) if group else shown
