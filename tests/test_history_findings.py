"""Run history in the queries: the audit's history findings and the history in a trace.

Graphs come from `genealogy.from_records`; the units then get their history the way a crawl
that fetched runs leaves it (`runs` oldest first, `run_count`, `latest_outcome`). A unit's
creating run (`run_id`) is `run-<serial>` (tests/records.py), so a history whose first run has
that id starts with the creating run.
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import pytest

import genealogy
from genealogy.queries import CODES, audit, format_audit, format_trace, trace
from genealogy.queries.audit import Finding
from tests.records import run, unit


def history(graph: nx.DiGraph, serial: str, *runs: dict[str, Any]) -> None:
    graph.nodes[serial].update(
        runs=list(runs),
        run_count=len(runs),
        latest_outcome=runs[-1]["outcome"] if runs else None,
    )


CHILDREN = ["A", "B", "C", "D", "E", "F", "G", "H", "K"]


@pytest.fixture
def graph() -> nx.DiGraph:
    """TOP holds A..K; LOOSE stands alone. Outcomes are the creating runs'."""
    created_failed = {"B", "C", "E", "F"}
    records = [unit("TOP", children=CHILDREN, part="TOP"), unit("LOOSE", outcome="FAIL")]
    records += [
        unit(serial, parent="TOP", outcome="FAIL" if serial in created_failed else "PASS")
        for serial in CHILDREN
    ]
    built = genealogy.from_records(records, "TOP")
    built.add_node("LOOSE", **genealogy.from_records(records, "LOOSE").nodes["LOOSE"])
    history(built, "TOP", run("PASS", "02-01", serial="TOP"), run("TIMEOUT", "03-05"))
    history(built, "A", run("PASS", "02-01", serial="A"), run("FAIL", "03-02"))
    history(built, "B", run("FAIL", "02-01", serial="B"))
    history(
        built,
        "C",
        run("FAIL", "02-01", serial="C"),
        run("FAIL", "02-03"),
        run("PASS", "02-04"),
    )
    history(
        built,
        "D",
        run("PASS", "02-01", serial="D"),
        run("FAIL", "02-10"),
        run("PASS", "02-11"),
        run("FAIL", "03-01"),
    )
    history(built, "E", run("FAIL", "02-01", serial="E"), run("FAIL", "02-05"))
    # F: no history known (its creating run failed): as before
    history(built, "G")  # known, no run at all
    history(built, "H", run("PASS", "02-01", serial="H"), run("ERROR", "02-20"))
    history(built, "LOOSE", run("FAIL", "02-01", serial="LOOSE"))
    return built


def by_code(findings: tuple[Finding, ...], *codes: str) -> dict[tuple[str, ...], str]:
    return {f.serials: f.message for f in findings if f.code in codes}


def test_the_new_codes_and_their_severities() -> None:
    assert CODES["latest-run-failed"] == "error"
    assert CODES["passed-then-failed"] == "warning"
    assert CODES["reworked"] == "info"
    order = list(CODES)
    assert order.index("failed-run-installed") + 1 == order.index("latest-run-failed")


def test_latest_run_failed_for_installed_units_whose_latest_run_is_not_the_creating_one(
    graph: nx.DiGraph,
) -> None:
    found = by_code(audit(graph).findings, "latest-run-failed")
    assert found == {
        ("A", "TOP"): "A's latest run (2026-03-02, 2 runs in all) ended FAIL, yet it is "
        "installed in TOP; it passed on 2026-02-01 before",
        ("D", "TOP"): "D's latest run (2026-03-01, 4 runs in all) ended FAIL, yet it is "
        "installed in TOP; it passed on 2026-02-11 before",
        ("E", "TOP"): "E's latest run (2026-02-05, 2 runs in all) ended FAIL, yet it is "
        "installed in TOP",
        ("H", "TOP"): "H's latest run (2026-02-20, 2 runs in all) ended ERROR, yet it is "
        "installed in TOP; it passed on 2026-02-01 before",
    }
    # not B (its only run created it: failed-run-installed), not C (passes now), not F (no
    # history), not G (no run), not TOP or LOOSE (installed nowhere)


def test_failed_run_installed_is_still_about_the_creating_run(graph: nx.DiGraph) -> None:
    found = by_code(audit(graph).findings, "failed-run-installed")
    assert set(found) == {("B", "TOP"), ("C", "TOP"), ("E", "TOP"), ("F", "TOP")}
    # one run never gives both: B's only run is its creating run
    both = set(found) & set(by_code(audit(graph).findings, "latest-run-failed"))
    assert both == {("E", "TOP")}  # E failed when created, and failed its retest again


def test_passed_then_failed_only_for_units_installed_nowhere(graph: nx.DiGraph) -> None:
    found = by_code(audit(graph).findings, "passed-then-failed")
    assert found == {
        ("TOP",): "TOP passed on 2026-02-01, but its latest run (2026-03-05) ended TIMEOUT"
    }
    # A, D and H regressed too, but they are installed: latest-run-failed reports them;
    # LOOSE never passed


