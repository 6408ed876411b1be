"""`Audit.grouped`, `Audit.without` and `genealogy.queries.baseline`, on graphs built in memory."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest

import genealogy
from genealogy.errors import ExitCode, UsageError
from genealogy.finding_codes import CODES, SEVERITIES
from genealogy.queries import Audit, Baseline, BaselineError, Finding, audit
from tests.records import unit


def graph(failing: list[str], cells: int = 6) -> nx.DiGraph:
    """A module of `cells` cells, those in `failing` failed; CELL-9 is referenced, missing."""
    serials = [f"CELL-{i}" for i in range(cells)]
    records = [
        unit("MOD", children=[*serials, "CELL-9"]),
        *(unit(s, parent="MOD", outcome="FAIL" if s in failing else "PASS") for s in serials),
    ]
    return genealogy.from_records(records, "MOD")


def test_a_key_is_the_code_and_the_serials_sorted_each_once() -> None:
    one = Finding("failed-run-installed", "error", ("C", "M2", "M1"), "C's run ended FAIL")
    other = Finding("failed-run-installed", "error", ("M1", "C", "M2", "C"), "another text")
    assert one.key == other.key == ("failed-run-installed", ("C", "M1", "M2"))
    assert Finding("no-run", "info", ("C",), "").key != Finding("reworked", "info", ("C",), "").key


def test_grouped_is_by_code_worst_first_whatever_the_order_given() -> None:
    report = audit(graph(["CELL-1", "CELL-2"]))
    shuffled = Audit(report.timeline, tuple(reversed(report.findings)))
    groups = shuffled.grouped()
    assert [(g.code, len(g.findings)) for g in groups] == [
        ("dangling-reference", 1),
        ("failed-run-installed", 2),
    ]
    assert groups == report.grouped()
    ranks = [(SEVERITIES.index(g.severity), list(CODES).index(g.code)) for g in groups]
    assert ranks == sorted(ranks)
    assert Audit((), ()).grouped() == ()


def test_without_sets_codes_aside_and_refuses_unknown_ones() -> None:
    report = audit(graph(["CELL-1", "CELL-2"]))
    kept = report.without([" Failed-Run-Installed "])
    assert {f.code for f in kept.findings} == {"dangling-reference"}
    assert {f.code for f in kept.ignored} == {"failed-run-installed"}
    assert len(kept.ignored) == 2
    both = kept.without(["dangling-reference"])
    assert (both.findings, len(both.ignored)) == ((), 3)
    assert kept.timeline == report.timeline
    with pytest.raises(ValueError, match=r"unknown finding code 'failed'.*no-run"):
        report.without(["failed"])
    # restricted to a view, the set-aside findings are restricted too
    narrowed = kept.restricted_to({"CELL-1"})
    assert [f.serials for f in narrowed.ignored] == [("CELL-1", "MOD")]


def test_compare_accepts_known_findings_and_names_those_gone() -> None:
    before = audit(graph(["CELL-1", "CELL-2"]))
    baseline = Baseline.of(before)
    after = baseline.compare(audit(graph(["CELL-2", "CELL-3"])))
    assert [f.serials for f in after.findings] == [("CELL-3", "MOD")]
    assert {f.serials for f in after.accepted} == {("CELL-9", "MOD"), ("CELL-2", "MOD")}
    assert after.fixed == (("failed-run-installed", ("CELL-1", "MOD")),)
    data = after.to_dict()
    assert data["counts"] == {"error": 1, "warning": 0, "info": 0}
    assert len(data["accepted"]) == 2
    assert data["fixed"] == [{"code": "failed-run-installed", "serials": ["CELL-1", "MOD"]}]
    # a baseline of the compared report holds what still occurs, accepted or new
    assert Baseline.of(after) == Baseline.of(audit(graph(["CELL-2", "CELL-3"])))


def test_an_ignored_finding_is_neither_written_nor_fixed() -> None:
    report = audit(graph(["CELL-1"]))
    baseline = Baseline.of(report.without(["dangling-reference"]))
    assert {code for code, _ in baseline.keys} == {"failed-run-installed"}
    full = Baseline.of(report)
    compared = full.compare(report.without(["dangling-reference"]))
    assert compared.fixed == ()
    assert (len(compared.accepted), len(compared.ignored), compared.findings) == (1, 1, ())


def test_the_file_is_sorted_one_finding_a_line_and_reads_back(tmp_path: Path) -> None:
    report = audit(graph(["CELL-4", "CELL-1"]))
    baseline = Baseline.of(report)
    path = tmp_path / "deep" / "baseline.json"
    baseline.save(path)
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[:4] == [
        "{",
        '  "format": "genealogy-audit-baseline",',
        '  "version": 1,',
        '  "findings": [',
    ]
    entries = [json.loads(line.strip().rstrip(",")) for line in lines[4:-2]]
    assert [(e["code"], e["serials"]) for e in entries] == sorted(
        (code, list(serials)) for code, serials in baseline.keys
    )
    assert len(entries) == len(report.findings) == 3
    assert Baseline.load(path) == baseline
    assert json.loads(text)["findings"] == entries
    empty = Baseline(frozenset())
    assert Baseline.from_json(empty.to_json()) == empty
    assert json.loads(empty.to_json())["findings"] == []


def test_the_file_shows_data_text_safely_and_reads_it_back() -> None:
    odd = Baseline(frozenset({("no-run", ("電池-0001",)), ("no-run", ("EVIL\u202e-1",))}))
    text = odd.to_json()
    assert "電池-0001" in text  # readable as it is
    assert "\u202e" not in text and "\\u202e" in text  # a bidi control only as an escape
    assert Baseline.from_json(text) == odd


def test_a_code_this_version_does_not_know_matches_nothing_and_shows_as_fixed() -> None:
    text = json.dumps(
        {
            "format": "genealogy-audit-baseline",
            "version": 1,
            "findings": [{"code": "retired-code", "serials": ["A"]}],
        }
    )
    report = Baseline.from_json(text).compare(audit(graph([])))
    assert report.fixed == (("retired-code", ("A",)),)
    assert len(report.findings) == 1


def test_a_file_that_cannot_be_used_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(BaselineError, match=r"cannot read the audit baseline .*nowhere\.json"):
        Baseline.load(missing)
    folder = tmp_path
    with pytest.raises(BaselineError, match=re.escape(str(folder))):
        Baseline.load(folder)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BaselineError, match="not UTF-8 text"):
        Baseline.load(binary)
    assert issubclass(BaselineError, UsageError)
    assert BaselineError.exit_code == ExitCode.USAGE
    with pytest.raises(BaselineError, match='"version" should be a whole number'):
        Baseline.from_json('{"format": "genealogy-audit-baseline", "version": true}')
    with pytest.raises(BaselineError, match='"findings" should be a list'):
        Baseline.from_json('{"format": "genealogy-audit-baseline", "version": 1}')
    with pytest.raises(BaselineError, match="finding 2 should be"):
        Baseline.from_json(
            '{"format": "genealogy-audit-baseline", "version": 1, "findings": '
            '[{"code": "no-run", "serials": ["A"]}, {"code": "no-run", "serials": []}]}'
        )


def test_the_library_exports_the_baseline() -> None:
    assert genealogy.Baseline is Baseline


def mixed_module(cells: list[str], old: set[str]) -> nx.DiGraph:
    """A module whose `cells` are on revision B, except those in `old`, on A."""
    records = [
        unit("MOD", part="MODULE", children=cells),
        *(unit(s, part="CELL", parent="MOD", revision="A" if s in old else "B") for s in cells),
    ]
    return genealogy.from_records(records, "MOD")


def test_mixed_revisions_is_the_same_finding_while_the_odd_units_are() -> None:
    """The finding names every cell of the part, but a baseline knows it by the module and the
    cells off the usual revision: replacing a usual cell is no new finding, a new odd one is."""
    before = audit(mixed_module(["C1", "C2", "C3", "C4"], {"C2"}))
    [finding] = [f for f in before.findings if f.code == "mixed-revisions"]
    assert set(finding.serials) == {"C1", "C2", "C3", "C4"}
    assert finding.key == ("mixed-revisions", ("C2", "MOD"))
    accepted = Baseline.of(before)
    replaced = audit(mixed_module(["C1", "C2", "C3", "C5"], {"C2"}))  # C4 swapped for C5
    assert not [f for f in accepted.compare(replaced).findings if f.code == "mixed-revisions"]
    another = audit(mixed_module(["C1", "C2", "C3", "C4"], {"C2", "C3"}))
    assert [f.code for f in accepted.compare(another).findings] == ["mixed-revisions"]
