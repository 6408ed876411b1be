"""The "plant": a hand-made genealogy with every traceability problem, served over real HTTP.

The query tests (audit, trace, summary, filters) share it; each module adds its own scenarios
and gets one server for the whole module, since stopping a server takes a moment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import networkx as nx
import pytest

from genealogy.graph import build_graph
from genealogy.localserver import Fault, LocalTofuPilot
from genealogy.runner import CrawlOptions, run_crawl
from tests.conftest import API_KEY
from tests.records import unit

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


def plant_faults() -> dict[str, Fault]:
    return {"BAD": Fault(status=400, times=None)}


def serve(records: list[dict[str, Any]], faults: dict[str, Fault] | None = None) -> LocalTofuPilot:
    """A started local server; module fixtures share one, as stopping one takes ~0.5 s."""
    server = LocalTofuPilot(records, api_key=API_KEY).start()
    server.faults.update(faults or {})
    return server


def crawl(server: LocalTofuPilot, start: str, **options: Any) -> nx.DiGraph:
    """Crawl from `start` over HTTP and build the graph."""
    result = run_crawl(start, CrawlOptions(base_url=server.url, api_key=API_KEY, **options))
    return build_graph(result)


def plant_fixtures(
    scenarios: list[dict[str, Any]],
) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Module fixtures `site` (the plant plus `scenarios`, served) and `plant_graph` (from C1)."""

    @pytest.fixture(scope="module")
    def site() -> Iterator[LocalTofuPilot]:
        server = serve([*plant(), *scenarios], plant_faults())
        yield server
        server.stop()

    @pytest.fixture(scope="module")
    def plant_graph(site: LocalTofuPilot) -> nx.DiGraph:
        """The plant crawled from C1; shared, so no test may change it."""
        return crawl(site, "C1")

    return site, plant_graph
