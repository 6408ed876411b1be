"""`genealogy.queries.filters`: the matching units plus every path above them, as a new graph."""

from __future__ import annotations

import networkx as nx
import pytest

from genealogy.datasets import DEMO_START
from genealogy.queries import filter_graph
from tests.plant import grown, plant
from tests.records import unit

SCENARIOS = [
    unit("OT", children=["OK1", "OK2"]),
    unit("OK1", parent="OT", outcome="SKIPPED"),  # not a documented outcome
    unit("OK2", parent="OT", outcome="pass"),  # lower case: undocumented too
]
RECORDS = [*plant(), *SCENARIOS]


PASSED = {"R1", "R2", "M1", "M2", "C2", "S1", "K1", "X1", "X2", "X3"}


@pytest.mark.parametrize(
    ("outcomes", "parts", "kept", "matched"),
    [
        (["fail"], None, {"C1", "M1", "R1"}, {"C1"}),
        # M2 is under R1 and R2: both paths up are kept
        (["TIMEOUT"], None, {"C3", "M2", "R1", "R2"}, {"C3"}),
        # GHOST hangs under M1 and under D1: every path to it
        (["not_found"], None, {"GHOST", "D1", "C2", "M1", "R1"}, {"GHOST"}),
        # `error` is both the ERROR outcome (D1) and a fetch error (BAD)
        (["Error"], None, {"D1", "C2", "M1", "R1", "BAD", "M2", "R2"}, {"D1", "BAD"}),
        (["unknown"], None, {"N1", "M1", "R1"}, {"N1"}),
        (
            ["not_fetched"],
            None,
            {"GHOST", "D1", "C2", "M1", "R1", "BAD", "M2", "R2"},
            {"GHOST", "BAD"},
        ),
        # a cycle: its units are each other's ancestors, and C2 leads up to R1
        (None, ["LOOP"], {"X1", "X2", "X3", "C2", "M1", "R1"}, {"X1", "X2", "X3"}),
        # both criteria: failed CELL units, not every failure and every CELL
        (["fail"], ["CELL"], {"C1", "M1", "R1"}, {"C1"}),
        # a part number matches in any case, as the service matches it
        (["pass", "unknown"], ["key", "Nop"], {"K1", "N1", "M1", "R1"}, {"K1", "N1"}),
        (["fail"], ["KEY"], set(), set()),
        (["pass"], ["NOPE"], set(), set()),
        (["nothing"], None, set(), set()),
        ([], [], set(), set()),
    ],
)
def test_keeps_matches_and_their_ancestors(
    plant_graph: nx.DiGraph,
    outcomes: list[str] | None,
    parts: list[str] | None,
    kept: set[str],
    matched: set[str],
) -> None:
    result = filter_graph(plant_graph, outcomes=outcomes, parts=parts)
    assert set(result) == kept
    assert set(result.edges) == set(plant_graph.subgraph(kept).edges)
    assert result.graph["filter"]["matched"] == sorted(matched)


def test_no_criteria_keep_everything(plant_graph: nx.DiGraph) -> None:
    result = filter_graph(plant_graph)
    assert set(result) == set(plant_graph)
    assert set(result.edges) == set(plant_graph.edges)
    assert result.graph["filter"] == {
        "outcomes": None,
        "parts": None,
        "matched": sorted(plant_graph),
    }


def test_graph_attributes_are_kept_and_roots_recomputed(plant_graph: nx.DiGraph) -> None:
    result = filter_graph(plant_graph, outcomes=["FAIL"])
    assert plant_graph.graph["roots"] == ["R1", "R2"]
    assert result.graph["roots"] == ["R1"]
    for key in ("start", "direction", "stats", "interrupted", "max_depth", "max_units"):
        assert result.graph[key] == plant_graph.graph[key]
    assert result.graph["filter"] == {"outcomes": ["fail"], "parts": None, "matched": ["C1"]}
    assert result.nodes["C1"] == plant_graph.nodes["C1"]
    assert result.edges["M1", "C1"] == plant_graph.edges["M1", "C1"]


def test_the_result_is_a_copy_sharing_nothing_mutable(plant_graph: nx.DiGraph) -> None:
    before = (dict(plant_graph.graph), {n: dict(a) for n, a in plant_graph.nodes(data=True)})
    result = filter_graph(plant_graph, outcomes=["fail"])
    result.graph["stats"]["units"] = -1
    result.nodes["M1"]["children_serials"].append("X")
    result.edges["M1", "C1"]["declared_by"].append("X")
    result.add_node("NEW")
    assert plant_graph.graph["stats"]["units"] == 16
    assert "X" not in plant_graph.nodes["M1"]["children_serials"]
    assert plant_graph.edges["M1", "C1"]["declared_by"] == ["child", "parent"]
    assert "NEW" not in plant_graph
    assert "filter" not in plant_graph.graph
    assert plant_graph.graph["roots"] == before[0]["roots"]


def test_unknown_covers_undocumented_outcomes_which_also_match_by_name() -> None:
    graph = grown(RECORDS, "OT")
    assert set(filter_graph(graph, outcomes=["unknown"])) == {"OT", "OK1", "OK2"}
    assert set(filter_graph(graph, outcomes=["skipped"])) == {"OT", "OK1"}
    assert set(filter_graph(graph, outcomes=["PASS"])) == {"OT", "OK2"}  # OT: PASS; OK2: pass


def test_demo_only_the_paths_to_failures(demo_graph: nx.DiGraph) -> None:
    result = filter_graph(demo_graph, outcomes=["fail", "error", "timeout", "aborted"])
    assert set(result) == {
        "ESS-R48-0007",
        "MOD-16S-0312",
        "CELL-21700-C-0118",
        DEMO_START,
        "MOD-16S-0313",
        "MOD-16S-0314",
        "CELL-21700-C-0157",
        "BMS-R48-0031",
        "PCB-CTR-1180",
    }
    assert result.graph["roots"] == ["ESS-R48-0007"]
    assert result.graph["start"] == DEMO_START
    assert nx.is_weakly_connected(result)
    old = filter_graph(demo_graph, parts=["CELL-21700"], outcomes=None)
    assert len(old) == 65 + 4 + 1  # every cell, with the missing one; their modules; the rack
