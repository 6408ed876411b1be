"""`genealogy.queries.summary`: counts, depth, fan-out and crawl stats of a crawled graph.

Graphs are built in memory (`genealogy.from_records`: no requests, so the stats count none);
the stats of a real crawl are checked on the demo crawled over HTTP.
"""

from __future__ import annotations

import json

import networkx as nx

from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.localserver import LocalTofuPilot
from genealogy.queries import format_summary, summarise
from tests.conftest import crawl
from tests.plant import grown, plant
from tests.records import unit

SCENARIOS = [
    # QT -> QA -> QB <-> QC: the cycle counts as one level, so the depth is 2
    unit("QT", children=["QA"]),
    unit("QA", parent="QT", children=["QB"]),
    unit("QB", parent="QA", children=["QC"]),
    unit("QC", parent="QB", children=["QB"]),
    # PA <-> PB: no top-level assembly at all
    unit("PA", parent="PB", children=["PB"]),
    unit("PB", parent="PA", children=["PA"]),
    # a unit whose only child is itself, under a top with one child
    unit("ST", children=["SS"]),
    unit("SS", parent="ST", children=["SS"]),
]
RECORDS = [*plant(), *SCENARIOS]


def test_plant_summary(plant_graph: nx.DiGraph) -> None:
    summary = summarise(plant_graph, findings_count=16)
    assert summary.units == 16
    assert summary.roots == ("R1", "R2")
    assert summary.depth == 4  # R1 -> M1 -> C2 -> D1 -> GHOST
    assert (summary.widest_serial, summary.widest_children) == ("M1", 5)
    assert summary.by_status == {"ok": 14, "error": 1, "not_found": 1}
    assert summary.by_outcome == {"PASS": 10, "ERROR": 1, "FAIL": 1, "TIMEOUT": 1, "unknown": 1}
    assert summary.by_part == (
        ("CELL", 3),
        ("LOOP", 3),
        ("MOD", 2),
        ("P-1", 2),  # GHOST and BAD, as M1's and M2's records describe them
        ("TOP", 2),
        ("KEY", 1),
        ("NOP", 1),
        ("SELF", 1),
        ("SUB", 1),
    )
    assert summary.by_revision == (
        ("CELL", "A", 2),
        ("CELL", "B", 1),
        ("KEY", "A", 1),
        ("LOOP", "A", 3),
        ("MOD", "A", 1),
        ("MOD", "B", 1),
        ("NOP", "A", 1),
        ("P-1", "A", 2),
        ("SELF", "A", 1),
        ("SUB", "A", 1),
        ("TOP", "A", 1),
        ("TOP", "B", 1),
    )
    assert summary.stats["requests"] == 0  # built in memory: see test_demo_summary
    assert summary.stats["units"] == 16
    assert summary.findings == 16
    assert summarise(plant_graph).findings is None


def test_a_cycle_counts_as_one_level() -> None:
    summary = summarise(grown(RECORDS, "QT"))
    assert (summary.units, summary.roots, summary.depth) == (4, ("QT",), 2)


def test_a_graph_that_is_only_a_cycle_has_no_root_and_depth_zero() -> None:
    summary = summarise(grown(RECORDS, "PA"))
    assert (summary.units, summary.roots, summary.depth) == (2, (), 0)
    assert (summary.widest_serial, summary.widest_children) == ("PA", 1)  # a tie: smaller serial


def test_self_loops_add_neither_depth_nor_children() -> None:
    graph = grown(RECORDS, "ST")
    assert graph.has_edge("SS", "SS")
    summary = summarise(graph)
    assert (summary.depth, summary.widest_serial, summary.widest_children) == (1, "ST", 1)


def test_demo_summary(server: LocalTofuPilot) -> None:
    """Over HTTP: the stats count the requests the crawl made."""
    graph = crawl(server, DEMO_START)
    summary = summarise(graph)
    assert (summary.units, summary.roots, summary.depth) == (80, ("ESS-R48-0007",), 3)
    assert (summary.widest_serial, summary.widest_children) == ("MOD-16S-0312", 18)
    assert summary.by_status == {"ok": 79, "not_found": 1}
    assert summary.by_outcome == {
        "PASS": 74,
        "ABORTED": 1,
        "ERROR": 1,
        "FAIL": 1,
        "TIMEOUT": 1,
        "unknown": 1,
    }
    assert summary.by_part[0] == ("CELL-21700", 65)  # with the missing one, as referenced
    assert graph.nodes[MISSING_SERIAL]["part_number"] == "CELL-21700"
    cells = [row for row in summary.by_revision if row[0] == "CELL-21700"]
    assert cells == [("CELL-21700", "B", 1), ("CELL-21700", "C", 64)]
    assert summary.stats["requests"] == 80
    assert summary.to_dict()["stats"]["requests"] == 80
    crawl_line = format_summary(summary).splitlines()[4]
    assert crawl_line.startswith("crawl: 80 requests, 0 retries, 0 from cache, ")


def test_to_dict_is_plain_json(plant_graph: nx.DiGraph) -> None:
    data = json.loads(json.dumps(summarise(plant_graph, 3).to_dict()))
    assert data["units"] == 16
    assert data["roots"] == 2
    assert data["root_serials"] == ["R1", "R2"]
    assert data["depth"] == 4
    assert data["widest"] == {"serial": "M1", "children": 5}
    assert data["by_part"][0] == {"part_number": "CELL", "units": 3}
    assert data["by_revision"][1] == {"part_number": "CELL", "revision": "B", "units": 1}
    assert data["by_outcome"]["PASS"] == 10
    assert data["by_status"] == {"ok": 14, "error": 1, "not_found": 1}
    assert data["stats"]["requests"] == 0  # built in memory: see test_demo_summary
    assert data["findings"] == 3


def test_format_text(plant_graph: nx.DiGraph) -> None:
    lines = format_summary(summarise(plant_graph, 16)).splitlines()
    assert lines[:4] == [
        "16 units in 2 top-level assemblies (R1, R2), depth 4, widest M1 (5 children)",
        "status: 14 ok, 1 error, 1 not found",
        "outcomes: 10 PASS, 1 ERROR, 1 FAIL, 1 TIMEOUT, 1 unknown",
        "parts: 3 CELL (rev A: 2, rev B: 1), 3 LOOP rev A, 2 MOD (rev A: 1, rev B: 1), "
        "2 P-1 rev A, 2 TOP (rev A: 1, rev B: 1), 1 KEY rev A, 1 NOP rev A, 1 SELF rev A, "
        "1 SUB rev A",
    ]
    assert lines[4].startswith("crawl: 0 requests, 0 retries, 0 from cache, ")  # in memory
    assert lines[5] == "findings: 16"
    assert len(lines) == 6
    assert "findings" not in format_summary(summarise(plant_graph))


def test_format_text_makes_data_printable() -> None:
    graph = grown(RECORDS, "PA")
    graph.nodes["PA"]["part_number"] = "EVIL\x1b]0;title\x07"  # a private copy: built here
    text = format_summary(summarise(graph))
    assert "\x1b" not in text and "\x07" not in text
    assert "1 EVIL\\x1b]0;title\\x07 rev A" in text