def test_reworked_counts_the_failures_before_the_last_pass(graph: nx.DiGraph) -> None:
    found = by_code(audit(graph).findings, "reworked")
    assert found == {
        ("C",): "C failed 2 runs (2026-02-01, 2026-02-03) before it passed on 2026-02-04",
        ("D",): "D failed 1 run (2026-02-10) before it passed on 2026-02-11",
    }


def test_reworked_lists_three_dates_and_counts_the_rest() -> None:
    graph = genealogy.from_records([unit("R")], "R")
    fails = [run("FAIL", f"01-0{day}") for day in range(1, 6)]
    history(graph, "R", *fails, run("ERROR", "01-07"), run("PASS", "01-08"))
    (finding,) = [f for f in audit(graph).findings if f.code == "reworked"]
    assert finding.message == (
        "R failed 5 runs (2026-01-01, 2026-01-02, 2026-01-03 and 2 more) before it passed on "
        "2026-01-08"
    )  # the ERROR run is not a failure of the unit


def test_no_history_finding_without_a_history() -> None:
    records = [unit("TOP", children=["A"]), unit("A", parent="TOP", outcome="FAIL")]
    graph = genealogy.from_records(records, "TOP")
    codes = {f.code for f in audit(graph).findings}
    assert codes == {"failed-run-installed"}


def test_an_error_or_aborted_retest_is_a_failed_latest_run_but_not_a_failure_to_rework() -> None:
    records = [unit("TOP", children=["A"]), unit("A", parent="TOP")]
    graph = genealogy.from_records(records, "TOP")
    history(graph, "A", run("PASS", "01-01", serial="A"), run("ABORTED", "01-02"))
    assert by_code(audit(graph).findings, "latest-run-failed", "reworked") == {
        ("A", "TOP"): "A's latest run (2026-01-02, 2 runs in all) ended ABORTED, yet it is "
        "installed in TOP; it passed on 2026-01-01 before"
    }


def test_the_latest_outcome_attribute_is_the_present_state() -> None:
    records = [unit("TOP", children=["A"]), unit("A", parent="TOP")]
    graph = genealogy.from_records(records, "TOP")
    history(graph, "A", run("PASS", "01-01", serial="A"), run("PASS", "01-02"))
    graph.nodes["A"]["latest_outcome"] = "FAIL"  # the crawler's word for the latest run
    assert set(by_code(audit(graph).findings, "latest-run-failed")) == {("A", "TOP")}


def test_a_declared_parent_outside_the_graph_makes_a_unit_installed() -> None:
    records = [unit("TOP", children=["A"]), unit("A", parent="TOP")]
    graph = genealogy.from_records(records, "A", direction="down")
    assert set(graph) == {"A"}
    history(graph, "A", run("PASS", "01-01", serial="A"), run("FAIL", "01-02"))
    found = [
        f for f in audit(graph).findings if f.code in ("latest-run-failed", "passed-then-failed")
    ]
    assert [(f.code, f.serials) for f in found] == [("latest-run-failed", ("A", "TOP"))]


def test_undated_runs_and_odd_entries_are_read_safely() -> None:
    records = [unit("TOP", children=["A"]), unit("A", parent="TOP")]
    graph = genealogy.from_records(records, "TOP")
    undated = run("FAIL", "01-01", started_at=None, ended_at="not a time")
    graph.nodes["A"].update(
        runs=["junk", undated, run("PASS", "01-03")], run_count=3, latest_outcome="PASS"
    )
    assert by_code(audit(graph).findings, "reworked") == {
        ("A",): "A failed 1 run (undated) before it passed on 2026-01-03"
    }


def test_history_findings_are_ordered_and_deterministic(graph: nx.DiGraph) -> None:
    first = audit(graph)
    again = audit(graph)
    assert first == again
    order = list(CODES)
    keys = [
        (("error", "warning", "info").index(f.severity), order.index(f.code), f.serials)
        for f in first.findings
    ]
    assert keys == sorted(keys)
    lines = format_audit(first).splitlines()
    headers = {line.split()[1]: index for index, line in enumerate(lines) if line[:1].isalpha()}
    assert lines[headers["latest-run-failed"] + 1].startswith("  A's latest run (2026-03-02")
    assert lines[headers["reworked"] + 1].startswith("  C failed 2 runs")
    assert json.loads(json.dumps(first.to_dict()))["counts"] == {
        "error": first.count("error"),
        "warning": first.count("warning"),
        "info": first.count("info"),
    }


# --- trace ---------------------------------------------------------------------------------------


def traced(*runs: dict[str, Any], outcome: str = "PASS") -> nx.DiGraph:
    graph = genealogy.from_records(
        [
            unit("MOD", children=["CELL"], part="MOD"),
            unit("CELL", parent="MOD", part="CELL", revision="C", outcome=outcome),
        ],
        "CELL",
    )
    history(graph, "CELL", *runs)
    return graph


