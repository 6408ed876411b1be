"""`genealogy.queries.audit`: every finding exactly once, with exactly the right serials.

`plant()` is the hand-made factory the query tests share: two top-level assemblies sharing a
module, a cycle, a self-parent, a missing unit, a fetch error, failures at several depths,
mixed revisions and late children. It is built in memory (`genealogy.from_records`, the crawl
without HTTP); what needs a server (a record answering for another serial, case-insensitive
lookups) is crawled from the local server.
"""

from __future__ import annotations

import json

import networkx as nx
import pytest

import genealogy
from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.queries import CODES, SEVERITIES, audit, format_audit, matches
from genealogy.queries.audit import Finding, validate_selectors
from tests.conftest import MakeServer, comparable, crawl
from tests.plant import BAD_REASON, grown, plant, plant_server
from tests.records import unit


def pairs(findings: tuple[Finding, ...]) -> list[tuple[str, tuple[str, ...]]]:
    return [(finding.code, finding.serials) for finding in findings]


PLANT_FINDINGS = {
    ("cycle", ("X1", "X2", "X3")),
    ("self-parent", ("S1",)),
    ("dangling-reference", ("GHOST", "D1", "M1")),
    ("failed-run-installed", ("C1", "M1")),
    ("failed-run-installed", ("C3", "M2")),
    ("failed-run-installed", ("D1", "C2")),
    ("inconsistent-link", ("R1", "M2")),  # R1 lists M2, M2 names R2
    ("inconsistent-link", ("R2", "M2")),  # M2 names R2, R2 does not list it
    ("inconsistent-link", ("C2", "X1")),  # C2 lists X1, X1 names X3
    ("inconsistent-link", ("M1", "N1")),  # M1 lists N1, N1 names no parent
    ("fetch-error", ("BAD",)),
    ("child-after-parent-assembly", ("M1", "C2")),  # after M1's run ended
    ("child-after-parent-assembly", ("N1", "K1")),  # after N1 was created (it has no run)
    ("mixed-revisions", ("M1", "M2")),  # MOD A, B under R1
    ("mixed-revisions", ("C2", "C3", "C1")),  # CELL A, A, B under R1 (only C3 under R2)
    ("no-run", ("N1",)),
}
"""Not reported: R1 (TOP A) and R2 (TOP B) are different top-level assemblies; nothing about
GHOST or BAD beyond their own finding; the self-loop of S1 as a cycle or an inconsistency."""


SCENARIOS = [
    # a failed unit listed by two parents, naming the one with the larger serial
    unit("FA", children=["FF"]),
    unit("FZ", children=["FF"]),
    unit("FF", parent="FZ", outcome="ABORTED"),
    # a failed top-level assembly is not installed anywhere
    unit("TF", children=["TK"], outcome="FAIL"),
    unit("TK", parent="TF"),
    # WM is in two top-level assemblies; its mix of revisions is one finding, not one per top
    unit("W1", children=["WM"]),
    unit("W2", children=["WM"]),
    unit("WM", parent="W1", children=["WA", "WB"]),
    unit("WA", parent="WM", part="WP", revision="B"),
    unit("WB", parent="WM", part="WP", revision="A"),
    # a unit naming itself as parent and child
    unit("SELF", parent="SELF", children=["SELF", "SK"]),
    unit("SK", parent="SELF"),
    # two cycles through YB: YB -> YC -> YB and YB -> YD -> YE -> YB; YC -> YC too
    unit("YB", parent="YC", children=["YC", "YD"]),
    unit("YC", parent="YB", children=["YB", "YC"]),  # and YC lists itself
    unit("YD", parent="YB", children=["YE"]),
    unit("YE", parent="YD", children=["YB"]),
    # creation times in several time zones; made by a station, a user or both
    unit("TL-LATE", children=["TL-EARLY", "TL-MID"], created_at="2026-02-01T08:00:00+02:00"),
    unit(
        "TL-EARLY",
        parent="TL-LATE",
        outcome=None,
        created_at="2026-01-31T23:00:00Z",
        created_by_user={"id": "u1", "name": "Ada"},
    ),
    unit(
        "TL-MID",
        parent="TL-LATE",
        created_at="2026-02-01T06:30:00Z",  # after TL-LATE (06:00Z), though before it as text
        created_by_station={"id": "s1", "name": "Line 2"},
        created_by_user={"id": "u1", "name": "Ada"},
    ),
    # data text with terminal escapes and bidi controls
    unit("EV-TOP", children=["EV-K1", "EV-K2"]),
    unit("EV-K1", parent="EV-TOP", part="EVIL\x1b[2J\nX", revision="A"),
    unit("EV-K2", parent="EV-TOP", part="EVIL\x1b[2J\nX", revision="B\u202e"),
]
RECORDS = [*plant(), *SCENARIOS]


