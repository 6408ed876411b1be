"""`genealogy audit` over HTTP: findings grouped by code and worst first, the timeline on
request, --ignore, a baseline written and read back while the data changes, the one stderr line
of -q, and every finding code documented in --help and the README."""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.errors import ExitCode
from genealogy.finding_codes import CODES, SEVERITIES
from genealogy.localserver import Fault, LocalTofuPilot
from tests.conftest import MakeServer, run_cli
from tests.records import unit

audit_module = importlib.import_module("genealogy.queries.audit")  # the package names a function so
README = Path(__file__).resolve().parent.parent / "README.md"


def run(server: Any, *args: str) -> Result:
    return run_cli(server, "audit", *args, "--no-cache")


def headers(text: str) -> list[tuple[str, ...]]:
    """(severity, code, ×count) of each group's header line."""
    rows = [tuple(line.split()) for line in text.splitlines()]
    return [row for row in rows if row and row[0] in SEVERITIES]


def expected_headers(findings: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """What the JSON's findings should give, grouped: by severity, then in the order of CODES."""
    counts = Counter(finding["code"] for finding in findings)
    order = sorted(
        counts, key=lambda code: (SEVERITIES.index(CODES[code]), list(CODES).index(code))
    )
    return [(CODES[code], code, f"×{counts[code]}") for code in order]


def test_findings_come_first_grouped_by_code_worst_first(server: LocalTofuPilot) -> None:
    text = run(server, DEMO_START)
    data = json.loads(run(server, DEMO_START, "-f", "json").stdout)
    assert text.exit_code == ExitCode.OK
    lines = text.stdout.splitlines()
    counts = data["counts"]
    assert lines[0] == (
        f"{len(data['findings'])} findings: {counts['error']} error, "
        f"{counts['warning']} warning, {counts['info']} info"
    )
    assert headers(text.stdout) == expected_headers(data["findings"])
    assert [h[1] for h in headers(text.stdout)][:2] == [
        "dangling-reference",
        "failed-run-installed",
    ]
    # every finding's message, under its code, in the JSON's order (no group is cut at 5 here)
    assert [line[2:] for line in lines if line.startswith("  ")] == [
        f["message"] for f in data["findings"]
    ]
    assert "Timeline" not in text.stdout  # only on request; JSON always has it
    assert len(data["timeline"]) == 79
    assert (data["ignored"], data["accepted"], data["fixed"]) == ([], [], [])


def test_the_timeline_comes_after_the_findings_with_timeline(server: LocalTofuPilot) -> None:
    plain = run(server, DEMO_START).stdout
    both = run(server, DEMO_START, "--timeline").stdout
    data = json.loads(run(server, DEMO_START, "-f", "json").stdout)
    findings, timeline = both.split("\n\nTimeline (79 units)\n")
    assert findings + "\n" == plain
    rows = timeline.splitlines()[1:]
    assert [row.split()[1] for row in rows] == [entry["serial"] for entry in data["timeline"]]


def test_hundreds_of_findings_of_one_code_read_as_one_group(make_server: MakeServer) -> None:
    cells = [f"CELL-{i:03}" for i in range(60)]
    server = make_server(
        [unit("MOD", children=cells), *(unit(c, parent="MOD", outcome="FAIL") for c in cells)]
    )
    lines = run(server, "MOD").stdout.splitlines()
    assert lines[0] == "60 findings: 60 error"
    assert lines[2] == "error    failed-run-installed  ×60"
    assert lines[3:] == [
        *(f"  {cell}'s run ended FAIL, yet it is installed in MOD" for cell in cells[:5]),
        "  … and 55 more (-v lists every one)",
    ]
    verbose = run(server, "MOD", "-v").stdout.splitlines()
    assert verbose[3:] == [f"  {c}'s run ended FAIL, yet it is installed in MOD" for c in cells]


def test_ignored_codes_are_not_shown_counted_or_failing(server: LocalTofuPilot) -> None:
    args = (DEMO_START, "--ignore", "failed-run-installed", "--ignore", "no-run,MIXED-REVISIONS")
    result = run(server, *args, "--fail-on", "error")
    data = json.loads(run(server, *args, "-f", "json").stdout)
    assert result.exit_code == ExitCode.FINDINGS  # the dangling reference still fails it
    assert result.stdout.splitlines()[0] == (
        "2 findings: 1 error, 1 warning; 6 ignored (failed-run-installed, mixed-revisions, no-run)"
    )
    assert [h[1] for h in headers(result.stdout)] == [
        "dangling-reference",
        "child-after-parent-assembly",
    ]
    assert "1 finding matches --fail-on error (dangling-reference ×1); 6 ignored" in result.stderr
    assert Counter(f["code"] for f in data["ignored"]) == {
        "failed-run-installed": 4,
        "mixed-revisions": 1,
        "no-run": 1,
    }
    assert {f["code"] for f in data["findings"]} == {
        "dangling-reference",
        "child-after-parent-assembly",
    }
    assert data["summary"]["findings"] == 2
    ignoring_errors = run(
        server,
        DEMO_START,
        "--ignore",
        "dangling-reference,failed-run-installed",
        "--fail-on",
        "error",
    )
    assert ignoring_errors.exit_code == ExitCode.OK


def test_an_unknown_code_to_ignore_is_a_usage_error(server: LocalTofuPilot) -> None:
    result = run(server, DEMO_START, "--ignore", "no-runs")
    assert result.exit_code == ExitCode.USAGE
    assert "unknown finding code 'no-runs'" in result.stderr
    assert "no-run, unexplored" in result.stderr  # the valid codes are named
    assert server.total_requests == 0


def set_outcome(server: LocalTofuPilot, serial: str, outcome: str) -> None:
    record = copy.deepcopy(dict(server.units[serial]))
    record["created_during"]["outcome"] = outcome
    server.units[serial] = record


def test_a_baseline_fails_ci_only_on_new_findings(server: LocalTofuPilot, tmp_path: Path) -> None:
    baseline = tmp_path / "ci" / "audit-baseline.json"
    written = run(server, DEMO_START, "--write-baseline", str(baseline), "--fail-on", "any")
    # writing a baseline changes neither the report nor the exit code
    assert written.exit_code == ExitCode.FINDINGS
    assert written.stdout.startswith("8 findings: 5 error, 2 warning, 1 info\n")
    assert f"wrote baseline {baseline} (8 findings)" in written.stderr
    text = baseline.read_text(encoding="utf-8")
    saved = json.loads(text)
    assert (saved["format"], saved["version"]) == ("genealogy-audit-baseline", 1)
    entries = [(entry["code"], entry["serials"]) for entry in saved["findings"]]
    assert entries == sorted(entries)  # sorted: a diff shows findings added or gone
    assert all(serials == sorted(serials) for _, serials in entries)
    assert ("dangling-reference", sorted([MISSING_SERIAL, "MOD-16S-0312"])) in entries
    assert text.count("\n") == len(entries) + 6  # one line per finding

    accepted = run(server, DEMO_START, "--baseline", str(baseline), "--fail-on", "any")
    assert accepted.exit_code == ExitCode.OK, accepted.output
    assert accepted.stdout == "No findings; 8 accepted by the baseline\n"

    # the same data crawled again in another order: the same findings
    module = dict(server.units["MOD-16S-0312"])
    server.units["MOD-16S-0312"] = {**module, "children": list(reversed(module["children"]))}
    assert run(server, DEMO_START, "--baseline", str(baseline), "--fail-on", "any").exit_code == 0

    # one cell fails that passed, one that timed out passes now
    set_outcome(server, "CELL-21700-C-0101", "FAIL")
    set_outcome(server, "CELL-21700-C-0118", "PASS")
    new = run(server, DEMO_START, "--baseline", str(baseline), "--fail-on", "any")
    assert new.exit_code == ExitCode.FINDINGS
    assert new.stdout.splitlines() == [
        "1 finding: 1 error; 7 accepted by the baseline; "
        "1 baseline entry no longer found (fixed: -v lists it)",
        "",
        "error    failed-run-installed  ×1",
        "  CELL-21700-C-0101's run ended FAIL, yet it is installed in MOD-16S-0311",
    ]
    assert (
        "1 new finding matches --fail-on any (failed-run-installed ×1); 7 accepted by the baseline"
        in new.stderr
    )
    assert "from cache; 1 finding\n" in new.stderr  # the crawl's line, in the singular
    verbose = run(server, DEMO_START, "--baseline", str(baseline), "-v").stdout
    assert verbose.splitlines()[0].endswith("; 1 baseline entry no longer found (fixed)")
    assert verbose.endswith(
        "No longer found, though the baseline accepted them (1):\n"
        "  failed-run-installed: CELL-21700-C-0118, MOD-16S-0312\n"
    )
    data = json.loads(run(server, DEMO_START, "--baseline", str(baseline), "-f", "json").stdout)
    assert [f["serials"] for f in data["findings"]] == [["CELL-21700-C-0101", "MOD-16S-0311"]]
    assert len(data["accepted"]) == 7
    assert data["fixed"] == [
        {"code": "failed-run-installed", "serials": ["CELL-21700-C-0118", "MOD-16S-0312"]}
    ]

    # accepting the new state: the same file read and rewritten in one run
    run(server, DEMO_START, "--baseline", str(baseline), "--write-baseline", str(baseline))
    again = run(server, DEMO_START, "--baseline", str(baseline), "--fail-on", "any")
    assert again.exit_code == ExitCode.OK
    assert again.stdout == "No findings; 8 accepted by the baseline\n"


def test_a_baseline_does_not_accept_what_was_ignored_when_written(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    run(server, DEMO_START, "--ignore", "no-run", "--write-baseline", str(baseline))
    assert "no-run" not in baseline.read_text(encoding="utf-8")
    result = run(server, DEMO_START, "--baseline", str(baseline), "--fail-on", "info")
    assert result.exit_code == ExitCode.FINDINGS
    assert [h[1] for h in headers(result.stdout)] == ["no-run"]
    # ignored again, it is neither new nor fixed
    ignored = run(server, DEMO_START, "--baseline", str(baseline), "--ignore", "no-run")
    assert ignored.stdout == "No findings; 1 ignored (no-run); 7 accepted by the baseline\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the audit baseline"),
        ("{not json", "is not JSON"),
        ('{"findings": []}', 'expected a JSON object with "format": "genealogy-audit-baseline"'),
        (
            '{"format": "genealogy-audit-baseline", "version": 2, "findings": []}',
            "has version 2, written by a newer genealogy",
        ),
        (
            '{"format": "genealogy-audit-baseline", "version": 1, "findings": [{"code": "x"}]}',
            'finding 1 should be {"code": "...", "serials": ["...", ...]}',
        ),
    ],
)
def test_a_baseline_that_cannot_be_used_is_a_usage_error_naming_it(
    server: LocalTofuPilot, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run(server, DEMO_START, "--baseline", str(path))
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert str(path) in result.stderr
    assert f"Write one with --write-baseline {path}." in result.stderr
    assert server.total_requests == 0  # refused before the crawl


def test_quiet_still_says_why_the_exit_code_is_not_zero(server: LocalTofuPilot) -> None:
    findings = run(server, DEMO_START, "-q", "--fail-on", "error")
    assert findings.exit_code == ExitCode.FINDINGS
    assert findings.stderr == (
        "genealogy: exit 9: 5 findings match --fail-on error "
        "(dangling-reference ×1, failed-run-installed ×4)\n"
    )
    server.faults["PCB-COM-0577"] = Fault(status=500, times=None)
    incomplete = run(server, DEMO_START, "-q", "--retries", "0")
    assert incomplete.exit_code == ExitCode.INCOMPLETE
    assert incomplete.stderr == "genealogy: exit 3: 1 unit failed: PCB-COM-0577 (error)\n"
    both = run(server, DEMO_START, "-q", "--retries", "0", "--fail-on", "fetch-error")
    assert both.exit_code == ExitCode.FINDINGS  # 9 takes precedence over 3
    assert both.stderr == (
        "genealogy: exit 9: 1 finding matches --fail-on fetch-error (fetch-error ×1)\n"
    )
    assert run(server, DEMO_START, "-q", "--ignore", "fetch-error", "--retries", "0").stderr == (
        "genealogy: exit 3: 1 unit failed: PCB-COM-0577 (error)\n"
    )


# -- every code documented --------------------------------------------------------------------


def produced_codes() -> set[str]:
    """The codes the checks in genealogy/queries/audit.py report: each `_finding("code", ...)`."""
    source = Path(str(audit_module.__file__)).read_text(encoding="utf-8")
    return set(re.findall(r'_finding\(\s*"([a-z-]+)"', source))


def readme_codes() -> dict[str, str]:
    """The README's table of finding codes: code -> severity."""
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| (error|warning|info) \|", text, re.MULTILINE)
    return dict(rows)


def test_every_finding_code_is_documented_in_help_and_readme() -> None:
    produced = produced_codes()
    assert len(produced) >= 15
    assert produced == set(CODES)
    help_text = run_cli("http://127.0.0.1:9", "audit", "--help").stdout
    listed = help_text.split("Finding codes")[1]
    in_help = dict(re.findall(r"^\s+([a-z-]+)\s+(error|warning|info)\s", listed, re.MULTILINE))
    assert in_help == CODES
    assert readme_codes() == CODES
    readme = README.read_text(encoding="utf-8")
    for code in CODES:  # each row of the table also says what to do
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{code}` |"))
        assert row.count(" | ") == 4 and row.rstrip(" |").split(" | ")[-1].strip(), row


# -- filters ------------------------------------------------------------------------------------


def tree_serials(result: Result) -> set[str]:
    return {line.lstrip("│├└─ ").split(" ")[0] for line in result.stdout.splitlines()}


def test_filters_combine_kinds_with_and_values_with_or_in_any_case(
    server: LocalTofuPilot,
) -> None:
    def tree(*filters: str) -> Result:
        return run_cli(server, "tree", DEMO_START, *filters, "--no-cache")

    cell_path = {"ESS-R48-0007", "MOD-16S-0313", DEMO_START}  # the cell that failed, and above
    pcb_path = {"ESS-R48-0007", "BMS-R48-0031", "PCB-CTR-1180"}  # the board that errored
    assert tree_serials(tree("--outcome", "fail,ERROR")) == cell_path | pcb_path
    assert tree_serials(tree("--outcome", "FAIL,error", "--part", "cell-21700")) == cell_path
    assert tree_serials(tree("--outcome", "Fail", "--part", "CELL-21700,pcb-contactor")) == (
        cell_path
    )
    both = tree(
        "--outcome", "fail", "--outcome", "error", "--part", "cell-21700", "--part", "PCB-CONTACTOR"
    )
    assert tree_serials(both) == cell_path | pcb_path
    assert len(tree_serials(tree("--part", "cell-21700"))) == 65 + 4 + 1  # cells, modules, rack

    nothing = run(server, DEMO_START, "--outcome", "timeout", "--part", "pcb-contactor")
    assert nothing.exit_code == ExitCode.OK
    assert nothing.stdout == "No findings\n"
    assert "no unit matches --outcome timeout --part pcb-contactor" in nothing.stderr


def test_filter_help_says_how_values_combine_and_that_case_does_not_matter() -> None:
    text = " ".join(run_cli("http://127.0.0.1:9", "tree", "--help").stdout.split())
    outcome = text.split("--outcome TEXT")[1].split("--part TEXT")[0]
    part = text.split("--part TEXT")[1]
    for described in (outcome, part):
        assert "in any case" in described
        assert "any of them (OR)" in described
        assert "matching both (AND)" in described
