"""The assembly graph: a `networkx.DiGraph`, edge parent -> child, node key = serial number.

Node and graph attributes are plain JSON values (str, int, float, bool, None, lists and dicts
of them), so every export can carry them and node-link JSON loads back into an equal graph.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from genealogy.attributes import unit_attributes
from genealogy.crawler import CrawlResult, UnitState
from genealogy.matching import fold
from genealogy.perf import paused_gc


def build_graph(result: CrawlResult) -> nx.DiGraph:
    with paused_gc():
        return _build(result)


def _build(result: CrawlResult) -> nx.DiGraph:
    graph = nx.DiGraph()
    states = sorted(result.units.values(), key=lambda state: state.serial)  # stable exports
    nodes = {fold(state.serial): state.serial for state in states}
    starts = {result.start, *result.starts}
    rows = [(state.serial, node_attributes(state, state.serial in starts)) for state in states]
    for _, attrs in rows:
        _name_links_by_node(attrs, nodes)
    graph.add_nodes_from(rows)  # in one call: no copy through keyword arguments
    sides: dict[tuple[str, str], set[str]] = {}  # each link, and who declared it
    for serial, attrs in rows:
        for parent, child in sorted(_declared_links(serial, attrs)):
            if parent in graph and child in graph:
                sides.setdefault((parent, child), set()).add(
                    "parent" if parent == serial else "child"
                )
    graph.add_edges_from(
        (parent, child, {"declared_by": sorted(declared)})
        for (parent, child), declared in sides.items()
    )
    graph.graph.update(
        start=result.start,
        direction=str(result.direction),
        roots=roots(graph),
        interrupted=result.interrupted,
        max_depth=result.limits.max_depth,
        max_units=result.limits.max_units,
        stats={
            "units": graph.number_of_nodes(),
            "requests": result.counters.requests,
            "retries": result.counters.retries,
            "cache_hits": result.counters.cache_hits,
            "seconds": round(result.seconds, 3),
        },
    )
    return graph


def node_attributes(state: UnitState, is_start: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "status": str(state.status),
        "reason": state.reason,
        "start": is_start,
        "depth": state.depth,
        "cached": state.cached,
    }
    if state.attrs is not None:
        attrs.update(state.attrs)
        return attrs
    unit = state.unit
    if unit is None:
        part = state.ref.part if state.ref else None
        revision = part.revision if part else None
        attrs.update(
            part_number=part.number if part else None,
            part_name=part.name if part else None,
            revision=revision.number if revision else None,
        )
        return attrs
    attrs.update(unit_attributes(unit, state.serial))
    return attrs


def _name_links_by_node(attrs: dict[str, Any], nodes: dict[str, str]) -> None:
    """`parent_serial` and `children_serials` spelled as the nodes they lead to: a record may
    name a unit in another case than the unit's own record (the service matches either)."""
    if "parent_serial" not in attrs:
        return
    parent = attrs["parent_serial"]
    if parent is not None:
        attrs["parent_serial"] = nodes.get(fold(parent), parent)
    attrs["children_serials"] = [nodes.get(fold(c), c) for c in attrs["children_serials"]]


def _declared_links(serial: str, attrs: dict[str, Any]) -> list[tuple[str, str]]:
    if "parent_serial" not in attrs:
        return []
    links = [(serial, child) for child in attrs["children_serials"]]
    if attrs["parent_serial"] is not None:
        links.append((attrs["parent_serial"], serial))
    return links


def roots(graph: nx.DiGraph) -> list[str]:
    """Top-level assemblies: units with no parent but themselves."""
    return sorted(
        node for node in graph if all(parent == node for parent in graph.predecessors(node))
    )