def test_the_plant_built_in_memory_is_the_plant_crawled_over_http(
    make_server: MakeServer, plant_graph: nx.DiGraph
) -> None:
    """What the query tests read: the same graph but for GHOST's reason (the server's 404 text)
    and the crawl stats."""
    crawled = crawl(plant_server(make_server), "C1")
    assert comparable(plant_graph) == comparable(crawled)
    reasons = {node: attrs["reason"] for node, attrs in crawled.nodes(data=True)}
    assert reasons == {
        **{node: attrs["reason"] for node, attrs in plant_graph.nodes(data=True)},
        "GHOST": "not found (404: NOT_FOUND: Unit not found: GHOST)",
    }
    assert reasons["BAD"] == BAD_REASON
    assert plant_graph.nodes["GHOST"]["reason"] == "not among the records given"


def test_plant_reports_every_finding_once_with_exactly_its_serials(plant_graph: nx.DiGraph) -> None:
    assert plant_graph.number_of_nodes() == 16
    found = pairs(audit(plant_graph).findings)
    assert len(found) == len(set(found))
    assert set(found) == PLANT_FINDINGS


def test_findings_carry_their_codes_severity_in_report_order(plant_graph: nx.DiGraph) -> None:
    findings = audit(plant_graph).findings
    assert all(f.severity == CODES[f.code] for f in findings)
    order = list(CODES)
    keys = [(SEVERITIES.index(f.severity), order.index(f.code), f.serials) for f in findings]
    assert keys == sorted(keys)
    by_code = {f.code: f.severity for f in findings}
    assert by_code["cycle"] == "error"
    assert by_code["failed-run-installed"] == "error"
    assert by_code["inconsistent-link"] == "warning"
    assert by_code["no-run"] == "info"


def test_messages_say_what_is_wrong_on_one_line(plant_graph: nx.DiGraph) -> None:
    findings = {(f.code, f.serials): f.message for f in audit(plant_graph).findings}
    assert all("\n" not in message for message in findings.values())
    assert findings["cycle", ("X1", "X2", "X3")] == (
        "assembly cycle: X1 contains X2 contains X3 contains X1"
    )
    assert findings["inconsistent-link", ("R1", "M2")] == (
        "R1 lists M2 as a child, but M2's record names R2 as its parent"
    )
    assert findings["inconsistent-link", ("R2", "M2")] == (
        "M2 names R2 as its parent, but R2's record does not list it"
    )
    assert findings["inconsistent-link", ("M1", "N1")].endswith("N1's record names no parent")
    assert findings["failed-run-installed", ("C3", "M2")] == (
        "C3's run ended TIMEOUT, yet it is installed in M2"
    )
    assert "2026-01-11T12:00:00+00:00" in findings["child-after-parent-assembly", ("M1", "C2")]
    assert "N1 was created" in findings["child-after-parent-assembly", ("N1", "K1")]
    assert findings["mixed-revisions", ("C2", "C3", "C1")] == (
        "part CELL is on revisions A (2 units), B (1 unit) in R1"
    )
    assert "HTTP 400" in findings["fetch-error", ("BAD",)]
    assert findings["dangling-reference", ("GHOST", "D1", "M1")] == (
        "GHOST is referenced by D1, M1 but does not exist: not among the records given"
    )


def test_a_failed_unit_with_two_parents_names_its_declared_parent_first() -> None:
    findings = set(pairs(audit(grown(RECORDS, "FA")).findings))
    assert findings == {
        ("failed-run-installed", ("FF", "FZ", "FA")),
        ("inconsistent-link", ("FA", "FF")),
    }


def test_a_failed_top_level_unit_is_not_installed() -> None:
    graph = grown(RECORDS, "TK")
    assert graph.nodes["TF"]["run_outcome"] == "FAIL"
    assert pairs(audit(graph).findings) == []


