"""The HTML page's data for run histories and for the problems below a collapsed row.

What the page shows from it in a browser is in `test_html_history_browser.py`.
"""

from __future__ import annotations

import re
from typing import Any

import networkx as nx

import genealogy
from genealogy.queries import audit
from genealogy.renderers import html_page
from tests.conftest import fetch_failed
from tests.records import run, unit

XSS = "<img src=x onerror=alert(1)>"




def data_of(graph: nx.DiGraph) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    data = html_page.page_data(graph, audit(graph))
    return data, {entry["serial"]: entry for entry in data["units"]}


def test_a_unit_with_a_history_carries_its_runs_oldest_first_with_their_colours() -> None:
    graph = genealogy.from_records(
        [unit("TOP", children=["A", "B"]), unit("A", parent="TOP"), unit("B", parent="TOP")], "TOP"
    )
    runs = [run("PASS", "01-01", id="run-A"), run("TIMEOUT", "01-02"), run("WEIRD", "01-03")]
    runs.append(run("FAIL", "01-04", procedure=XSS, duration_s=None, ended_at=None))
    graph.nodes["A"].update(runs=runs, run_count=5, latest_outcome="FAIL")
    _, units = data_of(graph)
    a = units["A"]
    assert (a["run_count"], a["latest_outcome"], a["class"], a["state"]) == (
        5,
        "FAIL",
        "fail",
        "FAIL",
    )
    assert a["run_outcome"] == "PASS" and a["run_class"] == "pass"  # the creating run's colour
    assert [(r["outcome"], r["class"]) for r in a["runs"]] == [
        ("PASS", "pass"),
        ("TIMEOUT", "timeout"),
        ("WEIRD", "unknown"),
        ("FAIL", "fail"),
    ]
    assert a["runs"][0] == {
        "id": "run-A",
        "outcome": "PASS",
        "procedure": "Functional test",
        "started_at": "2026-01-01T09:00:00Z",
        "ended_at": "2026-01-01T09:05:00Z",
        "duration_s": 300.0,
        "class": "pass",
    }
    assert a["runs"][-1]["procedure"] == XSS  # plain text: the page writes it as textContent
    assert "ended_at" not in a["runs"][-1] and "duration_s" not in a["runs"][-1]
    b = units["B"]
    assert not {"runs", "run_count", "latest_outcome", "run_class"} & set(
        b
    )  # no history: as before


def test_history_texts_are_made_printable_and_stay_inside_the_data_block() -> None:
    graph = genealogy.from_records([unit("A")], "A")
    graph.nodes["A"].update(
        runs=[run("FAIL\x1b[2J", "01-01", procedure="</script><script>alert(1)</script>")],
        run_count=1,
        latest_outcome="FAIL\x1b[2J",
    )
    _, units = data_of(graph)
    assert units["A"]["runs"][0]["outcome"] == "FAIL\\x1b[2J"
    assert units["A"]["latest_outcome"] == "FAIL\\x1b[2J"
    page = genealogy.render(graph, "html")
    assert isinstance(page, str)
    assert "</script><script>alert(1)" not in page
    assert len(re.findall(r"<script", page)) == 2  # the data block and the page's own script


def test_collapsed_rows_count_failed_errored_and_missing_units_below_them() -> None:
    records = [
        unit("TOP", children=["M1", "M2"]),
        unit("M1", parent="TOP", children=["C1", "C2", "GHOST"]),
        unit("M2", parent="TOP", children=["C3", "BAD", "C4"]),
        unit("C1", parent="M1", outcome="FAIL"),
        unit("C2", parent="M1", outcome="ERROR"),
        unit("C3", parent="M2", outcome="TIMEOUT"),
        unit("C4", parent="M2", outcome=None),  # no run: no problem
    ]
    graph = genealogy.from_records(records, "TOP")
    fetch_failed(graph, "BAD", "HTTP 500")
    _, units = data_of(graph)
    assert units["TOP"]["below"] == {"failed": 1, "errored": 2, "missing": 2}
    assert units["M1"]["below"] == {"failed": 1, "errored": 1, "missing": 1}
    assert units["M2"]["below"] == {"errored": 1, "missing": 1}
    assert "below" not in units["C1"]  # itself is not below itself


def test_a_shared_unit_counts_once_under_the_row_that_places_it() -> None:
    records = [
        unit("TOP", children=["B", "C"]),
        unit("B", parent="TOP", children=["X"]),
        unit("C", parent="TOP", children=["X"]),  # X shown under C as a link row only
        unit("X", parent="B", children=["Y"], outcome="FAIL"),
        unit("Y", parent="X", outcome="FAIL"),
    ]
    _, units = data_of(genealogy.from_records(records, "TOP"))
    assert units["TOP"]["below"] == {"failed": 2}
    assert units["B"]["below"] == {"failed": 2}
    assert "below" not in units["C"]  # opening C shows a link to X, not X's subtree


def test_a_cycle_counts_each_unit_once() -> None:
    records = [
        unit("A", parent="C", children=["B"], outcome="FAIL"),
        unit("B", parent="A", children=["C"], outcome="FAIL"),
        unit("C", parent="B", children=["A"], outcome="FAIL"),
    ]
    _, units = data_of(genealogy.from_records(records, "A"))
    assert units["A"]["below"] == {"failed": 2}
    assert units["B"]["below"] == {"failed": 1}


def test_the_present_outcome_counts_so_a_reworked_unit_is_no_problem() -> None:
    graph = genealogy.from_records(
        [unit("TOP", children=["A"]), unit("A", parent="TOP", outcome="FAIL")], "TOP"
    )
    assert data_of(graph)[1]["TOP"]["below"] == {"failed": 1}
    graph.nodes["A"].update(
        runs=[run("FAIL", "01-01"), run("PASS", "01-02")], run_count=2, latest_outcome="PASS"
    )
    assert "below" not in data_of(graph)[1]["TOP"]


def test_the_script_writes_history_and_counts_as_text_only() -> None:
    page = genealogy.render(genealogy.from_records([unit("A")], "A"), "html")
    assert isinstance(page, str)
    script = page.split("<script>")[-1]
    for word in ("Run history", "latest first", "belowText", "Latest outcome", "Creating run"):
        assert word in script
    for markup in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert markup not in script.split("\n", 1)[1]  # the opening comment names none either
