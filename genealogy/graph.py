"""The assembly graph: a `networkx.DiGraph`, edge parent -> child, node key = serial number.

Node and graph attributes are plain JSON values (str, int, float, bool, None, lists and dicts
of them), so every export can carry them and node-link JSON loads back into an equal graph.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from genealogy.attributes import unit_attributes
from genealogy.crawler import CrawlResult, Status, UnitState
from genealogy.models import OUTCOMES
from genealogy.perf import paused_gc

NOT_FETCHED = "not_fetched"
UNKNOWN = "unknown"
CLASSES = (*(o.lower() for o in OUTCOMES), UNKNOWN, NOT_FETCHED)
"""Every value of `outcome_class`, in legend order."""


def build_graph(result: CrawlResult) -> nx.DiGraph:
    with paused_gc():
        return _build(result)


def _build(result: CrawlResult) -> nx.DiGraph:
    graph = nx.DiGraph()
    states = sorted(result.units.values(), key=lambda state: state.serial)  # stable exports
    for state in states:
        graph.add_node(state.serial, **node_attributes(state, state.serial == result.start))
    for state in states:
        for parent, child in sorted(_declared_links(state)):
            if parent in result.units and child in result.units:
                _add_link(graph, parent, child, declared_by_parent=parent == state.serial)
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


def _declared_links(state: UnitState) -> list[tuple[str, str]]:
    if state.attrs is not None:
        parent, children = state.attrs["parent_serial"], state.attrs["children_serials"]
    elif state.unit is not None:
        parent = state.unit.parent.serial_number if state.unit.parent else None
        children = [child.serial_number for child in state.unit.children]
    else:
        return []
    links = [(state.serial, child) for child in children]
    if parent is not None:
        links.append((parent, state.serial))
    return links


def _add_link(graph: nx.DiGraph, parent: str, child: str, *, declared_by_parent: bool) -> None:
    """One edge per parent-child pair, recording which side(s) of the link declared it."""
    side = "parent" if declared_by_parent else "child"
    if graph.has_edge(parent, child):
        declared = graph.edges[parent, child]["declared_by"]
        if side not in declared:
            graph.edges[parent, child]["declared_by"] = sorted([*declared, side])
    else:
        graph.add_edge(parent, child, declared_by=[side])


def roots(graph: nx.DiGraph) -> list[str]:
    """Top-level assemblies: units with no parent but themselves."""
    return sorted(
        node for node in graph if all(parent == node for parent in graph.predecessors(node))
    )


def outcome_class(attrs: dict[str, Any]) -> str:
    """The colour class of a node: its run's outcome, `unknown`, or `not_fetched`."""
    if attrs.get("status") != Status.OK:
        return NOT_FETCHED
    outcome = attrs.get("run_outcome")
    return outcome.lower() if outcome in OUTCOMES else UNKNOWN