def test_mixed_revisions_shared_by_two_tops_are_reported_once() -> None:
    graph = grown(RECORDS, "W2")
    assert graph.graph["roots"] == ["W1", "W2"]
    findings = audit(graph).findings
    assert pairs(findings) == [
        ("inconsistent-link", ("W2", "WM")),
        ("mixed-revisions", ("WB", "WA")),  # by revision: A, then B
    ]
    assert findings[1].message == "part WP is on revisions A (1 unit), B (1 unit) in W1, W2"


def test_a_self_loop_is_self_parent_only_and_not_a_cycle() -> None:
    findings = audit(grown(RECORDS, "SELF")).findings
    assert pairs(findings) == [("self-parent", ("SELF",))]
    assert findings[0].message == "SELF names itself as its parent and child"


def test_two_distinct_cycles_through_one_unit_are_each_reported_once() -> None:
    findings = pairs(audit(grown(RECORDS, "YB")).findings)
    # YB names only YC as its parent, so YE's listing of YB is one-sided
    assert sorted(findings) == [
        ("cycle", ("YB", "YC")),
        ("cycle", ("YB", "YD", "YE")),
        ("inconsistent-link", ("YE", "YB")),
        ("self-parent", ("YC",)),  # a self-loop inside a cycle is still not a cycle
    ]


def test_limits_give_one_unexplored_finding_and_nothing_about_unfetched_units() -> None:
    graph = grown(RECORDS, "C3", max_depth=1)
    assert graph.nodes["BAD"]["status"] == "unexplored"  # it would fail: not fetched, not checked
    assert graph.nodes["R2"]["status"] == "unexplored"
    findings = audit(graph).findings
    assert set(pairs(findings)) == {
        ("failed-run-installed", ("C3", "M2")),
        ("unexplored", ("BAD", "R2")),
    }
    unexplored = next(f for f in findings if f.code == "unexplored")
    assert unexplored.severity == "info"
    assert unexplored.message == (
        "2 units referenced but not fetched (beyond the depth limit (1)): "
        "the audit does not cover them"
    )


def test_a_downward_crawl_checks_no_link_to_the_parent_it_did_not_fetch() -> None:
    graph = grown(RECORDS, "M2", direction="down")
    assert set(graph) == {"M2", "C3", "BAD"}
    assert set(pairs(audit(graph).findings)) == {
        ("failed-run-installed", ("C3", "M2")),
        ("fetch-error", ("BAD",)),
    }


def test_failed_run_counts_a_declared_parent_outside_the_crawl() -> None:
    graph = grown(RECORDS, "C3", direction="down")
    assert set(graph) == {"C3"}
    assert pairs(audit(graph).findings) == [("failed-run-installed", ("C3", "M2"))]


def test_timeline_lists_every_fetched_unit_by_creation_time() -> None:
    timeline = audit(grown(RECORDS, "TL-LATE")).timeline
    assert [entry.serial for entry in timeline] == ["TL-EARLY", "TL-LATE", "TL-MID"]
    early, _, mid = timeline
    assert early.made_by == "Ada"  # the user when there is no station
    assert mid.made_by == "Line 2"  # the station first
    assert (early.run_id, early.procedure, early.outcome, early.duration_s) == (
        None,
        None,
        None,
        None,
    )
    assert (mid.run_id, mid.procedure, mid.outcome, mid.duration_s) == (
        "run-TL-MID",
        "Functional test",
        "PASS",
        300.0,
    )
    assert (mid.part_number, mid.revision, mid.created_at) == (
        "P-1",
        "A",
        "2026-02-01T06:30:00+00:00",
    )


def test_timeline_leaves_out_units_that_were_not_fetched(plant_graph: nx.DiGraph) -> None:
    serials = [entry.serial for entry in audit(plant_graph).timeline]
    assert len(serials) == 14
    assert not {"GHOST", "BAD"} & set(serials)
    assert serials[-2:] == ["K1", "C2"]  # the two created on the 11th, in time order


