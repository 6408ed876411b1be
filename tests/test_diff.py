"""`genealogy diff` and `genealogy.diff`: a unit's assembly compared with its golden sample.

The packs are built here from one recipe (`pack`), each changed in one known way from the
golden pack: one lacks a cell, one has its BMS on another revision, one has an extra part, one
is built exactly alike. Serials and batches differ in every pack, as they always do. The CLI
is run against the real local server over HTTP, on the command's own default path (the list
endpoint and run histories: `via=None`); the pure comparison is tested on graphs built in
memory with `genealogy.from_records`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import pytest

import genealogy
from genealogy.errors import ExitCode
from genealogy.localserver import LocalTofuPilot
from genealogy.queries.diff import DEFAULT_KINDS, KINDS, compare, format_text, marked
from genealogy.queries.trace import UnknownSerial
from tests.conftest import API_KEY, MakeServer, run_cli
from tests.records import ref, unit

if TYPE_CHECKING:
    from tests.browser import BrowserPage

PACK_PART, BMS_PART, MODULE_PART, CELL_PART, BOARD_PART, FAN_PART = (
    "PACK-48V",
    "BMS-MAIN",
    "MOD-4S",
    "CELL-18650",
    "PCB-MCB",
    "FAN-40",
)
CELLS_PER_MODULE = 4
GOLDEN = "GOLD-PACK-0001"
OLDER_GOLDEN = "GOLD-PACK-0009"  # older (a higher serial): its BMS on rev A
MISSING_CELL, OTHER_BMS, EXTRA_PART, ALIKE = "PACK-0101", "PACK-0102", "PACK-0103", "PACK-0104"
NO_GOLDEN = "LONE-0001"  # a part with no golden sample at all


def pack(
    serial: str,
    *,
    day: int,
    sample: str | None = None,
    bms_revision: str = "B",
    cells: tuple[int, int] = (CELLS_PER_MODULE, CELLS_PER_MODULE),
    fan: bool = False,
    part: str = PACK_PART,
) -> list[dict[str, Any]]:
    """A pack: a BMS and two modules, each with a controller board and its cells (a batch of
    its own per pack), plus a fan if asked. Serials are the pack's, suffixed."""
    created = f"2026-02-{day:02d}T10:00:00Z"

    def part_unit(
        name: str, parent: str | None, part_number: str, revision: str, **more: Any
    ) -> dict[str, Any]:
        return unit(
            name, parent=parent, part=part_number, revision=revision, created_at=created, **more
        )

    records = []
    bms, modules = f"{serial}-BMS", [f"{serial}-M{number}" for number in (1, 2)]
    children = [bms, *modules] + ([f"{serial}-FAN"] if fan else [])
    records.append(part_unit(serial, None, part, "A", children=children, sample=sample))
    records.append(part_unit(bms, serial, BMS_PART, bms_revision))
    if fan:
        records.append(part_unit(f"{serial}-FAN", serial, FAN_PART, "A"))
    for module, count in zip(modules, cells, strict=True):
        module_cells = [f"{module}-C{index}" for index in range(1, count + 1)]
        board = f"{module}-MCB"
        records.append(part_unit(module, serial, MODULE_PART, "C", children=[board, *module_cells]))
        records.append(part_unit(board, module, BOARD_PART, "E"))
        batch = {"id": f"batch-{serial}", "number": f"LOT-{serial}"}
        records.extend(
            part_unit(cell, module, CELL_PART, "D", batch=batch) for cell in module_cells
        )
    return with_parts_in_references(records)


