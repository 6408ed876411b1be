"""The "plant": a hand-made genealogy with every traceability problem.

The query tests (audit, trace, summary, filters) share it: the `plant_graph` fixture of
tests/conftest.py is the plant from C1, and each module crawls its own scenarios next to it with
`grown`, in memory. `plant_server` serves it over real HTTP for the few tests about what only a
server gives (the 404 text, request counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

import genealogy
from genealogy.localserver import Fault, LocalTofuPilot
from tests.conftest import MakeServer, crawl, fetch_failed
from tests.records import unit

__all__ = ["BAD_REASON", "LATE", "crawl", "grown", "plant", "plant_faults", "plant_server"]
"""`crawl` (over HTTP) lives in tests/conftest.py; it is named here too for older imports."""

LATE = "2026-01-11T12:00:00Z"  # after every run of the default records ended (10:00 the day before)


def plant() -> list[dict[str, Any]]:
    """16 units once crawled from C1 (with BAD failing and GHOST missing).

    R1 (TOP A) lists M1 and M2; R2 (TOP B) lists nothing, but M2 names R2 as its parent.
    M1 (MOD A): C1 (CELL B, FAIL), C2 (CELL A, created late), S1 (its own child), GHOST
    (missing), N1 (no run, names no parent). M2 (MOD B): C3 (CELL A, TIMEOUT), BAD (HTTP 400).
    C2: D1 (ERROR, lists GHOST too), X1. X1 -> X2 -> X3 -> X1 is a cycle; X1 names X3.
    N1: K1, created after N1 (which has no run).
    """
    return [
        unit("R1", children=["M1", "M2"], part="TOP"),
        unit("R2", part="TOP", revision="B"),
        unit("M1", parent="R1", children=["C1", "C2", "S1", "GHOST", "N1"], part="MOD"),
        unit("M2", parent="R2", children=["C3", "BAD"], part="MOD", revision="B"),
        unit("C1", parent="M1", part="CELL", revision="B", outcome="FAIL"),
        unit("C2", parent="M1", children=["D1", "X1"], part="CELL", created_at=LATE),
        unit("C3", parent="M2", part="CELL", outcome="TIMEOUT"),
        unit("D1", parent="C2", children=["GHOST"], part="SUB", outcome="ERROR"),
        unit("S1", parent="M1", children=["S1"], part="SELF"),
        unit("N1", children=["K1"], part="NOP", outcome=None),
        unit("K1", parent="N1", part="KEY", created_at="2026-01-11T00:00:00Z"),
        unit("X1", parent="X3", children=["X2"], part="LOOP"),
        unit("X2", parent="X1", children=["X3"], part="LOOP"),
        unit("X3", parent="X2", children=["X1"], part="LOOP"),
    ]


BAD_REASON = "HTTP 400: BAD_REQUEST: Injected fault"
"""Why BAD is an `error`: the reason the local server's fault (`plant_faults`) gives."""


def plant_faults() -> dict[str, Fault]:
    return {"BAD": Fault(status=400, times=None)}


def grown(records: Iterable[Mapping[str, Any]], start: str, **options: Any) -> nx.DiGraph:
    """The graph a crawl of `records` (with the plant's fault) from `start` gives, built in
    memory: `genealogy.from_records`, then BAD, which has no record, failed as HTTP 400."""
    graph = genealogy.from_records(records, start, **options)
    if graph.has_node("BAD") and graph.nodes["BAD"]["status"] == "not_found":
        fetch_failed(graph, "BAD", BAD_REASON)
    return graph


def plant_server(make_server: MakeServer) -> LocalTofuPilot:
    """The plant served over HTTP, BAD failing with HTTP 400 (`make_server` of conftest)."""
    server = make_server(plant())
    server.faults.update(plant_faults())
    return server
