"""`genealogy trace` over HTTP against the local server: what it asks, and what it says.

- Up first: a unit deep in a product costs a few requests per level, whatever the product's
  size (counted by the server's `endpoint_requests`).
- Structure on the paths, on a hostile set: a two-unit cycle, a unit that is its own parent,
  parent records that contradict each other.
- `--problems`: the tops crawled in full, the problems grouped and counted right, limited or not.
- Several serial numbers (arguments, `--from-file`, stdin), the products they share, a serial
  that does not exist, and the exit codes.
"""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from genealogy.datasets import synthetic_tree
from genealogy.errors import ExitCode
from genealogy.localserver import LocalTofuPilot
from genealogy.text import printable
from tests.conftest import MakeServer, run_cli
from tests.records import unit
from tests.signalling import signalled


def trace(server: LocalTofuPilot, *args: str, via: str | None = None, **env: str) -> Result:
    """`genealogy trace` with the command's own defaults: the list endpoints, run histories."""
    return run_cli(server, "trace", *args, "--no-cache", via=via, **env)


def json_of(result: Result) -> dict[str, Any]:
    assert result.exit_code in (ExitCode.OK, ExitCode.INCOMPLETE), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def path_serials(data: dict[str, Any]) -> list[list[str]]:
    return [[step["serial"] for step in path["steps"]] for path in data["paths"]]


# --- up first: requests bounded by the depth ------------------------------------------------------

LEVELS = 5