def with_parts_in_references(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each parent and child reference describing its unit's own part and revision, as the
    service's do (`tests.records.unit` describes every referenced unit as part P-1)."""
    parts = {
        r["serial_number"]: (r["part"]["number"], r["part"]["revision"]["number"]) for r in records
    }
    for record in records:
        record["children"] = [
            ref(child["serial_number"], *parts[child["serial_number"]])
            for child in record["children"]
        ]
        if record["parent"]:
            record["parent"] = ref(
                record["parent"]["serial_number"], *parts[record["parent"]["serial_number"]]
            )
    return records


def factory() -> list[dict[str, Any]]:
    """The golden pack, an older golden pack, the four packs built from the golden one, a
    golden module (another part: never the pack's reference) and a unit of a part with no
    golden sample."""
    return [
        *pack(OLDER_GOLDEN, day=1, sample="golden", bms_revision="A"),
        *pack(GOLDEN, day=2, sample="golden"),
        *pack(MISSING_CELL, day=10, cells=(CELLS_PER_MODULE, CELLS_PER_MODULE - 1)),
        *pack(OTHER_BMS, day=11, bms_revision="C"),
        *pack(EXTRA_PART, day=12, fan=True),
        *pack(ALIKE, day=13),
        unit(
            "GOLD-MOD-0009",
            part=MODULE_PART,
            revision="C",
            sample="golden",
            created_at="2026-02-20T10:00:00Z",
        ),
        *pack(NO_GOLDEN, day=14, part="LONE-PACK"),
    ]


EXPECTED: dict[str, list[dict[str, Any]]] = {
    MISSING_CELL: [
        {
            "kind": "missing",
            "path": [PACK_PART, MODULE_PART],
            "part_number": CELL_PART,
            "expected": "D",
            "actual": None,
            "count": 1,
            "serials": [f"{MISSING_CELL}-M2"],
        }
    ],
    OTHER_BMS: [
        {
            "kind": "revision",
            "path": [PACK_PART],
            "part_number": BMS_PART,
            "expected": "B",
            "actual": "C",
            "count": 1,
            "serials": [f"{OTHER_BMS}-BMS"],
        }
    ],
    EXTRA_PART: [
        {
            "kind": "extra",
            "path": [PACK_PART],
            "part_number": FAN_PART,
            "expected": None,
            "actual": "A",
            "count": 1,
            "serials": [f"{EXTRA_PART}-FAN"],
        }
    ],
    ALIKE: [],
}
"""What each pack was built to differ in from the golden pack (its recipe above)."""


@pytest.fixture
def packs(make_server: MakeServer) -> LocalTofuPilot:
    return make_server(factory())


def differences(output: str) -> list[dict[str, Any]]:
    """The JSON differences without `reference_serials` (checked on their own)."""
    return [
        {key: value for key, value in item.items() if key != "reference_serials"}
        for item in json.loads(output)["differences"]
    ]


# -- the command, over HTTP --------------------------------------------------------------------


@pytest.mark.parametrize("serial", list(EXPECTED))
def test_golden_finds_each_packs_one_difference(packs: LocalTofuPilot, serial: str) -> None:
    result = run_cli(packs, "diff", serial, "--golden", "-f", "json", via=None)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["reference"]["serial_number"] == GOLDEN  # the newest golden of the pack's part
    assert data["reference"]["sample"] == "golden"
    assert differences(result.stdout) == EXPECTED[serial]
    assert data["identical"] is (not EXPECTED[serial])
    assert f"newest golden sample of part {PACK_PART}" in result.stderr


def test_against_takes_serials_in_any_case(packs: LocalTofuPilot) -> None:
    golden = run_cli(packs, "diff", OTHER_BMS, "--golden", "-f", "json", via=None)
    against = run_cli(
        packs, "diff", OTHER_BMS.lower(), "--against", GOLDEN.lower(), "-f", "json", via=None
    )
    assert against.exit_code == 0, against.stderr
    data = json.loads(against.stdout)
    assert data["unit"]["serial_number"] == OTHER_BMS  # as the record spells it
    assert data["reference"]["serial_number"] == GOLDEN
    assert data["differences"] == json.loads(golden.stdout)["differences"]
    assert data["differences"][0]["reference_serials"] == [f"{GOLDEN}-BMS"]


def test_against_an_older_golden_sample(packs: LocalTofuPilot) -> None:
    """The golden sample itself, with --golden, is compared with the newest other one."""
    result = run_cli(packs, "diff", GOLDEN, "--golden", "-f", "json", via=None)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["reference"]["serial_number"] == OLDER_GOLDEN
    assert [(d["kind"], d["expected"], d["actual"]) for d in data["differences"]] == [
        ("revision", "A", "B")
    ]


class CarelessServer(LocalTofuPilot):
    """A list endpoint that ignores `samples`, `sort_by` and `sort_order`: every unit of the
    part, oldest first, as a careless or older service might answer."""

    def list_units(self, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        ignored = {"samples", "sort_by", "sort_order"}
        kept = {name: values for name, values in params.items() if name not in ignored}
        return super().list_units({**kept, "sort_by": ["created_at"], "sort_order": ["asc"]})


def test_golden_checks_the_sample_and_the_date_itself() -> None:
    server = CarelessServer(factory(), api_key=API_KEY).start()
    try:
        result = run_cli(server, "diff", OTHER_BMS, "--golden", "-f", "json", via=None)
    finally:
        server.stop()
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["reference"]["serial_number"] == GOLDEN
    assert differences(result.stdout) == EXPECTED[OTHER_BMS]


def test_text_reads_like_diff(packs: LocalTofuPilot) -> None:
    lines = {
        serial: run_cli(packs, "diff", serial, "--golden", via=None).stdout.splitlines()
        for serial in EXPECTED
    }
    for serial, text in lines.items():
        assert text[0].startswith(f"--- {GOLDEN} ({PACK_PART} rev A, golden sample)")
        assert text[1].startswith(f"+++ {serial} ({PACK_PART} rev A)")
    assert lines[MISSING_CELL][2] == (
        f"- {CELL_PART} rev D at {PACK_PART} > {MODULE_PART} (in {MISSING_CELL}-M2)"
    )
    assert lines[OTHER_BMS][2] == f"~ {BMS_PART} rev B -> rev C at {PACK_PART} ({OTHER_BMS}-BMS)"
    assert lines[EXTRA_PART][2] == f"+ {FAN_PART} rev A at {PACK_PART} ({EXTRA_PART}-FAN)"
    assert lines[ALIKE][2].startswith("No differences")
    assert len(lines[ALIKE]) == 3


def test_colour_only_when_asked(packs: LocalTofuPilot) -> None:
    coloured = run_cli(packs, "diff", OTHER_BMS, "--golden", "--color", "always", via=None)
    plain = run_cli(packs, "diff", OTHER_BMS, "--golden", via=None)  # not a terminal
    assert "\x1b[33m~ " in coloured.stdout and "\x1b" not in plain.stdout
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured.stdout) == plain.stdout


@pytest.mark.parametrize("serial", list(EXPECTED))
def test_exit_code_says_whether_it_differs(packs: LocalTofuPilot, serial: str) -> None:
    plain = run_cli(packs, "diff", serial, "--golden", via=None)
    strict = run_cli(packs, "diff", serial, "--golden", "--exit-code", via=None)
    assert plain.exit_code == 0
    differs = bool(EXPECTED[serial])
    assert (
        strict.exit_code
        == (ExitCode.DIFFERENCES if differs else ExitCode.OK)
        == (11 if differs else 0)
    )
    assert strict.stdout == plain.stdout
    quiet = run_cli(packs, "diff", serial, "--golden", "--exit-code", "-q", via=None)
    assert quiet.exit_code == strict.exit_code
    assert ("exit 11" in quiet.stderr) is differs


def test_a_limited_crawl_is_never_called_identical(packs: LocalTofuPilot) -> None:
    """A gate in CI must not pass a unit it could not compare whole: a crawl cut by
    --max-units leaves units unexplored, so --exit-code gives 3 and JSON is not identical."""
    args = ("diff", ALIKE, "--golden", "--max-units", "5")
    data = json.loads(run_cli(packs, *args, "-f", "json", via=None).stdout)
    assert data["unfetched"] and data["identical"] is False
    gate = run_cli(packs, *args, "--exit-code", via=None)
    assert gate.exit_code == ExitCode.INCOMPLETE, gate.output
    assert "built like the reference" not in gate.stdout
    quiet = run_cli(packs, *args, "--exit-code", "-q", via=None)
    assert quiet.exit_code == ExitCode.INCOMPLETE
    assert "not fetched, so not compared" in quiet.stderr
    whole = run_cli(packs, "diff", ALIKE, "--golden", "--exit-code", via=None)
    assert whole.exit_code == ExitCode.OK and "built like the reference" in whole.stdout


def test_no_golden_sample_names_the_part(packs: LocalTofuPilot) -> None:
    result = run_cli(packs, "diff", NO_GOLDEN.lower(), "--golden", via=None)
    assert result.exit_code == ExitCode.START_NOT_FOUND
    assert result.stdout == ""
    assert "No golden sample of part LONE-PACK" in result.stderr
    assert NO_GOLDEN in result.stderr and "--against" in result.stderr
    assert API_KEY not in result.stderr


def test_the_only_golden_sample_is_not_compared_with_itself(make_server: MakeServer) -> None:
    server = make_server(pack(GOLDEN, day=2, sample="golden"))
    result = run_cli(server, "diff", GOLDEN, "--golden", via=None)
    assert result.exit_code == ExitCode.START_NOT_FOUND
    assert f"{GOLDEN} is itself the only golden sample of part {PACK_PART}" in result.stderr


def test_golden_asks_the_list_endpoint_for_the_part(packs: LocalTofuPilot) -> None:
    run_cli(packs, "diff", MISSING_CELL, "--golden", via=None)
    asked = [params for endpoint, params in packs.list_queries if "samples" in params]
    assert asked, list(packs.list_queries)
    assert all(params["samples"] == ["golden"] for params in asked)
    assert all(params["part_numbers"] == [PACK_PART] for params in asked)


def test_an_unknown_reference_is_named(packs: LocalTofuPilot) -> None:
    result = run_cli(packs, "diff", ALIKE, "--against", "PACK-9999", via=None)
    assert result.exit_code == ExitCode.START_NOT_FOUND
    assert "PACK-9999" in result.stderr


def test_golden_without_list_endpoints_says_what_to_do(make_server: MakeServer) -> None:
    server = make_server(factory(), list_endpoints=False)
    result = run_cli(server, "diff", ALIKE, "--golden", via="get")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "list endpoint" in result.stderr and "--against" in result.stderr
    fallback = run_cli(server, "diff", ALIKE, "--against", GOLDEN, "-f", "json", via="get")
    assert fallback.exit_code == 0, fallback.stderr
    assert json.loads(fallback.stdout)["identical"] is True


@pytest.mark.parametrize(
    "args",
    [
        ("diff", ALIKE),
        ("diff", ALIKE, "--golden", "--against", GOLDEN),
        ("diff", ALIKE, "--golden", "--up"),
        ("diff", ALIKE, "--golden", "-o", "x.csv"),
    ],
)
def test_usage_errors(packs: LocalTofuPilot, args: tuple[str, ...]) -> None:
    result = run_cli(packs, *args, via=None)
    assert result.exit_code == ExitCode.USAGE
    assert packs.total_requests == 0


@pytest.mark.graphviz
def test_svg_marks_the_units_that_differ(packs: LocalTofuPilot, tmp_path: Path) -> None:
    target = tmp_path / "diff.svg"
    result = run_cli(packs, "diff", OTHER_BMS, "--golden", "-o", str(target), via=None)
    assert result.exit_code == 0, result.stderr
    svg = target.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "</svg>" in svg
    assert svg.count("≠") == 2  # the title's legend and the one differing unit
    text = html.unescape(svg)
    assert "≠ revision B -> C" in text
    texts = re.findall(r"<text [^>]*>([^<]*)</text>", text)
    assert texts[:3] == [OTHER_BMS, " compared with ", GOLDEN]  # the title


def test_dot_marks_exactly_the_differing_units(packs: LocalTofuPilot, tmp_path: Path) -> None:
    target = tmp_path / "diff.dot"
    result = run_cli(packs, "diff", MISSING_CELL, "--golden", "-o", str(target), via=None)
    assert result.exit_code == 0, result.stderr
    dot = target.read_text(encoding="utf-8")
    marked_nodes = [line for line in dot.splitlines() if "peripheries=2" in line]
    assert len(marked_nodes) == 1
    assert f"{MISSING_CELL}-M2" in marked_nodes[0]
    assert f"lacks {CELL_PART} rev D" in marked_nodes[0]


def test_html_marks_and_lists_the_differences(packs: LocalTofuPilot, tmp_path: Path) -> None:
    target = tmp_path / "diff.html"
    result = run_cli(packs, "diff", EXTRA_PART, "--golden", "-o", str(target), via=None)
    assert result.exit_code == 0, result.stderr
    page = target.read_text(encoding="utf-8")
    found = re.search(r'<script id="genealogy-data" type="application/json">(.*?)</script>', page)
    assert found
    data = json.loads(found.group(1))
    assert data["reference"] == GOLDEN
    differing = {unit["serial"]: unit["diff"] for unit in data["units"] if "diff" in unit}
    assert differing == {f"{EXTRA_PART}-FAN": "extra: not in the reference"}
    [finding] = data["findings"]
    assert finding["code"] == "extra"
    assert [data["units"][i]["serial"] for i in finding["units"]] == [f"{EXTRA_PART}-FAN"]


def test_outcomes_and_unfetched_are_only_reported_when_asked(make_server: MakeServer) -> None:
    records = factory()
    for record in records:
        if record["serial_number"] == f"{ALIKE}-M1-C2":
            record["created_during"]["outcome"] = "FAIL"
        if record["serial_number"] == f"{ALIKE}-M2":
            record["children"].append({**record["children"][0], "serial_number": "GHOST-1"})
    server = make_server(records)
    plain = run_cli(server, "diff", ALIKE, "--golden", "-f", "json", via=None)
    assert json.loads(plain.stdout)["differences"] == []
    assert json.loads(plain.stdout)["unfetched"] == ["GHOST-1"]
    asked = run_cli(
        server, "diff", ALIKE, "--golden", "--outcomes", "--unfetched", "-f", "json", via=None
    )
    kinds = {d["kind"]: d for d in json.loads(asked.stdout)["differences"]}
    assert kinds.keys() == {"outcome", "unfetched"}
    assert kinds["outcome"]["serials"] == [f"{ALIKE}-M1-C2"]
    assert (kinds["outcome"]["expected"], kinds["outcome"]["actual"]) == ("PASS", "FAIL")
    assert kinds["unfetched"]["serials"] == ["GHOST-1"]
    assert kinds["unfetched"]["path"] == [PACK_PART, MODULE_PART]


# -- the Python API ------------------------------------------------------------------------------


def test_the_library_answers_as_the_command(packs: LocalTofuPilot) -> None:
    options: dict[str, Any] = {"base_url": packs.url, "api_key": API_KEY}
    result = genealogy.diff(MISSING_CELL.lower(), golden=True, **options)
    assert isinstance(result, genealogy.Diff)
    assert [d.to_dict() | {"reference_serials": None} for d in result.differences] == [
        expected | {"reference_serials": None} for expected in EXPECTED[MISSING_CELL]
    ]
    awaited = asyncio.run(genealogy.adiff(ALIKE, GOLDEN.lower(), **options))
    assert awaited.identical and awaited.reference.serial_number == GOLDEN
    with pytest.raises(genealogy.NoGoldenSample, match="LONE-PACK"):
        genealogy.diff(NO_GOLDEN, golden=True, **options)
    with pytest.raises(genealogy.UsageError):
        genealogy.diff(ALIKE, **options)  # no reference
    with pytest.raises(genealogy.UsageError):
        genealogy.diff(ALIKE, GOLDEN, direction="up", **options)


# -- the comparison itself, on graphs built in memory --------------------------------------------


def trees(*built: list[dict[str, Any]]) -> list[nx.DiGraph]:
    records = [record for group in built for record in group]
    return [
        genealogy.from_records(records, group[0]["serial_number"], direction="down")
        for group in built
    ]


def test_identical_builds_differ_in_nothing_though_serials_and_batches_do() -> None:
    unit_graph, reference = trees(pack(ALIKE, day=13), pack(GOLDEN, day=2, sample="golden"))
    result = compare(unit_graph, ALIKE, reference, GOLDEN, kinds=KINDS)
    assert result.identical and result.differences == ()
    assert result.aligned == unit_graph.number_of_nodes() == reference.number_of_nodes()
    assert "No differences" in format_text(result)


def test_identical_differences_are_grouped_with_a_count() -> None:
    """A cell missing from each of two modules: one line, two units; three extra fans: one."""
    short = pack("SHORT", day=3, cells=(CELLS_PER_MODULE - 1, CELLS_PER_MODULE - 1))
    unit_graph, reference = trees(short, pack(GOLDEN, day=2, sample="golden"))
    [missing] = compare(unit_graph, "SHORT", reference, GOLDEN).differences
    assert (missing.kind, missing.count) == ("missing", 2)
    assert missing.serials == ("SHORT-M1", "SHORT-M2")
    assert missing.reference_serials == (f"{GOLDEN}-M1-C4", f"{GOLDEN}-M2-C4")
    text = format_text(compare(unit_graph, "SHORT", reference, GOLDEN))
    assert (
        f"- {CELL_PART} rev D \u00d72 at {PACK_PART} > {MODULE_PART} (in SHORT-M1, SHORT-M2)"
        in text
    )


def test_children_match_on_the_same_revision_first() -> None:
    """Reference cells D, D; unit cells C, D, D (sorted by serial C first): one extra cell on
    rev C, not a revision change plus an extra D."""
    reference = [
        unit("R", children=["R-1", "R-2"], part="M"),
        unit("R-1", parent="R", part="CELL", revision="D"),
        unit("R-2", parent="R", part="CELL", revision="D"),
    ]
    mine = [
        unit("U", children=["U-1", "U-2", "U-3"], part="m"),
        unit("U-1", parent="U", part="cell", revision="C"),
        unit("U-2", parent="U", part="CELL", revision="D"),
        unit("U-3", parent="U", part="CELL", revision="d"),
    ]
    unit_graph, reference_graph = trees(mine, reference)
    [extra] = compare(unit_graph, "u", reference_graph, "r").differences
    assert (extra.kind, extra.part_number, extra.actual, extra.serials) == (
        "extra",
        "cell",
        "C",
        ("U-1",),
    )


def test_subassemblies_pair_in_serial_order_with_numbers_as_numbers() -> None:
    """MOD-9 comes before MOD-10: paired with the reference's first and second module."""
    reference = [
        unit("R", children=["R-M1", "R-M2"], part="P"),
        unit("R-M1", parent="R", part="MOD", children=["R-B"]),
        unit("R-B", parent="R-M1", part="BOARD"),
        unit("R-M2", parent="R", part="MOD"),
    ]
    mine = [
        unit("U", children=["MOD-10", "MOD-9"], part="P"),
        unit("MOD-9", parent="U", part="MOD", children=["U-B"]),
        unit("U-B", parent="MOD-9", part="BOARD"),
        unit("MOD-10", parent="U", part="MOD"),
    ]
    unit_graph, reference_graph = trees(mine, reference)
    assert compare(unit_graph, "U", reference_graph, "R").identical


def test_a_root_of_another_part_and_revision() -> None:
    unit_graph, reference = trees(
        [unit("U", part="MOD", revision="B")], [unit("R", part="PACK", revision="A")]
    )
    [part] = compare(unit_graph, "U", reference, "R").differences
    assert (part.kind, part.path, part.expected, part.actual) == ("part", (), "PACK", "MOD")
    unit_graph, reference = trees([unit("U", part="P", revision="B")], [unit("R", part="p")])
    [revision] = compare(unit_graph, "U", reference, "R").differences
    assert (revision.kind, revision.path, revision.expected, revision.actual) == (
        "revision",
        (),
        "A",
        "B",
    )


def test_what_is_below_a_unit_not_fetched_is_not_compared() -> None:
    """The golden module's cells are not reported missing under a module that was not found."""
    broken = [r for r in pack("BROKEN", day=3) if not r["serial_number"].startswith("BROKEN-M1")]
    unit_graph, reference = trees(broken, pack(GOLDEN, day=2, sample="golden"))
    assert unit_graph.nodes["BROKEN-M1"]["status"] == "not_found"
    default = compare(unit_graph, "BROKEN", reference, GOLDEN)
    assert not default.differences and default.unfetched == ("BROKEN-M1",)
    assert not default.identical  # what is below BROKEN-M1 may differ: never "built alike"
    text = format_text(default)
    assert "--unfetched lists them" in text and "among the units compared" in text
    assert "built like the reference" not in text
    [unfetched] = compare(unit_graph, "BROKEN", reference, GOLDEN, kinds=KINDS).differences
    assert (unfetched.kind, unfetched.actual, unfetched.serials) == (
        "unfetched",
        "not found",
        ("BROKEN-M1",),
    )
    assert unfetched.reference_serials == (f"{GOLDEN}-M1",)


def test_marked_graph_carries_the_diff_attribute() -> None:
    unit_graph, reference = trees(
        pack(OTHER_BMS, day=11, bms_revision="C"), pack(GOLDEN, day=2, sample="golden")
    )
    result = compare(unit_graph, OTHER_BMS, reference, GOLDEN)
    shown = marked(unit_graph, result)
    assert {node: attrs["diff"] for node, attrs in shown.nodes(data=True) if "diff" in attrs} == {
        f"{OTHER_BMS}-BMS": "revision B -> C"
    }
    assert shown.graph["diff_reference"] == GOLDEN
    assert "diff" not in unit_graph.nodes[f"{OTHER_BMS}-BMS"]  # the input is left alone


def test_bad_arguments() -> None:
    unit_graph, reference = trees([unit("U")], [unit("R")])
    with pytest.raises(UnknownSerial):
        compare(unit_graph, "NOPE", reference, "R")
    with pytest.raises(ValueError, match="unknown difference kind"):
        compare(unit_graph, "U", reference, "R", kinds=["missing", "colour"])
    assert set(DEFAULT_KINDS) < set(KINDS)


def test_the_docstring_example_runs() -> None:
    import doctest

    import genealogy.queries.diff

    result = doctest.testmod(genealogy.queries.diff)
    assert result.attempted >= 5 and result.failed == 0


def test_the_page_marks_the_rows_and_selects_a_differences_units(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    from tests.browser import allow_asyncio

    target = tmp_path / "diff.html"
    with allow_asyncio(), LocalTofuPilot(factory(), api_key=API_KEY) as server:
        result = run_cli(server, "diff", MISSING_CELL, "--golden", "-o", str(target), via=None)
    assert result.exit_code == 0, result.stderr
    page = browser_page.page
    browser_page.open(target)
    title = page.text_content("#findings-title")
    assert title == f"Differences from {GOLDEN} (1)"
    page.locator("#findings-list button.finding").first.click()
    marked_rows = page.evaluate(
        """() => [...document.querySelectorAll('#tree li.differs')].map((li) => [
            li.dataset.serial, li.querySelector('.diff-mark').textContent])"""
    )
    assert marked_rows == [[f"{MISSING_CELL}-M2", "\u2260"]]
    selected = page.evaluate(
        """() => [...document.querySelectorAll('#tree li[aria-selected="true"]')]
            .map((li) => li.dataset.serial)"""
    )
    assert selected == [f"{MISSING_CELL}-M2"]
    field = page.text_content('#details dd[data-field="diff"]')
    assert field == f"lacks {CELL_PART} rev D"
    browser_page.assert_no_errors()
    browser_page.assert_no_network()