def test_a_step_carries_the_history_and_the_text_shows_it() -> None:
    graph = traced(
        run("FAIL", "03-01", serial="CELL"),
        run("FAIL", "03-02"),
        run("PASS", "03-04"),
        outcome="FAIL",
    )
    graph.nodes["CELL"]["runs"][-1]["station"] = "EOL 2"
    found = trace(graph, "CELL")
    step = found.paths[0].steps[0]
    assert (step.run_count, step.latest_outcome, step.outcome, step.state) == (
        3,
        "PASS",
        "PASS",
        "PASS",
    )
    assert [r["outcome"] for r in step.runs or ()] == ["FAIL", "FAIL", "PASS"]
    assert (step.run, step.procedure, step.station, step.date) == (
        "latest",
        "Functional test",
        "EOL 2",
        "2026-03-04T09:00:00Z",
    )
    mod = found.paths[0].steps[1]  # no history known: its creating run, from its record
    assert (mod.run, mod.procedure, mod.station, mod.date) == (
        "creating",
        "Functional test",
        None,
        "2026-01-10T09:55:00+00:00",
    )
    assert format_trace(found).splitlines()[:2] == [
        "CELL (CELL rev C, PASS; Functional test at EOL 2, 2026-03-04; "
        "3 runs: FAIL 2026-03-01, FAIL 03-02, PASS 03-04)",
        "└─ in MOD (MOD rev A, PASS; Functional test, 2026-01-10)",
    ]


def test_the_text_lists_the_latest_runs_and_counts_the_earlier_ones() -> None:
    runs = [run("FAIL", f"01-0{day}") for day in range(1, 7)]
    graph = traced(run("PASS", "12-30") | {"started_at": "2025-12-30T09:00:00Z"}, *runs)
    first = format_trace(trace(graph, "CELL")).splitlines()[0]
    assert first == (
        "CELL (CELL rev C, FAIL; Functional test, 2026-01-06; 7 runs: 2 earlier, "
        "FAIL 2026-01-02, FAIL 01-03, FAIL 01-04, FAIL 01-05, FAIL 01-06)"
    )
    graph = traced(run("PASS", "12-30") | {"started_at": "2025-12-30T09:00:00Z"}, runs[0])
    assert format_trace(trace(graph, "CELL")).splitlines()[0] == (
        "CELL (CELL rev C, FAIL; Functional test, 2026-01-01; "
        "2 runs: PASS 2025-12-30, FAIL 2026-01-01)"  # a new year: whole
    )


def test_a_history_with_no_run_adds_nothing_and_undated_runs_show_their_outcome() -> None:
    assert format_trace(trace(traced(), "CELL")).splitlines()[0] == "CELL (CELL rev C, no run)"
    undated = run("FAIL", "01-01", started_at=None, ended_at=None, procedure=None)
    line = format_trace(trace(traced(undated), "CELL")).splitlines()[0]
    assert line == "CELL (CELL rev C, FAIL; 1 run: FAIL)"  # nothing known of the run: no words


def test_history_text_is_made_printable() -> None:
    graph = traced(run("FAIL\x1b[31m", "01-01"))
    graph.nodes["CELL"]["latest_outcome"] = "FAIL"
    line = format_trace(trace(graph, "CELL")).splitlines()[0]
    assert "\x1b" not in line and "FAIL\\x1b[31m 2026-01-01" in line


def test_the_json_of_a_step_has_the_history() -> None:
    graph = traced(run("FAIL", "03-01", serial="CELL"), run("PASS", "03-04"))
    data = json.loads(json.dumps(trace(graph, "CELL").to_dict()))
    cell, mod = data["paths"][0]["steps"]
    assert (cell["run_count"], cell["latest_outcome"]) == (2, "PASS")
    assert cell["runs"] == [
        {
            "id": "run-CELL",
            "outcome": "FAIL",
            "procedure": "Functional test",
            "started_at": "2026-03-01T09:00:00Z",
            "ended_at": "2026-03-01T09:05:00Z",
            "duration_s": 300.0,
        },
        {
            "id": "run-PASS-03-04",
            "outcome": "PASS",
            "procedure": "Functional test",
            "started_at": "2026-03-04T09:00:00Z",
            "ended_at": "2026-03-04T09:05:00Z",
            "duration_s": 300.0,
        },
    ]
    assert (mod["run_count"], mod["latest_outcome"], mod["runs"]) == (None, None, None)


def test_a_problem_follows_the_latest_run() -> None:
    graph = traced(run("PASS", "03-01", serial="CELL"), run("FAIL", "03-04"))
    report = trace(graph, "CELL", problems=True).problems
    assert report is not None
    (problem,) = report.all
    assert (problem.serial, problem.kind, problem.detail) == ("CELL", "failed", "FAIL")


def test_a_history_listing_fewer_runs_than_it_counts_says_how_many_are_earlier() -> None:
    graph = traced(run("FAIL", "01-01"), run("PASS", "01-02"))
    graph.nodes["CELL"]["run_count"] = 10
    step = trace(graph, "CELL").paths[0].steps[0]
    assert step.run_count == 10 and len(step.runs or ()) == 2
    assert format_trace(trace(graph, "CELL")).splitlines()[0] == (
        "CELL (CELL rev C, PASS; Functional test, 2026-01-02; "
        "10 runs: 8 earlier, FAIL 2026-01-01, PASS 01-02)"
    )
