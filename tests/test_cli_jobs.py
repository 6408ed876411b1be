"""The three jobs from the command line: tree, trace and audit, with filters and --fail-on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result

from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.errors import ExitCode
from tests.conftest import run_cli
from tests.records import unit


def run(server: Any, *args: str) -> Result:
    return run_cli(server, *args, "--no-cache")


def test_tree_marks_start_and_repeats_and_honours_charset_and_depth(make_server: Any) -> None:
    # D is listed by both B and C: printed in full once, then marked (*).
    server = make_server(
        [
            unit("A", children=["B", "C"]),
            unit("B", parent="A", children=["D"]),
            unit("C", parent="A", children=["D"]),
            unit("D", parent="B", children=["E"]),
            unit("E", parent="D"),
        ]
    )
    result = run(server, "tree", "D", "--charset", "ascii")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("A P-1 rev A PASS")
    assert sum("D P-1" in line for line in lines) == 2
    assert sum("(*)" in line for line in lines) == 1
    assert any(line.endswith("<- start") and "D P-1" in line for line in lines)
    assert all(ord(ch) < 128 for ch in result.stdout)
    assert "\x1b[" not in result.stdout  # not a terminal: no colour

    shallow = run(server, "tree", "D", "--depth", "1", "--color", "always")
    assert "E P-1" not in shallow.stdout
    assert "\x1b[" in shallow.stdout


def test_tree_filter_keeps_only_paths_to_failures(server: Any) -> None:
    result = run(server, "tree", "ESS-R48-0007", "--outcome", "fail,not_found", "-q")
    serials = {line.lstrip("│├└─ ").split(" ")[0] for line in result.stdout.splitlines()}
    assert serials == {"ESS-R48-0007", "MOD-16S-0312", "MOD-16S-0313", DEMO_START, MISSING_SERIAL}


def test_trace_lists_every_path_to_every_top_level_assembly(make_server: Any) -> None:
    # Inconsistent data: P1 lists M2, but M2 names P2 as its parent; both M1 and M2 list X.
    server = make_server(
        [
            unit("P1", children=["M1", "M2"]),
            unit("P2", children=["M2"]),
            unit("M1", parent="P1", children=["X"]),
            unit("M2", parent="P2", children=["X"]),
            unit("X", parent="M1", outcome="FAIL"),
        ]
    )

    def traced(*flags: str) -> tuple[list[list[str]], dict[str, Any]]:
        result = run(server, "trace", "X", "-f", "json", *flags)
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        paths = sorted([step["serial"] for step in path["steps"]] for path in data["paths"])
        return paths, data

    # up only (the default): X's record names M1, and M1's names P1; M2 is never asked about
    paths, data = traced()
    assert paths == [["X", "M1", "P1"]]
    assert data["flags"] == [] and data["problems"] is None
    # --problems crawls P1 in full: M2 lists X too, and the records disagree
    paths, data = traced("--problems")
    assert paths == [["X", "M1", "P1"], ["X", "M2", "P1"]]
    contradictions = {tuple(f["serials"]) for f in data["flags"] if f["kind"] == "contradiction"}
    assert contradictions == {("X", "M1", "M2"), ("M2", "P1", "P2")}
    assert data["problems"]["by_kind"] == {"failed": 1}
    # --down crawls both ways, as trace always did: P2 too
    paths, _ = traced("--down")
    assert paths == [["X", "M1", "P1"], ["X", "M2", "P1"], ["X", "M2", "P2"]]
    text = run(server, "trace", "X", "--down").stdout
    assert "in M1" in text and "in P2" in text
    assert "the records contradict each other about the parent of X" in text


def test_trace_filters_narrow_the_problem_list_and_keep_the_traced_unit(
    make_server: Any,
) -> None:
    server = make_server(
        [
            unit("A", children=["B", "C"]),
            unit("B", parent="A", outcome="FAIL"),
            unit("C", parent="A", outcome="ERROR"),
        ]
    )
    result = run(server, "trace", "A", "--problems", "--outcome", "fail", "-f", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["serial"] == "A"
    assert data["problems"]["by_kind"] == {"failed": 1}  # C errored, but does not match
    assert data["problems"]["units_looked_at"] == 3
    refused = run(server, "trace", "A", "--outcome", "fail")
    assert refused.exit_code == ExitCode.USAGE
    assert "--outcome fail narrows the problem list: add --problems" in refused.stderr


def test_audit_fail_on_turns_findings_into_exit_code_9(server: Any, tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    passing = run(server, "audit", DEMO_START, "--fail-on", "cycle,self-parent", "-q")
    failing = run(server, "audit", DEMO_START, "--fail-on", "warning", "-f", "json", "-o", str(out))
    assert passing.exit_code == ExitCode.OK
    assert failing.exit_code == ExitCode.FINDINGS
    assert "match --fail-on warning" in failing.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    codes = {(f["code"], tuple(f["serials"])) for f in data["findings"]}
    assert ("dangling-reference", (MISSING_SERIAL, "MOD-16S-0312")) in codes
    assert data["summary"]["units"] == 80
    assert len(data["timeline"]) == 79


def test_audit_rejects_unknown_fail_on_values(server: Any) -> None:
    result = run(server, "audit", DEMO_START, "--fail-on", "bogus")
    assert result.exit_code == ExitCode.USAGE
    assert "bogus" in result.stderr
    assert server.total_requests == 0


def test_audit_filter_by_part_keeps_findings_about_that_part(server: Any) -> None:
    result = run(server, "audit", DEMO_START, "--part", "PCB-CONTACTOR", "-f", "json", "-q")
    data = json.loads(result.stdout)
    assert {f["code"] for f in data["findings"]} == {"failed-run-installed"}
    assert {e["serial"] for e in data["timeline"]} == {
        "PCB-CTR-1180",
        "BMS-R48-0031",
        "ESS-R48-0007",
    }


def test_summary_json_counts(server: Any) -> None:
    data = json.loads(run(server, "summary", DEMO_START, "-f", "json", "-q").stdout)
    assert data["units"] == 80
    assert data["by_outcome"]["FAIL"] == 1
    assert data["by_status"] == {"ok": 79, "not_found": 1}
    assert data["widest"] == {"serial": "MOD-16S-0312", "children": 18}
    assert data["findings"] == 8


def test_export_text_is_the_default_on_stdout_and_summary_on_stderr(server: Any) -> None:
    result = run(server, "export", DEMO_START)
    assert result.stdout.startswith("ESS-R48-0007 ESS-R48 rev B PASS")
    assert "ESS-R48" not in result.stdout.splitlines()[1]
    # one short summary line; the counts by part and outcome come with -v
    assert result.stderr.startswith("80 units (1 not found, 79 ok) in ")
    assert len(result.stderr.splitlines()) == 1
    verbose = run(server, "export", DEMO_START, "-v")
    assert "top-level assembly" in verbose.stderr and "CELL-21700-C-0199" in verbose.stderr