def test_demo_findings(demo_graph: nx.DiGraph) -> None:
    report = audit(demo_graph)
    found = pairs(report.findings)
    cells = sorted(s for s in demo_graph if s.startswith("CELL-21700-") and s != MISSING_SERIAL)
    assert len(cells) == 64
    old = "CELL-21700-C-0163"  # the rev B cell in module 4
    assert demo_graph.nodes[old]["revision"] == "B"
    assert len(found) == len(set(found))
    assert set(found) == {
        ("dangling-reference", (MISSING_SERIAL, "MOD-16S-0312")),
        ("failed-run-installed", ("CELL-21700-C-0118", "MOD-16S-0312")),  # TIMEOUT
        ("failed-run-installed", (DEMO_START, "MOD-16S-0313")),  # FAIL
        ("failed-run-installed", ("CELL-21700-C-0157", "MOD-16S-0314")),  # ABORTED
        ("failed-run-installed", ("PCB-CTR-1180", "BMS-R48-0031")),  # ERROR
        ("child-after-parent-assembly", ("PCB-BMS-2207", "PCB-COM-0577")),
        ("mixed-revisions", (old, *(c for c in cells if c != old))),
        ("no-run", ("CELL-21700-C-0125",)),
    }
    assert len(report.timeline) == 79
    moments = [entry.created_at for entry in report.timeline]
    assert moments == sorted(moments)  # all in UTC here, so the text order is the time order
    assert report.timeline[-1].serial == "ESS-R48-0007"


def test_to_dict_is_plain_json(plant_graph: nx.DiGraph) -> None:
    report = audit(plant_graph)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"] == {"error": 6, "warning": 9, "info": 1}
    assert data["findings"][1] == {
        "code": "self-parent",
        "severity": "error",
        "serials": ["S1"],
        "message": "S1 names itself as its child",
    }
    assert [entry["serial"] for entry in data["timeline"]] == [e.serial for e in report.timeline]
    assert data["timeline"][-1]["duration_s"] == 300.0


def test_format_text_groups_findings_by_code_with_counts_worst_first(
    plant_graph: nx.DiGraph,
) -> None:
    report = audit(plant_graph)
    text = format_audit(report)
    lines = text.splitlines()
    assert lines[0] == "16 findings: 6 error, 9 warning, 1 info"
    headers = [line.split() for line in lines[1:] if line and not line.startswith(" ")]
    assert headers == [
        ["error", "cycle", "×1"],
        ["error", "self-parent", "×1"],
        ["error", "dangling-reference", "×1"],
        ["error", "failed-run-installed", "×3"],
        ["warning", "inconsistent-link", "×4"],
        ["warning", "fetch-error", "×1"],
        ["warning", "child-after-parent-assembly", "×2"],
        ["warning", "mixed-revisions", "×2"],
        ["info", "no-run", "×1"],
    ]
    # the counts line up in one column, whatever the length of the code
    assert len({line.index("×") for line in lines[1:] if line and not line.startswith(" ")}) == 1
    # each message under its code's header, in report order
    cycle = lines.index("error    cycle                        ×1")
    assert lines[cycle + 1] == "  assembly cycle: X1 contains X2 contains X3 contains X1"
    assert lines[-1] == "  N1 has no run: it was never tested"
    assert [line.strip() for line in lines if line.startswith("  ")] == [
        f.message for f in report.findings
    ]
    assert "Timeline" not in text  # the timeline only on request
    with_timeline = format_audit(report, timeline=True)
    assert with_timeline.startswith(text + "\n\nTimeline (14 units)\n")
    assert with_timeline.splitlines()[-1].split()[:2] == ["2026-01-11T12:00:00+00:00", "C2"]


def test_a_large_group_shows_a_few_findings_and_counts_the_rest() -> None:
    """40 failed cells under one module: one header with the count, five findings, one line
    for the rest; -v (verbose) lists all 40; a group of six is shown whole."""
    cells = [f"CELL-{i:03}" for i in range(40)]
    records = [
        unit("MOD", children=cells),
        *(unit(cell, parent="MOD", outcome="FAIL") for cell in cells),
    ]
    report = audit(genealogy.from_records(records, "MOD"))
    lines = format_audit(report).splitlines()
    assert lines[:3] == ["40 findings: 40 error", "", "error    failed-run-installed  ×40"]
    assert lines[3:8] == [
        f"  {cell}'s run ended FAIL, yet it is installed in MOD" for cell in cells[:5]
    ]
    assert lines[8:] == ["  … and 35 more (-v lists every one)"]
    verbose = format_audit(report, verbose=True).splitlines()
    assert len(verbose) == 3 + 40
    assert verbose[-1] == "  CELL-039's run ended FAIL, yet it is installed in MOD"
    six = [unit("MOD", children=cells[:6]), *records[1:7]]
    assert len(format_audit(audit(genealogy.from_records(six, "MOD"))).splitlines()) == 3 + 6


