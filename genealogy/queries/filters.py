"""Narrowing a graph to the units that matter, keeping the tree above them connected.

`filter_graph(graph, outcomes=["fail"])` keeps every unit whose present outcome is FAIL plus
all their ancestors, so what remains is exactly the paths from the top-level assemblies down to
the failures ("only the paths that contain a failure"). Descendants of a match are not kept.

Criteria of different kinds combine with AND, values of one criterion with OR:
`outcomes=["fail", "error"], parts=["CELL"]` keeps the CELL units that failed or errored.
`None` means a criterion is not used; both `None` keeps everything.

Outcomes and part numbers compare case-insensitively, as the service matches part numbers.
Besides the run outcomes, these pseudo-outcomes match (`genealogy.nodes.filter_keys`):

| value          | units                                                                     |
|----------------|---------------------------------------------------------------------------|
| `unknown`      | fetched, without a run or with an undocumented outcome (as the colour key) |
| `not_found`    | referenced, but the API does not know them                                |
| `error`        | whose record could not be fetched; also, as an outcome, runs ended ERROR |
| `unexplored`   | left unfetched by a limit or an interruption                              |
| `not_fetched`  | any of the three above                                                    |
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from genealogy.graph import roots
from genealogy.jsonvalues import copy_json
from genealogy.matching import fold
from genealogy.nodes import filter_keys


def filter_graph(
    graph: nx.DiGraph,
    outcomes: Iterable[str] | None = None,
    parts: Iterable[str] | None = None,
    keep: Iterable[str] = (),
) -> nx.DiGraph:
    """A copy of the matching units and all their ancestors, with the graph attributes kept.

    Units in `keep` (such as the unit being traced) stay, with their ancestors, match or not.

    `roots` is recomputed for the copy, and graph attribute `filter` records the criteria
    and the matching serials (`matched`), so a renderer can tell matches from context.
    """
    wanted = None if outcomes is None else {o.strip().lower() for o in outcomes}
    part_set = None if parts is None else {fold(part.strip()) for part in parts}
    matched = {
        node
        for node, attrs in graph.nodes(data=True)
        if (wanted is None or filter_keys(attrs) & wanted)
        and (part_set is None or fold(attrs.get("part_number") or "") in part_set)
    }
    kept = _with_ancestors(graph, set(matched) | {node for node in keep if node in graph})
    result = nx.DiGraph()
    result.graph.update(copy_json(graph.graph))
    result.add_nodes_from((n, copy_json(a)) for n, a in graph.nodes(data=True) if n in kept)
    result.add_edges_from(
        (u, v, copy_json(a)) for u, v, a in graph.edges(data=True) if u in kept and v in kept
    )
    result.graph["roots"] = roots(result)
    result.graph["filter"] = {
        "outcomes": None if wanted is None else sorted(wanted),
        "parts": None if parts is None else sorted({part.strip() for part in parts}),
        "matched": sorted(matched),
    }
    return result


def _with_ancestors(graph: nx.DiGraph, nodes: set[str]) -> set[str]:
    """`nodes` and everything above them, in one walk up (linear in the graph's size)."""
    seen = set(nodes)
    stack = list(nodes)
    while stack:
        for parent in graph.predecessors(stack.pop()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen
