"""Tolerance by purpose: a record is unreadable only when what a genealogy needs is broken;
a malformed descriptive field is repaired with a warning, and serials match in any case."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pydantic
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from genealogy.cli import main
from genealogy.errors import ExitCode
from genealogy.localserver import LocalTofuPilot
from genealogy.models import Unit
from genealogy.queries import audit, summarise
from genealogy.records import MAX_WARNINGS, UnreadableRecord, read_unit
from genealogy.renderers.json import load
from genealogy.runner import CrawlOptions, run_crawl
from tests import strategies
from tests.conftest import API_KEY
from tests.plant import crawl
from tests.records import ref, unit

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def core(parsed: Unit) -> tuple[Any, ...]:
    run = parsed.created_during
    return (
        parsed.serial_number,
        parsed.part.number,
        parsed.part.revision.number,
        parsed.parent.serial_number if parsed.parent else None,
        [child.serial_number for child in parsed.children],
        (run.id, run.outcome) if run else None,
    )


@pytest.mark.slow
@PROPERTY
@given(strategies.broken_records())
def test_a_broken_record_is_unreadable_exactly_when_a_needed_field_is_broken(
    broken: tuple[tuple[str | int, ...], dict[str, Any]],
) -> None:
    path, record = broken
    if path in strategies.CORE_PATHS:
        with pytest.raises(UnreadableRecord) as raised:
            read_unit(record)
        assert ".".join(map(str, path)) in str(raised.value)
        return
    read = read_unit(record)
    assert read.warnings, "a repair always says what it repaired"
    assert read.warnings[0].startswith(str(path[0]))
    with pytest.raises(pydantic.ValidationError):
        Unit.model_validate(record)  # the model itself stays strict


@pytest.mark.parametrize(
    ("broken", "warning"),
    [
        ({"created_at": "2024-13-01T00:00:00Z"}, "created_at: "),
        ({"id": 7}, "id: "),
        (
            {"created_during": {**unit("A")["created_during"], "duration": "forever"}},
            "created_during.duration: ",
        ),
        (
            {"created_during": {**unit("A")["created_during"], "procedure": "EOL"}},
            "created_during.procedure: ",
        ),
        ({"created_by_user": {"id": "u", "name": 5}}, "created_by_user: name: "),
        ({"batch": {"number": "LOT-1"}}, "batch: id: "),
        ({"sample": ["golden"]}, "sample: "),
        ({"children": [ref("C") | {"part": "CELL"}]}, "children.0.part: "),
        ({"parent": ref("P") | {"id": None, "part": {"number": 1}}}, "parent.part"),
        ({"metadata": "fw=1.2"}, "metadata: "),
    ],
    ids=repr,
)
def test_a_malformed_descriptive_field_is_repaired_with_a_warning(
    broken: dict[str, Any], warning: str
) -> None:
    record = copy.deepcopy(unit("A", children=["C"])) | broken
    read = read_unit(record)
    assert len(read.warnings) == 1 and read.warnings[0].startswith(warning), read.warnings
    assert read.unit.serial_number == "A" and read.unit.part.number == "P-1"
    assert record == copy.deepcopy(unit("A", children=["C"])) | broken  # input untouched


def test_a_bad_attachment_is_dropped_and_the_others_kept() -> None:
    good = {"id": "a1", "name": "log", "size": None, "content_type": None, "download_url": None}
    bad = {"id": "a2", "name": "scope.png", "download_url": 404}
    record = unit("A", attachments=[good, bad, {**good, "id": "a3"}])
    read = read_unit(record)
    assert [a.id for a in read.unit.attachments] == ["a1", "a3"]
    assert read.warnings == (
        "attachments.1: size: Field required; content_type: Field required; "
        "download_url: Input should be a valid string (attachment dropped)",
    )


def test_a_metadata_value_of_another_type_is_kept_as_text() -> None:
    record = unit("A", metadata={"fw": "1.2", "limits": {"v": [3.0, 4.2]}, "note": None})
    read = read_unit(record)
    assert read.unit.metadata == {"fw": "1.2", "limits": '{"v": [3.0, 4.2]}', "note": "null"}
    assert len(read.warnings) == 2 and all("kept as text" in w for w in read.warnings)


def test_warnings_are_capped_per_unit() -> None:
    bad = [{"id": f"a{i}", "name": "x", "size": "big"} for i in range(500)]
    read = read_unit(unit("A", attachments=bad))
    assert len(read.warnings) == MAX_WARNINGS + 1
    assert read.warnings[-1].startswith(f"... and {500 - MAX_WARNINGS} more")
    assert read.unit.attachments == []


@pytest.mark.parametrize(
    "broken",
    [
        {"serial_number": None},
        {"part": {"id": "p", "number": "P", "name": "n", "revision": None}},
        {"parent": {"id": "x", "serial_number": 5, "part": None}},
        {"children": [ref("C") | {"serial_number": None}]},
        {"children": ["C"]},
        {"created_during": {**unit("A")["created_during"], "outcome": None}},
        {"created_during": "run-1"},
    ],
    ids=repr,
)
def test_what_a_genealogy_needs_cannot_be_repaired(broken: dict[str, Any]) -> None:
    with pytest.raises(UnreadableRecord):
        read_unit(unit("A") | broken)


# Over HTTP ------------------------------------------------------------------------------------


def test_a_crawl_keeps_a_unit_with_malformed_descriptive_fields_ok(make_server: Any) -> None:
    """The report that started it: attachments without a valid download URL made 5 units of a
    200-unit assembly `error`, and the export exit 3."""
    attachment = {"id": "a", "name": "log", "size": 1, "content_type": "x", "download_url": 7}
    server = make_server(
        [
            unit("TOP", children=["M1"]),
            unit("M1", parent="TOP", attachments=[attachment], created_by_user={"id": 1}),
        ]
    )
    graph = crawl(server, "TOP")
    assert {n: a["status"] for n, a in graph.nodes(data=True)} == {"TOP": "ok", "M1": "ok"}
    warnings = graph.nodes["M1"]["warnings"]
    assert warnings == [
        "attachments.0: download_url: Input should be a valid string (attachment dropped)",
        "created_by_user: id: Input should be a valid string; name: Field required (set to null)",
    ]
    assert graph.nodes["TOP"]["warnings"] == []
    report = audit(graph)
    assert [(f.code, f.serials) for f in report.findings if f.code == "repaired-record"] == [
        ("repaired-record", ("M1",))
    ]
    summary = summarise(graph)
    assert (summary.warnings, summary.units_with_warnings) == (2, 1)


def test_warnings_survive_the_cache(make_server: Any, tmp_path: Path) -> None:
    server = make_server([unit("A", metadata={"x": [1]})])
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, cache_path=tmp_path / "c.db")
    first = run_crawl("A", options)
    second = run_crawl("a", options)  # another case: the same cache row
    assert server.total_requests == 1
    assert second.units["A"].cached
    assert second.units["A"].attrs is not None and first.units["A"].attrs is not None
    assert second.units["A"].attrs["warnings"] == first.units["A"].attrs["warnings"] != []
    assert second.start == "A"


# Case-insensitive serial numbers --------------------------------------------------------------


def pack() -> list[dict[str, Any]]:
    """A pack whose records name each other in varying case, as real data does."""
    return [
        unit("PACK-0001", children=["mod-0001", "MOD-0002"]),
        unit("MOD-0001", parent="pack-0001", children=["Cell-0001"]),
        unit("MOD-0002", parent="PACK-0001", children=["CELL-0002"]),
        unit("CELL-0001", parent="MOD-0001"),
        unit("CELL-0002", parent="mod-0002"),
    ]


def cli(server: LocalTofuPilot, *args: str) -> Any:
    environment = {"TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": API_KEY}
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


def test_the_local_server_matches_serials_in_any_case(make_server: Any) -> None:
    server = make_server(pack())
    assert server.answer("/api/v2/units/pack-0001", f"Bearer {API_KEY}")[0] == 200
    status, _, body = server.answer("/api/v2/units/cElL-0002", f"Bearer {API_KEY}")
    assert status == 200 and json.loads(body)["serial_number"] == "CELL-0002"


def test_a_crawl_from_a_lower_case_serial_has_one_node_per_unit(
    make_server: Any, tmp_path: Path
) -> None:
    server = make_server(pack())
    out = tmp_path / "pack.json"
    result = cli(server, "export", "pack-0001", "-o", str(out), "--no-cache")
    assert result.exit_code == ExitCode.OK, result.output
    graph = load(out.read_text(encoding="utf-8"))
    assert sorted(graph) == ["CELL-0001", "CELL-0002", "MOD-0001", "MOD-0002", "PACK-0001"]
    assert all(attrs["status"] == "ok" for _, attrs in graph.nodes(data=True))
    assert graph.graph["start"] == "PACK-0001" and graph.nodes["PACK-0001"]["start"]
    assert set(graph.edges()) == {
        ("PACK-0001", "MOD-0001"),
        ("PACK-0001", "MOD-0002"),
        ("MOD-0001", "CELL-0001"),
        ("MOD-0002", "CELL-0002"),
    }
    assert all(attrs["declared_by"] == ["child", "parent"] for *_, attrs in graph.edges(data=True))
    assert server.endpoint_requests["unit"] == 0  # the default: levels through the list
    per_unit = cli(server, "export", "pack-0001", "-o", str(out), "--no-cache", "--via", "get")
    assert per_unit.exit_code == ExitCode.OK, per_unit.output
    assert sorted(load(out.read_text(encoding="utf-8"))) == sorted(graph)
    assert server.endpoint_requests["unit"] == 5


def test_audit_of_a_lower_case_start_reports_no_mismatch(make_server: Any) -> None:
    server = make_server(pack())
    result = cli(server, "audit", "cell-0001", "-f", "json", "--no-cache")
    assert result.exit_code == ExitCode.OK, result.output
    codes = {finding["code"] for finding in json.loads(result.stdout)["findings"]}
    assert not codes & {"serial-mismatch", "inconsistent-link", "dangling-reference"}