def product(units: int, prefix: str) -> list[dict[str, Any]]:
    """A complete tree of `units` over `LEVELS` levels, every fifth leaf failed."""
    records = synthetic_tree(units, LEVELS, prefix=prefix)
    for index, record in enumerate(records[-units // 2 :]):
        if index % 5 == 0 and record["created_during"] is not None:
            record["created_during"]["outcome"] = "FAIL"
    return records


@pytest.mark.parametrize("units", [200, 5000])
def test_a_deep_unit_costs_a_few_requests_per_level_whatever_the_product_size(
    make_server: MakeServer, units: int
) -> None:
    records = product(units, "P")
    server = make_server(records)
    deepest = records[-1]["serial_number"]
    result = trace(server, deepest, "-f", "json")
    data = json_of(result)
    (path,) = path_serials(data)
    assert path[0] == deepest and path[-1] == "P-0000000"
    levels = len(path)
    assert levels == LEVELS
    # one list request per level for the units, and one for all their run histories
    assert server.endpoint_requests["unit"] == 0
    assert server.endpoint_requests["units"] == levels
    assert server.endpoint_requests["runs"] == 1
    assert server.total_requests == levels + 1
    # every step says what is known of it: the creating run's procedure, station and date
    step = data["paths"][0]["steps"][0]
    assert step["part_number"] == "PART-L4" and step["revision"] == "A"
    assert step["latest_outcome"] in ("PASS", "FAIL") and step["run_count"] == 1
    assert step["run"] == "latest" and step["procedure"] and step["date"]
    assert step["station"] == "Line 1"  # the run list's created_by_station
    assert data["problems"] is None  # not asked for: no problem list, no crawl down
    text = trace(server, deepest).stdout
    assert text.rstrip().endswith(
        "Problems inside P-0000000: not looked at (--problems crawls them and lists them)."
    )
    assert len(text.splitlines()) < 12  # the path, the structure line, the hint: no 800 lines


def test_one_request_per_unit_without_list_endpoints_is_still_up_only(
    make_server: MakeServer,
) -> None:
    records = product(5000, "Q")
    server = make_server(records)
    deepest = records[-1]["serial_number"]
    result = trace(server, deepest, "-f", "json", via="get", GENEALOGY_NO_HISTORY="1")
    assert len(path_serials(json_of(result))[0]) == LEVELS
    assert server.endpoint_requests["unit"] == LEVELS  # the unit and its ancestors only


def test_problems_crawls_the_top_in_full_in_batches_and_counts_right(
    make_server: MakeServer,
) -> None:
    records = product(5000, "R")
    failed = sum(
        1 for r in records if r["created_during"] and r["created_during"]["outcome"] == "FAIL"
    )
    server = make_server(records)
    deepest = records[-1]["serial_number"]
    data = json_of(trace(server, deepest, "--problems", "-f", "json"))
    report = data["problems"]
    assert report["by_kind"] == {"failed": failed}
    assert report["units_looked_at"] == 5000 and report["unexplored"] == 0
    assert len(report["groups"][0]["units"]) == failed  # JSON lists every one
    # batched: 100 units a request, a few more for the levels' remainders; not 5,000
    assert server.endpoint_requests["unit"] == 0
    assert server.endpoint_requests["units"] <= LEVELS + math.ceil(5000 / 100) + LEVELS
    # the text groups them: one count, the first few serials, not one line per unit
    text = trace(server, deepest, "--problems").stdout
    assert f"Problems inside R-0000000: {failed:,} (5,000 units looked at):" in text
    assert f"  ✗ {failed:,} failed (FAIL)" in text
    assert len(text.splitlines()) < 15
    verbose = trace(server, deepest, "--problems", "-v").stdout
    assert sum(" → R-0000000" in line for line in verbose.splitlines()) >= failed


def test_problem_counts_with_a_unit_limit_say_what_was_not_looked_at(
    make_server: MakeServer,
) -> None:
    records = product(200, "S")
    server = make_server(records)
    deepest = records[-1]["serial_number"]
    limited = trace(server, deepest, "--problems", "--max-units", "40", "-f", "json")
    assert limited.exit_code == ExitCode.OK, limited.output
    report = json.loads(limited.stdout)["problems"]
    looked, unexplored = report["units_looked_at"], report["unexplored"]
    assert 0 < looked <= 40 + LEVELS and unexplored > 0
    # the failures counted are those among the units looked at, not those of the path alone
    fetched = {unit["serial"] for group in report["groups"] for unit in group["units"]}
    assert all(serial.startswith("S-") for serial in fetched)
    assert report["count"] == len(fetched)
    text = trace(server, deepest, "--problems", "--max-units", "40").stdout
    assert (
        f"{unexplored:,} units were not looked at (a limit or an interruption), nor what they "
        "contain, so problems among them are not counted"
    ) in text
    full = json_of(trace(server, deepest, "--problems", "-f", "json"))["problems"]
    assert full["units_looked_at"] == 200 and full["unexplored"] == 0
    assert full["count"] >= report["count"]


# --- structure on a hostile set -------------------------------------------------------------------

EVIL = "CYC2-B\x1b[31m\u202e"
"""The second unit of the cycle: an ANSI escape and a bidi override in its serial."""


def structural_units() -> list[dict[str, Any]]:
    """A two-unit cycle (CYC2-A, and EVIL), a unit that is its own parent (SELF-1), and
    records that contradict each other: INC-TOP lists INC-A and INC-C; INC-A lists INC-B;
    INC-B's record names INC-C, which does not list it."""
    return [
        unit("CYC2-A", parent=EVIL, children=[EVIL], part="LOOP"),
        unit(EVIL, parent="CYC2-A", children=["CYC2-A"], part="LOOP"),
        unit("SELF-1", parent="SELF-1", children=["SELF-CHILD"], part="SELF"),
        unit("SELF-CHILD", parent="SELF-1", outcome="FAIL"),
        unit("INC-TOP", children=["INC-A", "INC-C"], part="TOP"),
        unit("INC-A", parent="INC-TOP", children=["INC-B"], part="MOD"),
        unit("INC-C", parent="INC-TOP", part="MOD"),
        unit("INC-B", parent="INC-C", part="CELL", outcome="FAIL"),
    ]


def test_a_cycle_is_said_to_be_a_cycle(make_server: MakeServer) -> None:
    server = make_server(structural_units())
    data = json_of(trace(server, "CYC2-A", "-f", "json"))
    assert path_serials(data) == [["CYC2-A", EVIL, "CYC2-A"]]
    assert data["paths"][0]["end"] == "cycle"
    assert data["tops"] == [] and data["reached"] == ["CYC2-A"]
    (flag,) = data["flags"]
    assert flag["kind"] == "cycle" and flag["serials"] == ["CYC2-A", EVIL, "CYC2-A"]
    result = trace(server, "CYC2-A")
    text = result.stdout
    assert "\x1b" not in text and "\u202e" not in text
    assert "Structural problems on these paths (1):" in text
    assert f"✗ cycle: assembly cycle: {printable(EVIL)} contains CYC2-A" in text
    assert "No problems" not in text and "no cycle" not in text
    looked = trace(server, "CYC2-A", "--problems").stdout  # nothing failed inside the loop
    assert "✗ cycle:" in looked and "No problems" not in looked
    assert "No failed, errored or missing units inside CYC2-A (2 units looked at)." in looked


def test_a_unit_that_is_its_own_parent_is_said_to_be_one(make_server: MakeServer) -> None:
    server = make_server(structural_units())
    data = json_of(trace(server, "SELF-1", "-f", "json"))
    assert path_serials(data) == [["SELF-1"]]
    assert data["paths"][0]["end"] == "self_parent"
    assert data["tops"] == [] and data["reached"] == ["SELF-1"]  # no top-level assembly
    assert [flag["kind"] for flag in data["flags"]] == ["self_parent"]
    text = trace(server, "SELF-CHILD").stdout
    assert "in SELF-1 (" in text
    assert "[not a top-level assembly: its record names itself as its parent]" in text
    assert "[top-level assembly]" not in text
    assert "✗ self-parent: SELF-1's record names itself as its parent" in text
    # its problems: SELF-1 is where the crawl down starts
    problems = json_of(trace(server, "SELF-CHILD", "--problems", "-f", "json"))["problems"]
    assert problems["tops"] == ["SELF-1"] and problems["by_kind"] == {"failed": 1}


def test_contradicting_parent_records_are_said_to_contradict(make_server: MakeServer) -> None:
    server = make_server(structural_units())
    # up only: INC-B's record names INC-C, whose record does not list it
    data = json_of(trace(server, "INC-B", "-f", "json"))
    assert path_serials(data) == [["INC-B", "INC-C", "INC-TOP"]]
    (flag,) = data["flags"]
    assert flag["kind"] == "contradiction" and flag["serials"] == ["INC-B", "INC-C"]
    assert "INC-C's record does not list it" in flag["message"]
    assert data["up_only"] is True
    up_only = trace(server, "INC-B").stdout
    assert "(Crawled up only: a unit listing one of these as a child" in up_only
    # with --problems INC-TOP is crawled in full: INC-A lists INC-B too; both are shown
    data = json_of(trace(server, "INC-B", "--problems", "-f", "json"))
    assert sorted(path_serials(data)) == [
        ["INC-B", "INC-A", "INC-TOP"],
        ["INC-B", "INC-C", "INC-TOP"],
    ]
    (flag,) = data["flags"]
    assert flag["serials"] == ["INC-B", "INC-A", "INC-C"]
    assert data["up_only"] is False  # the top was read whole
    text = trace(server, "INC-B", "--problems").stdout
    assert "Crawled up only" not in text
    assert (
        "✗ contradiction: the records contradict each other about the parent of INC-B: "
        "INC-A's record lists INC-B as a child; INC-B's record names INC-C as its parent, but "
        "INC-C's record does not list it"
    ) in text


# --- several serial numbers -----------------------------------------------------------------------


def shop() -> list[dict[str, Any]]:
    """Two racks; CELL-1 and CELL-2 in RACK-0007, CELL-3 in RACK-0008."""
    return [
        unit("RACK-0007", children=["MOD-1", "MOD-2"], part="RACK"),
        unit("RACK-0008", children=["MOD-3"], part="RACK"),
        unit("MOD-1", parent="RACK-0007", children=["CELL-1"], part="MOD"),
        unit("MOD-2", parent="RACK-0007", children=["CELL-2"], part="MOD"),
        unit("MOD-3", parent="RACK-0008", children=["CELL-3"], part="MOD"),
        unit("CELL-1", parent="MOD-1", part="CELL", outcome="FAIL"),
        unit("CELL-2", parent="MOD-2", part="CELL", outcome="FAIL"),
        unit("CELL-3", parent="MOD-3", part="CELL"),
    ]


def test_several_serials_are_crawled_up_together_and_their_shared_products_named(
    make_server: MakeServer,
) -> None:
    server = make_server(shop())
    result = trace(server, "CELL-1", "CELL-2", "CELL-3", "-f", "json")
    data = json_of(result)
    assert data["serials"] == ["CELL-1", "CELL-2", "CELL-3"]
    assert [path_serials(one) for one in data["traces"]] == [
        [["CELL-1", "MOD-1", "RACK-0007"]],
        [["CELL-2", "MOD-2", "RACK-0007"]],
        [["CELL-3", "MOD-3", "RACK-0008"]],
    ]
    assert data["shared"] == [{"top": "RACK-0007", "contains": ["CELL-1", "CELL-2"]}]
    assert data["not_found"] == [] and data["problems"] is None
    # level by level: cells, modules, racks; one request each, and one for all their runs
    assert server.endpoint_requests["units"] == 3 and server.endpoint_requests["runs"] == 1
    text = trace(server, "CELL-1", "CELL-2", "CELL-3").stdout
    assert text.startswith("== CELL-1 ==\nCELL-1 (CELL rev A, FAIL;")
    assert (
        "Top-level assemblies containing several of them:\n"
        "  RACK-0007 contains CELL-1, CELL-2"
    ) in text


def test_serials_from_a_file_and_from_stdin(make_server: MakeServer, tmp_path: Path) -> None:
    server = make_server(shop())
    listing = tmp_path / "recall.txt"
    listing.write_text("# recall 2026-11\nCELL-1\n\n  CELL-3  \n# CELL-2\n", encoding="utf-8")
    data = json_of(trace(server, "--from-file", str(listing), "-f", "json"))
    assert data["serials"] == ["CELL-1", "CELL-3"]
    assert data["shared"] == []
    from click.testing import CliRunner

    from genealogy.cli import main

    piped = CliRunner().invoke(
        main,
        ["trace", "CELL-2", "--from-file", "-", "--no-cache", "-f", "json"],
        input="CELL-1\n",
        env={"TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": "test-key-5f0c2a9e"},
    )
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["shared"] == [
        {"top": "RACK-0007", "contains": ["CELL-2", "CELL-1"]}
    ]
    missing = trace(server, "--from-file", str(tmp_path / "nope.txt"))
    assert missing.exit_code == ExitCode.USAGE
    assert "--from-file" in missing.stderr and "nope.txt" in missing.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n", encoding="utf-8")
    nothing = trace(server, "--from-file", str(empty))
    assert nothing.exit_code == ExitCode.USAGE
    assert "Nothing to trace" in nothing.stderr


def test_a_serial_that_does_not_exist_is_reported_and_the_others_traced(
    make_server: MakeServer,
) -> None:
    server = make_server(shop())
    result = trace(server, "CELL-1", "NO-SUCH-CELL", "CELL-2", "-f", "json")
    assert result.exit_code == ExitCode.START_NOT_FOUND
    data = json.loads(result.stdout)
    assert [one["serial"] for one in data["traces"]] == ["CELL-1", "CELL-2"]
    assert data["not_found"] == ["NO-SUCH-CELL"]
    assert data["shared"] == [{"top": "RACK-0007", "contains": ["CELL-1", "CELL-2"]}]
    assert "1 serial number was not found: NO-SUCH-CELL" in result.stderr
    text = trace(server, "CELL-1", "NO-SUCH-CELL")
    assert "== NO-SUCH-CELL ==\nnot found: the API knows no unit of" in text.stdout
    quiet = trace(server, "CELL-1", "NO-SUCH-CELL", "-q")
    assert quiet.exit_code == ExitCode.START_NOT_FOUND
    assert quiet.stderr.strip() == (
        "genealogy: exit 4: 1 serial number was not found: NO-SUCH-CELL; check them"
    )
    alone = trace(server, "NO-SUCH-CELL")
    assert alone.exit_code == ExitCode.START_NOT_FOUND and alone.stdout == ""
    assert "NO-SUCH-CELL" in alone.stderr and "was not found" in alone.stderr


def test_several_serials_with_problems_crawl_every_top_once(make_server: MakeServer) -> None:
    server = make_server(shop())
    data = json_of(trace(server, "CELL-1", "CELL-3", "--problems", "-f", "json"))
    report = data["problems"]
    assert report["tops"] == ["RACK-0007", "RACK-0008"]
    assert report["by_kind"] == {"failed": 2}
    assert report["units_looked_at"] == 8


def test_up_and_down_flags(make_server: MakeServer) -> None:
    server = make_server(shop())
    up = json_of(trace(server, "MOD-1", "--up", "-f", "json"))
    assert path_serials(up) == [["MOD-1", "RACK-0007"]]
    assert server.endpoint_requests["units"] == 2
    both = trace(server, "MOD-1", "--down", "-f", "json")
    assert path_serials(json_of(both)) == [["MOD-1", "RACK-0007"]]
    assert "5 units" in both.stderr  # both ways: RACK-0007 and all it holds, as before
    clash = trace(server, "MOD-1", "--up", "--down")
    assert clash.exit_code == ExitCode.USAGE
    assert "--down crawls both ways" in clash.stderr


def test_problems_when_no_path_reaches_a_fetched_unit(make_server: MakeServer) -> None:
    from genealogy.localserver import Fault

    server = make_server(shop())
    server.faults["MOD-1"] = Fault(500, times=None)
    args = ("CELL-1", "--problems", "--retries", "0", "-f", "json")
    result = trace(server, *args, via="get", GENEALOGY_NO_HISTORY="1")
    assert result.exit_code == ExitCode.INCOMPLETE  # MOD-1 could not be fetched
    data = json.loads(result.stdout)
    assert [path["end"] for path in data["paths"]] == ["unknown"]
    assert data["tops"] == [] and data["reached"] == ["MOD-1"]
    report = data["problems"]  # nothing to crawl down from: what the crawl up saw
    assert report["by_kind"] == {"failed": 1, "fetch_error": 1}
    assert report["units_looked_at"] == 2
    assert server.requests["RACK-0007"] == 0  # never known, never asked


# --- interrupted, unrequestable, repeated in another case, none found -----------------------------


def chain(levels: int) -> list[dict[str, Any]]:
    """LINK-0 (the top) contains LINK-1, which contains LINK-2... down to LINK-{levels - 1}."""
    names = [f"LINK-{level}" for level in range(levels)]
    return [
        unit(
            name,
            parent=names[level - 1] if level else None,
            children=names[level + 1 : level + 2],
            outcome="FAIL" if level == levels - 1 else "PASS",
        )
        for level, name in enumerate(names)
    ]


def interrupted_trace(
    server: LocalTofuPilot, signum: signal.Signals, *args: str, after: int
) -> tuple[int, str, str]:
    """`genealogy trace ARGS` in a process of its own, one unit a request, sent `signum` once
    `after` requests have reached the server (the next ones are slow): exit code, out, err."""
    return signalled(
        server,
        signum,
        "trace",
        *args,
        "--no-cache",
        after=after,
        GENEALOGY_VIA="get",
        GENEALOGY_NO_HISTORY="1",
    )


def test_problems_interrupted_during_the_crawl_up_are_said_not_looked_at_for_that_reason(
    make_server: MakeServer,
) -> None:
    server = make_server(chain(8), latency=0.3)
    code, stdout, stderr = interrupted_trace(
        server, signal.SIGTERM, "LINK-7", "--problems", "-f", "json", after=3
    )
    assert code == ExitCode.TERMINATED, stderr
    data = json.loads(stdout)
    assert data["problems"] is None and data["problems_interrupted"] is True
    (path,) = path_serials(data)
    assert path[0] == "LINK-7" and "LINK-0" not in path  # stopped on the way up
    assert data["paths"][0]["end"] == "unknown"
    assert server.total_requests < 8  # no crawl down after the interruption
    code, stdout, stderr = interrupted_trace(
        server, signal.SIGINT, "LINK-7", "LINK-6", "--problems", after=server.total_requests + 3
    )
    assert code == ExitCode.INTERRUPTED, stderr
    assert "the run was interrupted before --problems crawled them" in stdout
    assert "--problems crawls them and lists them" not in stdout
    # asked without --problems, an interrupted run still points at --problems
    code, stdout, _ = interrupted_trace(
        server, signal.SIGINT, "LINK-7", "-f", "json", after=server.total_requests + 2
    )
    assert code == ExitCode.INTERRUPTED
    data = json.loads(stdout)
    assert data["problems"] is None and data["problems_interrupted"] is False


def test_serials_differing_only_in_case_are_traced_once_in_the_first_spelling(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(chain(8), latency=0.3)
    # interrupted before the units are back: the serials are reported as they were given
    code, stdout, stderr = interrupted_trace(
        server, signal.SIGINT, "link-7", "LINK-7", "Link-7", "-f", "json", after=1
    )
    assert code == ExitCode.INTERRUPTED, stderr
    data = json.loads(stdout)
    assert data["serial"] == "link-7" and path_serials(data) == [["link-7"]]
    server = make_server(shop())
    listing = tmp_path / "recall.txt"
    listing.write_text("cell-2\nCELL-1\n", encoding="utf-8")
    args = ("CELL-2", "cell-1", "--from-file", str(listing), "-f", "json")
    data = json_of(trace(server, *args))
    assert data["serials"] == ["CELL-2", "CELL-1"]
    assert [one["serial"] for one in data["traces"]] == ["CELL-2", "CELL-1"]
    assert data["shared"] == [{"top": "RACK-0007", "contains": ["CELL-2", "CELL-1"]}]


HUGE = "X" * 9000
"""A serial number no URL can carry."""


@pytest.mark.parametrize(
    "serials",
    [(HUGE,), ("CELL-1", HUGE), ("CELL-1", "CELL-2", HUGE), ("CELL-1", "BAD-\udcff")],
    ids=["alone", "second", "third", "lone-surrogate"],
)
def test_a_serial_that_cannot_be_requested_is_a_usage_error_wherever_it_is_given(
    make_server: MakeServer, serials: tuple[str, ...]
) -> None:
    server = make_server(shop())
    for problems in ((), ("--problems",)):
        result = trace(server, *serials, *problems)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert result.stdout == "" and "Problems inside" not in result.output
        assert server.total_requests == 0  # refused before any request
        bad = serials[-1]
        assert f"{printable(bad[:39])}…" in result.stderr or printable(bad) in result.stderr
        assert "cannot be requested; correct or remove it" in result.stderr
        assert HUGE not in result.stderr  # named, clipped: not 9,000 characters
        assert "CELL-1:" not in result.stderr  # the good ones are not blamed


def test_every_unrequestable_serial_from_a_file_is_named(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(shop())
    listing = tmp_path / "recall.txt"
    lines = ["CELL-1", *(f"{n}{HUGE}" for n in range(7)), "CELL-3"]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = trace(server, "CELL-2", "--from-file", str(listing))
    assert result.exit_code == ExitCode.USAGE and server.total_requests == 0
    assert "7 serial numbers cannot be requested; correct or remove them" in result.stderr
    named = [line for line in result.stderr.splitlines() if "too long to request" in line]
    assert [line.strip()[0] for line in named] == ["0", "1", "2", "3", "4"]
    assert "and 2 more" in result.stderr


def test_when_none_of_several_serials_exists_each_is_named(make_server: MakeServer) -> None:
    server = make_server(shop())
    result = trace(server, "NOPE-1", "NOPE-2", "nope-1", "NOPE-3")
    assert result.exit_code == ExitCode.START_NOT_FOUND and result.stdout == ""
    assert "None of the 3 units was found: 'NOPE-1', 'NOPE-2', 'NOPE-3'" in result.stderr
    many = [f"NOPE-{n}" for n in range(1, 13)]
    result = trace(server, *many)
    assert result.exit_code == ExitCode.START_NOT_FOUND
    assert (
        "None of the 12 units was found: 'NOPE-1', 'NOPE-2', 'NOPE-3', 'NOPE-4', 'NOPE-5' "
        "and 7 more: check the serial numbers"
    ) in result.stderr
    # one that could not be fetched among them: exit 8, both kinds named
    from genealogy.localserver import Fault

    server.faults["NOPE-2"] = Fault(500, times=None)
    result = trace(server, "NOPE-1", "NOPE-2", "--retries", "0", via="get")
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert "Could not fetch any of the 2 start units: 'NOPE-2'" in result.stderr
    assert "not found: 'NOPE-1'" in result.stderr
