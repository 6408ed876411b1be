"""`genealogy.queries.trace`: every path up to every top-level assembly, and the problems there.

Uses the plant of `tests/plant.py` (two tops sharing M2, the X1 -> X2 -> X3 cycle under C2,
failures at several depths, GHOST missing and BAD failing to fetch), built in memory; the text
report of a unit the server answered 404 for is checked on the plant crawled over HTTP.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import pytest

from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.errors import GenealogyError
from genealogy.queries import UnknownSerial, format_trace, trace
from genealogy.queries.trace import Trace
from tests.conftest import MakeServer, crawl
from tests.plant import grown, plant, plant_server
from tests.records import unit

SCENARIOS = [
    # D reaches the top through B and through C: a diamond, so two paths to one top
    unit("DA", children=["DB", "DC"]),
    unit("DB", parent="DA", children=["DD"]),
    unit("DC", parent="DA", children=["DD"]),
    unit("DD", parent="DB", outcome="FAIL"),
    # control characters in data text
    unit("EV-TOP", children=["EV-K"], part="TOP\x1b[31m", revision="A\nB"),
    unit("EV-K", parent="EV-TOP", outcome="FAIL\u202e"),
]
RECORDS = [*plant(), *SCENARIOS]


def paths(result: Trace) -> list[tuple[tuple[str, ...], str]]:
    return [(path.serials, path.end) for path in result.paths]


def problems(result: Trace) -> dict[str, tuple[str, str | None, tuple[tuple[str, ...], ...]]]:
    return {p.serial: (p.kind, p.detail, p.paths) for p in result.problems}


PLANT_PROBLEMS = {
    "BAD": ("fetch_error", "HTTP 400: BAD_REQUEST: Injected fault", (("BAD", "M2", "R1"),)),
    "C1": ("failed", "FAIL", (("C1", "M1", "R1"),)),
    "C3": ("errored", "TIMEOUT", (("C3", "M2", "R1"),)),
    "D1": ("errored", "ERROR", (("D1", "C2", "M1", "R1"),)),
    "GHOST": ("not_found", None, (("GHOST", "M1", "R1"),)),  # detail checked apart
}


def test_a_unit_under_two_top_level_assemblies_has_a_path_to_each(
    plant_graph: nx.DiGraph,
) -> None:
    result = trace(plant_graph, "C3")
    assert paths(result) == [(("C3", "M2", "R1"), "root"), (("C3", "M2", "R2"), "root")]
    assert result.tops == ("R1", "R2")
    assert not result.truncated
    found = problems(result)
    assert set(found) == {"BAD", "C1", "C3", "D1", "GHOST"}  # N1 (no run) is not a problem
    # the units under both tops have a path to each, the others to R1 only
    assert found["C3"][2] == (("C3", "M2", "R1"), ("C3", "M2", "R2"))
    assert found["BAD"][2] == (("BAD", "M2", "R1"), ("BAD", "M2", "R2"))
    for serial in ("C1", "D1"):
        assert found[serial] == PLANT_PROBLEMS[serial]
    assert found["GHOST"][:2] == ("not_found", "not among the records given")
    assert found["GHOST"][2] == (("GHOST", "M1", "R1"),)  # the shortest of its two paths


def test_steps_identify_each_unit(plant_graph: nx.DiGraph) -> None:
    steps = trace(plant_graph, "C3").paths[1].steps
    assert [
        (s.serial, s.part_number, s.part_name, s.revision, s.outcome, s.status) for s in steps
    ] == [
        ("C3", "CELL", "Part CELL", "A", "TIMEOUT", "ok"),
        ("M2", "MOD", "Part MOD", "B", "PASS", "ok"),
        ("R2", "TOP", "Part TOP", "B", "PASS", "ok"),
    ]


def test_a_cycle_ends_its_path_at_the_repeated_unit(plant_graph: nx.DiGraph) -> None:
    result = trace(plant_graph, "X2")
    assert paths(result) == [
        (("X2", "X1", "C2", "M1", "R1"), "root"),
        (("X2", "X1", "X3", "X2"), "cycle"),
    ]
    assert result.tops == ("R1", "X2")
    assert set(problems(result)) == {"BAD", "C1", "C3", "D1", "GHOST"}


def test_a_unit_referenced_twice_is_explained_through_each_referrer(
    plant_graph: nx.DiGraph,
) -> None:
    result = trace(plant_graph, "GHOST")
    assert paths(result) == [
        (("GHOST", "D1", "C2", "M1", "R1"), "root"),
        (("GHOST", "M1", "R1"), "root"),
    ]
    assert result.paths[0].steps[0].status == "not_found"


def test_a_self_parent_is_traced_through_its_real_parent(plant_graph: nx.DiGraph) -> None:
    assert paths(trace(plant_graph, "S1")) == [(("S1", "M1", "R1"), "root")]


def test_a_top_level_assembly_is_its_own_single_path(plant_graph: nx.DiGraph) -> None:
    result = trace(plant_graph, "R2")
    assert paths(result) == [(("R2",), "root")]
    assert set(problems(result)) == {"BAD", "C3"}  # only what R2 holds
    assert problems(result)["C3"][2] == (("C3", "M2", "R2"),)


def test_a_diamond_gives_two_paths_to_the_same_top() -> None:
    result = trace(grown(RECORDS, "DD"), "DD")
    assert paths(result) == [(("DD", "DB", "DA"), "root"), (("DD", "DC", "DA"), "root")]
    assert result.tops == ("DA",)
    assert problems(result) == {"DD": ("failed", "FAIL", (("DD", "DB", "DA"),))}


def test_max_paths_truncates() -> None:
    result = trace(grown(RECORDS, "DD"), "DD", max_paths=1)
    assert paths(result) == [(("DD", "DB", "DA"), "root")]
    assert result.truncated
    assert (
        format_trace(result).split("\n\n")[1]
        == "... 1 more path not shown: only the first 1 is listed"
    )


def test_a_top_whose_parent_was_not_crawled_ends_unknown() -> None:
    down = grown(RECORDS, "M2", direction="down")  # M2 names R2, never fetched
    assert paths(trace(down, "C3")) == [(("C3", "M2"), "unknown")]
    limited = grown(RECORDS, "C3", max_depth=1)  # R2 referenced, not fetched
    result = trace(limited, "C3")
    assert paths(result) == [(("C3", "M2", "R2"), "unknown")]
    assert result.paths[0].steps[-1].status == "unexplored"
    assert set(problems(result)) == {"C3"}  # BAD is unexplored here: not a problem


def test_an_unknown_serial_raises_a_key_error_that_says_so(plant_graph: nx.DiGraph) -> None:
    with pytest.raises(KeyError) as caught:
        trace(plant_graph, "NOPE\x1b")
    assert isinstance(caught.value, UnknownSerial)
    assert isinstance(caught.value, GenealogyError)
    assert caught.value.serial == "NOPE\x1b"
    assert str(caught.value).startswith("Unit 'NOPE\\\\x1b' is not in the crawled assembly")


def test_format_text_draws_each_path_as_an_indented_chain(make_server: MakeServer) -> None:
    # over HTTP: the server's 404 reason already says "not found", which is then not repeated
    text = format_trace(trace(crawl(plant_server(make_server), "C1"), "C3"))
    blocks = text.split("\n\n")
    assert blocks[0] == (
        "C3 (CELL rev A, TIMEOUT)\n└─ in M2 (MOD rev B, PASS)\n   └─ in R1 (TOP rev A, PASS)"
    )
    assert blocks[1] == (
        "C3 (CELL rev A, TIMEOUT)\n└─ in M2 (MOD rev B, PASS)\n   └─ in R2 (TOP rev B, PASS)"
    )
    assert blocks[2].splitlines() == [
        "Problems in the same top-level assemblies (5):",
        "  ✗ BAD (P-1 rev A): fetch error: HTTP 400: BAD_REQUEST: Injected fault",
        "      BAD → M2 → R1",
        "      BAD → M2 → R2",
        "  ✗ C1 (CELL rev B): failed: FAIL",
        "      C1 → M1 → R1",
        "  ✗ C3 (CELL rev A): errored: TIMEOUT",
        "      C3 → M2 → R1",
        "      C3 → M2 → R2",
        "  ✗ D1 (SUB rev A): errored: ERROR",
        "      D1 → C2 → M1 → R1",
        "  ✗ GHOST (P-1 rev A): not found (404: NOT_FOUND: Unit not found: GHOST)",
        "      GHOST → M1 → R1",
    ]
    assert len(blocks) == 3


def test_format_text_ascii_and_path_ends(plant_graph: nx.DiGraph) -> None:
    text = format_trace(trace(plant_graph, "X2"), charset="ascii")
    assert text.isascii()
    assert text.split("\n\n")[1] == (
        "X2 (LOOP rev A, PASS)\n"
        "`- in X1 (LOOP rev A, PASS)\n"
        "   `- in X3 (LOOP rev A, PASS)\n"
        "      `- in X2 (LOOP rev A, PASS)  [cycle: X2 is already on this path]"
    )
    assert "  x C1 (CELL rev B): failed: FAIL\n      C1 -> M1 -> R1" in text
    assert format_trace(trace(plant_graph, "R2")).startswith(
        "R2 (TOP rev B, PASS)  [top-level assembly]\n\n"
    )
    assert format_trace(trace(plant_graph, "N1")).startswith("N1 (NOP rev A, no run)\n")


def test_format_text_makes_data_printable() -> None:
    text = format_trace(trace(grown(RECORDS, "EV-K"), "EV-K"))
    assert "\x1b" not in text and "\u202e" not in text
    assert text.splitlines()[:2] == [
        "EV-K (P-1 rev A, FAIL\\u202e)",
        "└─ in EV-TOP (TOP\\x1b[31m rev A\\x0aB, PASS)",
    ]


def test_an_undocumented_outcome_is_no_problem() -> None:
    result = trace(grown(RECORDS, "EV-TOP"), "EV-TOP")
    assert result.problems == ()
    assert format_trace(result).endswith("\n\nNo problems in the same top-level assemblies.")


def test_demo_trace_from_the_failed_cell(demo_graph: nx.DiGraph) -> None:
    result = trace(demo_graph, DEMO_START)
    assert paths(result) == [((DEMO_START, "MOD-16S-0313", "ESS-R48-0007"), "root")]
    found = problems(result)
    assert {serial: kind_detail[:2] for serial, kind_detail in found.items()} == {
        "CELL-21700-C-0118": ("errored", "TIMEOUT"),
        DEMO_START: ("failed", "FAIL"),
        "CELL-21700-C-0157": ("errored", "ABORTED"),
        MISSING_SERIAL: ("not_found", "not among the records given"),
        "PCB-CTR-1180": ("errored", "ERROR"),
    }  # not the cell without a run (CELL-21700-C-0125)
    assert found["PCB-CTR-1180"][2] == (("PCB-CTR-1180", "BMS-R48-0031", "ESS-R48-0007"),)
    assert found[MISSING_SERIAL][2] == ((MISSING_SERIAL, "MOD-16S-0312", "ESS-R48-0007"),)
    step = result.paths[0].steps[0]
    assert (step.part_name, step.batch) == ("21700 Li-ion Cell 5 Ah", "CELL-LOT-2604")
    assert format_trace(result).startswith(
        f"{DEMO_START} (CELL-21700 rev C, FAIL)\n"
        "└─ in MOD-16S-0313 (MOD-16S rev C, PASS)\n"
        "   └─ in ESS-R48-0007 (ESS-R48 rev B, PASS)\n\n"
    )


def test_to_dict_is_plain_json(plant_graph: nx.DiGraph) -> None:
    result = trace(plant_graph, "X2")
    data: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    assert data["serial"] == "X2"
    assert data["tops"] == ["R1", "X2"]
    assert data["truncated"] is False
    assert [path["end"] for path in data["paths"]] == ["root", "cycle"]
    assert data["paths"][1]["steps"][0] == {
        "state": "PASS",
        "serial": "X2",
        "part_number": "LOOP",
        "part_name": "Part LOOP",
        "revision": "A",
        "batch": None,
        "outcome": "PASS",
        "status": "ok",
        "run_count": None,  # no run history in the plant
        "latest_outcome": None,
        "runs": None,
    }
    assert data["problems"][0] == {
        "serial": "BAD",
        "part_number": "P-1",
        "part_name": "Part P-1",
        "revision": "A",
        "kind": "fetch_error",
        "detail": "HTTP 400: BAD_REQUEST: Injected fault",
        "paths": [["BAD", "M2", "R1"]],
    }
