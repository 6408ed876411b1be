"""`genealogy.queries.trace`: every path up to every top-level assembly, the structure on the
paths, and (asked for) the problems there, grouped by kind.

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
from genealogy.queries import UnknownSerial, format_trace, trace, trace_many
from genealogy.queries.trace import Trace, problems_under
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
    assert result.problems is not None, "asked for with problems=True"
    return {p.serial: (p.kind, p.detail, p.paths) for p in result.problems.all}


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
    result = trace(plant_graph, "C3", problems=True)
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
    result = trace(plant_graph, "X2", problems=True)
    assert paths(result) == [
        (("X2", "X1", "C2", "M1", "R1"), "root"),
        (("X2", "X1", "X3", "X2"), "cycle"),
    ]
    assert result.tops == ("R1",)  # X2 is where the loop closes, no top-level assembly
    assert result.reached == ("R1", "X2")
    assert set(problems(result)) == {"BAD", "C1", "C3", "D1", "GHOST"}
    cycle = result.paths[1].flags[0]
    assert (cycle.kind, cycle.serials) == ("cycle", ("X2", "X1", "X3", "X2"))
    assert cycle.message == (
        "assembly cycle: X1 contains X2, X3 contains X1, X2 contains X3; "
        "no top-level assembly is above them"
    )
    assert cycle in result.flags


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
    result = trace(plant_graph, "S1")
    assert paths(result) == [(("S1", "M1", "R1"), "root")]
    # S1 lists itself as a child: flagged, though its real parent makes it no top
    assert [(f.kind, f.serials, f.message) for f in result.flags] == [
        ("self_parent", ("S1",), "S1's record names itself among its children")
    ]


def test_a_top_level_assembly_is_its_own_single_path(plant_graph: nx.DiGraph) -> None:
    result = trace(plant_graph, "R2", problems=True)
    assert paths(result) == [(("R2",), "root")]
    assert set(problems(result)) == {"BAD", "C3"}  # only what R2 holds
    assert problems(result)["C3"][2] == (("C3", "M2", "R2"),)


def test_a_diamond_gives_two_paths_to_the_same_top() -> None:
    result = trace(grown(RECORDS, "DD"), "DD", problems=True)
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
    result = trace(limited, "C3", problems=True)
    assert paths(result) == [(("C3", "M2", "R2"), "unknown")]
    assert result.paths[0].steps[-1].status == "unexplored"
    assert set(problems(result)) == {"C3"}  # BAD is unexplored here: not a problem
    assert result.problems is not None
    assert (result.problems.units, result.problems.unexplored) == (2, 2)  # R2, BAD not looked at


def test_an_unknown_serial_raises_a_key_error_that_says_so(plant_graph: nx.DiGraph) -> None:
    with pytest.raises(KeyError) as caught:
        trace(plant_graph, "NOPE\x1b")
    assert isinstance(caught.value, UnknownSerial)
    assert isinstance(caught.value, GenealogyError)
    assert caught.value.serial == "NOPE\x1b"
    assert str(caught.value).startswith("Unit 'NOPE\\\\x1b' is not in the crawled assembly")


def test_format_text_draws_each_path_as_an_indented_chain(make_server: MakeServer) -> None:
    # over HTTP: the problems grouped by kind, worst first; -v gives each with its paths
    found = trace(crawl(plant_server(make_server), "C1"), "C3", problems=True)
    blocks = format_trace(found).split("\n\n")
    run = "Functional test, 2026-01-10"
    assert blocks[0] == (
        f"C3 (CELL rev A, TIMEOUT; {run})\n└─ in M2 (MOD rev B, PASS; {run})\n"
        f"   └─ in R1 (TOP rev A, PASS; {run})"
    )
    assert blocks[1] == (
        f"C3 (CELL rev A, TIMEOUT; {run})\n└─ in M2 (MOD rev B, PASS; {run})\n"
        f"   └─ in R2 (TOP rev B, PASS; {run})"
    )
    assert blocks[2] == (  # R1 lists M2, whose record names R2, which does not list it
        "Structural problems on these paths (1):\n"
        "  ✗ contradiction: the records contradict each other about the parent of M2: "
        "R1's record lists M2 as a child; M2's record names R2 as its parent, but R2's "
        "record does not list it"
    )
    assert blocks[3].splitlines() == [
        "Problems inside R1, R2: 5 (16 units looked at):",
        "  ✗ 1 failed (FAIL)",
        "      C1",
        "  ✗ 2 errored (ERROR, TIMEOUT or ABORTED: no verdict)",
        "      C3, D1",
        "  ✗ 1 not found (named by a record, unknown to the API)",
        "      GHOST",
        "  ✗ 1 could not be fetched",
        "      BAD",
    ]
    assert len(blocks) == 4
    verbose = format_trace(found, verbose=True).split("\n\n")[3].splitlines()
    assert verbose[1:] == [
        "  ✗ 1 failed (FAIL)",
        "      C1 (CELL rev B): FAIL",
        "        C1 → M1 → R1",
        "  ✗ 2 errored (ERROR, TIMEOUT or ABORTED: no verdict)",
        "      C3 (CELL rev A): TIMEOUT",
        "        C3 → M2 → R1",
        "        C3 → M2 → R2",
        "      D1 (SUB rev A): ERROR",
        "        D1 → C2 → M1 → R1",
        "  ✗ 1 not found (named by a record, unknown to the API)",
        "      GHOST (P-1 rev A): not found (404: NOT_FOUND: Unit not found: GHOST)",
        "        GHOST → M1 → R1",
        "  ✗ 1 could not be fetched",
        "      BAD (P-1 rev A): HTTP 400: BAD_REQUEST: Injected fault",
        "        BAD → M2 → R1",
        "        BAD → M2 → R2",
    ]
    # without problems=True: no list, one line saying how to get it
    assert format_trace(trace(crawl(plant_server(make_server), "C1"), "C3")).endswith(
        "\n\nProblems inside R1, R2: not looked at (--problems crawls them and lists them)."
    )


def test_format_text_ascii_and_path_ends(plant_graph: nx.DiGraph) -> None:
    text = format_trace(trace(plant_graph, "X2"), charset="ascii")
    assert text.isascii()
    run = "Functional test, 2026-01-10"
    assert text.split("\n\n")[1] == (
        f"X2 (LOOP rev A, PASS; {run})\n"
        f"`- in X1 (LOOP rev A, PASS; {run})\n"
        f"   `- in X3 (LOOP rev A, PASS; {run})\n"
        f"      `- in X2 (LOOP rev A, PASS; {run})  [cycle: X2 is already on this path]"
    )
    assert text.split("\n\n")[2] == (
        "Structural problems on these paths (2):\n"
        "  x cycle: assembly cycle: X1 contains X2, X3 contains X1, X2 contains X3; "
        "no top-level assembly is above them\n"
        "  x contradiction: the records contradict each other about the parent of X1: "
        "C2's record lists X1 as a child; X1's record names X3 as its parent"
    )
    verbose = format_trace(trace(plant_graph, "X2", problems=True), charset="ascii", verbose=True)
    assert "  x 1 failed (FAIL)\n      C1 (CELL rev B): FAIL\n        C1 -> M1 -> R1" in verbose
    assert format_trace(trace(plant_graph, "R2")).startswith(
        f"R2 (TOP rev B, PASS; {run})  [top-level assembly]\n\n"
    )
    assert format_trace(trace(plant_graph, "N1")).startswith("N1 (NOP rev A, no run)\n")


def test_format_text_makes_data_printable() -> None:
    text = format_trace(trace(grown(RECORDS, "EV-K"), "EV-K"))
    assert "\x1b" not in text and "\u202e" not in text
    assert text.splitlines()[:2] == [
        "EV-K (P-1 rev A, FAIL\\u202e; Functional test, 2026-01-10)",
        "└─ in EV-TOP (TOP\\x1b[31m rev A\\x0aB, PASS; Functional test, 2026-01-10)",
    ]


def test_an_undocumented_outcome_is_no_problem() -> None:
    result = trace(grown(RECORDS, "EV-TOP"), "EV-TOP", problems=True)
    assert result.problems is not None and result.problems.groups == ()
    assert format_trace(result).endswith(
        "\n\nNo failed, errored or missing units inside EV-TOP (2 units looked at)."
    )


def test_demo_trace_from_the_failed_cell(demo_graph: nx.DiGraph) -> None:
    result = trace(demo_graph, DEMO_START, problems=True)
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
        f"{DEMO_START} (CELL-21700 rev C, batch CELL-LOT-2604, FAIL; "
        "Cell grading (OCV/IR) at Cell Grader 2, 2026-03-02)\n"
        "└─ in MOD-16S-0313 (MOD-16S rev C, PASS; Module EOL test at Module Line 1, "
        "2026-03-03)\n"
        "   └─ in ESS-R48-0007 (ESS-R48 rev B, PASS; Rack end-of-line test at EOL Station 2, "
        "2026-03-05)\n\n"
    )


def test_to_dict_is_plain_json(plant_graph: nx.DiGraph) -> None:
    assert trace(plant_graph, "X2").to_dict()["problems"] is None  # not asked for
    result = trace(plant_graph, "X2", problems=True)
    data: dict[str, Any] = json.loads(json.dumps(result.to_dict()))
    assert data["serial"] == "X2"
    assert data["tops"] == ["R1"] and data["reached"] == ["R1", "X2"]
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
        "run": "creating",  # so the creating run, from the unit's record
        "procedure": "Functional test",
        "station": None,
        "date": "2026-01-10T09:55:00+00:00",
    }
    assert [flag["kind"] for flag in data["flags"]] == ["cycle", "contradiction"]
    assert data["paths"][1]["flags"][0] == {
        "kind": "cycle",
        "serials": ["X2", "X1", "X3", "X2"],
        "message": "assembly cycle: X1 contains X2, X3 contains X1, X2 contains X3; "
        "no top-level assembly is above them",
    }
    report = data["problems"]
    assert report["tops"] == ["R1", "X2"]
    assert (report["count"], report["units_looked_at"], report["unexplored"]) == (5, 15, 0)  # no R2
    assert report["by_kind"] == {"failed": 1, "errored": 2, "not_found": 1, "fetch_error": 1}
    assert [group["kind"] for group in report["groups"]] == list(report["by_kind"])
    assert report["groups"][3]["units"][0] == {
        "serial": "BAD",
        "part_number": "P-1",
        "part_name": "Part P-1",
        "revision": "A",
        "kind": "fetch_error",
        "detail": "HTTP 400: BAD_REQUEST: Injected fault",
        "paths": [["BAD", "M2", "R1"]],
    }


# --- structure on the paths, several units, problems_under ---------------------------------------

STRUCTURE = [
    # SELF-1 names itself as its parent: no top-level assembly above it is known
    unit("SELF-1", parent="SELF-1", part="SELF"),
    # two units list TWIN, whose record names the first
    unit("TW-P1", children=["TWIN"]),
    unit("TW-P2", children=["TWIN"]),
    unit("TWIN", parent="TW-P1"),
    # ORPHAN names no parent, yet OR-P lists it
    unit("OR-P", children=["ORPHAN"]),
    unit("ORPHAN"),
]


def test_a_unit_that_is_its_own_parent_is_no_top_level_assembly() -> None:
    result = trace(grown(STRUCTURE, "SELF-1"), "SELF-1", problems=True)
    assert paths(result) == [(("SELF-1",), "self_parent")]
    assert [(flag.kind, flag.serials) for flag in result.flags] == [("self_parent", ("SELF-1",))]
    assert result.flags[0].message == (
        "SELF-1's record names itself as its parent: it is not a top-level assembly"
    )
    text = format_trace(result)
    assert "[top-level assembly]" not in text
    assert text.splitlines()[0].endswith(
        "  [not a top-level assembly: its record names itself as its parent]"
    )
    assert "  ✗ self-parent: SELF-1's record names itself as its parent" in text


def test_two_parents_claiming_a_unit_contradict_each_other() -> None:
    result = trace(grown(STRUCTURE, "TW-P2"), "TWIN")
    assert paths(result) == [(("TWIN", "TW-P1"), "root"), (("TWIN", "TW-P2"), "root")]
    (flag,) = result.flags
    assert (flag.kind, flag.serials) == ("contradiction", ("TWIN", "TW-P1", "TW-P2"))
    assert flag.message == (
        "the records contradict each other about the parent of TWIN: TWIN's record names "
        "TW-P1 as its parent; TW-P2's record lists TWIN as a child"
    )
    assert all(flag in path.flags for path in result.paths)  # on both paths


def test_a_child_listed_by_a_unit_its_record_does_not_name_is_a_contradiction() -> None:
    result = trace(grown(STRUCTURE, "OR-P"), "ORPHAN")
    assert paths(result) == [(("ORPHAN", "OR-P"), "root")]
    assert [flag.message for flag in result.flags] == [
        "the records contradict each other about the parent of ORPHAN: OR-P's record lists "
        "ORPHAN as a child, but ORPHAN's record names no parent"
    ]


def test_several_units_are_traced_with_the_products_they_share(plant_graph: nx.DiGraph) -> None:
    found = trace_many(plant_graph, ["C3", "C1", "NOPE", "C3", "GHOST"], problems=True)
    assert found.serials == ("C3", "C1", "NOPE", "GHOST")  # each once, in the order given
    assert [one.serial for one in found.traces] == ["C3", "C1"]
    assert found.not_found == ("NOPE", "GHOST")  # not in the graph; the API does not know it
    assert found.shared == (("R1", ("C3", "C1")),)
    assert found.tops == ("R1", "R2")
    assert [one.to_dict() for one in found.traces] == [
        trace(plant_graph, serial).to_dict() for serial in ("C3", "C1")
    ]
    assert found.problems is not None and found.problems.tops == ("R1", "R2")
    assert found.problems.count == 5
    text = format_trace(found)
    assert text.startswith("== C3 ==\nC3 (CELL rev A, TIMEOUT")
    assert "\n\n== NOPE ==\nnot found: the API knows no unit of this serial number\n\n" in text
    assert "Top-level assemblies containing several of them:\n  R1 contains C3, C1" in text
    data = json.loads(json.dumps(found.to_dict()))
    assert data["shared"] == [{"top": "R1", "contains": ["C3", "C1"]}]
    assert data["not_found"] == ["NOPE", "GHOST"]


def test_problems_under_lists_only_the_units_asked_but_counts_every_unit(
    plant_graph: nx.DiGraph,
) -> None:
    everything = problems_under(plant_graph, ["R1", "R2", "NOT-A-NODE"])
    assert everything.tops == ("R1", "R2")
    narrowed = problems_under(plant_graph, ["R1", "R2"], only={"C1", "BAD", "R1"})
    assert [problem.serial for problem in narrowed.all] == ["C1", "BAD"]  # worst kind first
    assert (narrowed.units, narrowed.unexplored) == (everything.units, everything.unexplored)