def test_format_text_says_so_when_there_is_no_finding() -> None:
    report = audit(genealogy.from_records([unit("A")], "A"))
    assert format_audit(report) == "No findings"


def test_format_text_makes_data_printable() -> None:
    text = format_audit(audit(grown(RECORDS, "EV-TOP")), timeline=True)
    assert "\x1b" not in text and "\u202e" not in text
    assert "EVIL\\x1b[2J\\x0aX" in text
    assert "B\\u202e" in text
    assert len([line for line in text.splitlines() if "mixed-revisions" in line]) == 1


@pytest.mark.parametrize(
    ("selectors", "code", "expected"),
    [
        (["any"], "no-run", True),
        (["error"], "cycle", True),
        (["error"], "inconsistent-link", False),
        (["warning"], "cycle", True),  # a severity means "at least this severe"
        (["warning"], "inconsistent-link", True),
        (["warning"], "unexplored", False),
        (["info"], "no-run", True),
        (["mixed-revisions"], "mixed-revisions", True),
        (["mixed-revisions"], "cycle", False),
        (["no-run", " ERROR "], "self-parent", True),
        ([], "cycle", False),
    ],
)
def test_matches_codes_severities_and_any(selectors: list[str], code: str, expected: bool) -> None:
    finding = Finding(code, CODES[code], ("A",), "message")
    assert matches(finding, selectors) is expected


def test_unknown_selectors_are_rejected_with_the_valid_ones() -> None:
    finding = Finding("cycle", "error", ("A", "B"), "message")
    with pytest.raises(ValueError, match="finding code") as caught:
        matches(finding, ["cycles"])
    assert "child-after-parent-assembly" in str(caught.value)
    assert validate_selectors(["Any", "WARNING", "no-run"]) == ("any", "warning", "no-run")


def test_a_record_answering_for_another_serial_is_reported(make_server: MakeServer) -> None:
    # The child list says "M-1-OLD", and the record served under that name says "M-1".
    top = unit("TOP", children=["M-1-OLD"])
    server = make_server([top])
    server.units["M-1-OLD"] = unit("M-1", parent="TOP")
    graph = crawl(server, "TOP")
    assert graph.nodes["M-1-OLD"]["reported_serial"] == "M-1"
    found = [(f.code, f.serials) for f in audit(graph).findings if f.code == "serial-mismatch"]
    assert found == [("serial-mismatch", ("M-1-OLD", "M-1"))]


def test_a_difference_in_case_alone_is_no_mismatch(make_server: MakeServer) -> None:
    """The service matches serials case-insensitively: the child list says "m-1", the record
    "M-1"; the node is "M-1", once, and nothing is reported."""
    server = make_server([unit("TOP", children=["m-1"]), unit("M-1", parent="top")])
    graph = crawl(server, "TOP")
    assert sorted(graph) == ["M-1", "TOP"]
    assert "reported_serial" not in graph.nodes["M-1"]
    assert graph.nodes["TOP"]["children_serials"] == ["M-1"]
    assert graph.nodes["M-1"]["parent_serial"] == "TOP"
    codes = {f.code for f in audit(graph).findings}
    assert not codes & {"serial-mismatch", "inconsistent-link", "dangling-reference"}


def test_timeline_columns_line_up_with_wide_and_combining_characters() -> None:
    """East Asian wide characters take two terminal columns, combining marks none."""
    records = [
        unit("TOP", children=["電池-0001", "Cafe\u0301-1"]),
        unit("電池-0001", parent="TOP", part="セル"),
        unit("Cafe\u0301-1", parent="TOP", part="P-2"),
    ]
    text = format_audit(audit(genealogy.from_records(records, "TOP")), timeline=True)
    lines = text.split("Timeline (3 units)\n")[1].splitlines()
    columns = {line.index("Functional test") for line in lines[1:]}
    assert len(columns) > 1  # by characters the rows differ...
    wide = {"電", "池", "セ", "ル"}
    by_display = {
        sum(2 if char in wide else 0 if char == "\u0301" else 1 for char in line[:at])
        for line in lines[1:]
        for at in [line.index("Functional test")]
    }
    assert len(by_display) == 1  # ...but on a terminal they start in the same column
