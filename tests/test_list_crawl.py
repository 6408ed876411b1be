"""Crawling by the page: whole levels through `GET /v2/units`, histories through `GET /v2/runs`,
the fallback to one request per unit, and the command's default path end to end."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import genealogy
from genealogy.datasets import DEMO_START, REWORKED, demo_data, synthetic_tree
from genealogy.errors import ExitCode
from genealogy.localserver import Fault, LocalTofuPilot
from genealogy.renderers.json import load
from genealogy.runner import CrawlOptions, crawl_async, run_crawl
from tests.conftest import API_KEY, MakeServer, crawl, run_cli
from tests.records import unit


def listed(server: LocalTofuPilot, start: str, **options: Any) -> Any:
    return genealogy.crawl(start, base_url=server.url, api_key=API_KEY, **options)


def comparable_structure(graph: Any) -> tuple[Any, ...]:
    """What both paths know; a unit without a record has its part only on the per-unit path
    (from its parent's list of children, which the list endpoint gives without parts)."""
    keys = ("status", "part_number", "revision", "batch", "parent_serial", "children_serials")
    nodes = {
        n: {k: a.get(k) for k in keys if a["status"] == "ok" or k == "status"}
        for n, a in graph.nodes(data=True)
    }
    return nodes, sorted(graph.edges(data=True)), graph.graph["start"], graph.graph["roots"]


def test_the_list_path_finds_the_same_assembly_in_a_few_requests(make_server: MakeServer) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    by_page = listed(server, DEMO_START.lower())
    requests_by_page = dict(server.endpoint_requests)
    server.endpoint_requests.clear()
    per_unit = crawl(server, DEMO_START)  # one GET per unit
    assert comparable_structure(by_page) == comparable_structure(per_unit)
    assert requests_by_page["units"] <= 8 and requests_by_page.get("unit", 0) == 0
    assert server.endpoint_requests["unit"] == 80


def test_every_unit_carries_its_history_exactly_as_the_server_holds_it(
    make_server: MakeServer,
) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    graph = listed(server, DEMO_START)
    for serial, attrs in graph.nodes(data=True):
        if attrs["status"] != "ok":
            assert "runs" not in attrs
            continue
        held = server.history(serial)
        assert [run["id"] for run in attrs["runs"]] == [run["id"] for run in held], serial
        assert [run["outcome"] for run in attrs["runs"]] == [run["outcome"] for run in held]
        assert attrs["run_count"] == len(held)
        assert attrs["latest_outcome"] == (held[-1]["outcome"] if held else None)
    for serial in REWORKED:
        if serial in graph:
            outcomes = [run["outcome"] for run in graph.nodes[serial]["runs"]]
            assert outcomes[-1] == "PASS" and outcomes[0] != "PASS", (serial, outcomes)


def test_paging_follows_the_cursor_and_chunks_stay_under_100_serials(
    make_server: MakeServer,
) -> None:
    records = synthetic_tree(1000, 3)
    server = make_server(records)
    graph = listed(server, records[0]["serial_number"], history=False)
    assert graph.number_of_nodes() == 1000
    assert all(attrs["status"] == "ok" for _, attrs in graph.nodes(data=True))
    for endpoint, params in server.list_queries:
        assert endpoint == "units"
        assert len(params.get("serial_numbers", [])) <= 100
    assert server.endpoint_requests["units"] <= 14


def test_a_serial_absent_from_the_answer_is_not_found_with_the_reason(
    make_server: MakeServer,
) -> None:
    server = make_server([unit("TOP", children=["A", "GHOST"]), unit("A", parent="TOP")])
    graph = listed(server, "TOP")
    assert graph.nodes["GHOST"]["status"] == "not_found"
    assert "not in the list endpoint's answer" in graph.nodes["GHOST"]["reason"]
    assert graph.nodes["A"]["status"] == "ok"


@pytest.mark.slow
def test_a_failed_list_request_fails_its_units_and_the_crawl_goes_on(
    make_server: MakeServer,
) -> None:
    server = make_server([unit("TOP", children=["A"]), unit("A", parent="TOP")])
    server.list_faults["units"] = Fault(status=503, times=None)
    with pytest.raises(genealogy.StartUnreachable) as raised:
        listed(server, "TOP", retries=1)
    assert "503" in str(raised.value)
    server.list_faults.clear()
    server.list_faults["runs"] = Fault(status=503, times=None)
    graph = listed(server, "TOP", retries=0)
    assert graph.nodes["A"]["status"] == "ok"
    assert "runs" not in graph.nodes["A"]
    assert graph.nodes["A"]["history_error"].startswith("run history not fetched: ")
    assert graph.nodes["A"]["warnings"] == []  # not a repaired record
    assert "repaired-record" not in {f.code for f in genealogy.audit(graph).findings}


def test_without_list_endpoints_the_crawl_falls_back_and_says_so_once(
    make_server: MakeServer, tmp_path: Path
) -> None:
    records = [unit("TOP", children=["A", "B"]), unit("A", parent="TOP"), unit("B", parent="TOP")]
    server = make_server(records, list_endpoints=False)
    out = tmp_path / "g.json"
    result = run_cli(server, "export", "TOP", "-o", str(out), "--no-cache", via=None)
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stderr.count("no list endpoint to use") == 1
    assert server.endpoint_requests["unit"] == 3
    assert server.endpoint_requests["units"] == 1  # the one that found out
    assert sorted(load(out.read_text(encoding="utf-8"))) == ["A", "B", "TOP"]
    forced = run_cli(server, "tree", "TOP", "--no-cache", "--via", "list", via=None)
    assert forced.exit_code == ExitCode.UNREACHABLE
    assert "no list endpoints" in forced.stderr


def test_no_history_makes_no_runs_request_and_colours_by_the_latest_run(
    make_server: MakeServer,
) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    graph = listed(server, DEMO_START, history=False)
    assert server.endpoint_requests["runs"] == 0
    module = graph.nodes["MOD-16S-0313"]
    assert "runs" not in module and module["latest_outcome"] == "FAIL"  # the list's last run
    assert genealogy.summary(graph).by_outcome["FAIL"] >= 2


def test_the_cache_serves_the_list_path(make_server: MakeServer, tmp_path: Path) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    cache = tmp_path / "cache.sqlite3"
    first = listed(server, DEMO_START, cache=cache)
    before = server.total_requests
    second = listed(server, DEMO_START, cache=cache)
    assert server.total_requests == before  # every unit and history from the cache
    assert comparable_structure(first) == comparable_structure(second)
    assert second.nodes[DEMO_START]["runs"] == first.nodes[DEMO_START]["runs"]
    offline = listed(server, DEMO_START, cache=cache, offline=True)
    assert server.total_requests == before
    assert offline.number_of_nodes() == first.number_of_nodes()


def test_odd_serials_travel_whole_as_query_values(make_server: MakeServer) -> None:
    odd = ["a&b=c", "x#y", "../runs", "sp ace", "plus+sign", "pct%2F", "电池-01", "semi;colon"]
    records = [unit("TOP", children=odd), *(unit(s, parent="TOP") for s in odd)]
    server = make_server(records)
    graph = listed(server, "top")
    assert sorted(graph) == sorted(["TOP", *odd])
    assert all(attrs["status"] == "ok" for _, attrs in graph.nodes(data=True))


def test_one_unreadable_item_fails_one_unit(make_server: MakeServer) -> None:
    broken = {**unit("B", parent="TOP"), "part": {"number": 7}}
    server = make_server([unit("TOP", children=["A", "B"]), unit("A", parent="TOP"), broken])
    graph = listed(server, "TOP")
    assert graph.nodes["A"]["status"] == "ok"
    assert graph.nodes["B"]["status"] == "error"
    assert "not a unit" in graph.nodes["B"]["reason"]


def test_the_command_default_is_the_list_path_with_history(
    make_server: MakeServer, tmp_path: Path
) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    out = tmp_path / "audit.json"
    result = run_cli(
        server, "audit", DEMO_START, "-f", "json", "-o", str(out), "--no-cache", via=None
    )
    assert result.exit_code == ExitCode.OK, result.output
    assert server.endpoint_requests["unit"] == 0 and server.endpoint_requests["runs"] >= 1
    findings = json.loads(out.read_text())["findings"]
    never_tested = {s for f in findings if f["code"] == "no-run" for s in f["serials"]}
    graph = listed(server, DEMO_START)
    untested = {n for n, a in graph.nodes(data=True) if a["status"] == "ok" and not a["runs"]}
    assert never_tested == untested  # a listed unit with runs is tested, creating run or not


def test_per_unit_options_still_give_the_creating_run(make_server: MakeServer) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, via="get", history=True)
    result = run_crawl(DEMO_START, options)
    attrs = result.units[DEMO_START].attrs
    assert attrs is not None
    assert attrs["run_outcome"] == "FAIL" and attrs["run_count"] >= 1


def test_a_malformed_descriptive_field_of_a_listed_unit_is_repaired(
    make_server: MakeServer,
) -> None:
    """Tolerance by purpose holds on the list path too: the unit is ok, with a warning."""
    bad_time = {**unit("A", parent="TOP"), "created_at": "not a date"}
    bad_user = {**unit("B", parent="TOP"), "created_by_user": {"id": 5}}
    server = make_server([unit("TOP", children=["A", "B"]), bad_time, bad_user])
    graph = listed(server, "TOP")
    assert {n: a["status"] for n, a in graph.nodes(data=True)} == dict.fromkeys(
        ("TOP", "A", "B"), "ok"
    )
    assert graph.nodes["A"]["warnings"][0].startswith("created_at: ")
    assert graph.nodes["A"]["created_at"] is None
    assert graph.nodes["B"]["warnings"][0].startswith("created_by_user: ")
    assert [f.serials for f in genealogy.audit(graph).findings if f.code == "repaired-record"] == [
        ("A",),
        ("B",),
    ]


def test_a_huge_header_fails_that_unit_only(make_server: MakeServer) -> None:
    """A malicious answer with 200 KB of headers: the client refuses it (aiohttp's 8 KB
    limit), that unit is an error saying so, and the rest of the crawl goes on."""
    server = make_server([unit("TOP", children=["A", "B"]), unit("A", parent="TOP"), unit("B")])
    server.faults["B"] = Fault(status=200, headers={"X-Big": "a" * 200_000}, times=None)
    graph = crawl(server, "TOP", retries=0)
    assert graph.nodes["A"]["status"] == "ok"
    assert graph.nodes["B"]["status"] == "error"
    assert "8190 bytes" in graph.nodes["B"]["reason"]


def test_a_key_that_may_not_read_runs_keeps_the_assembly(make_server: MakeServer) -> None:
    server = make_server([unit("TOP", children=["A"]), unit("A", parent="TOP")])
    server.list_faults["runs"] = Fault(status=403, times=None)
    graph = listed(server, "TOP")
    assert {n: a["status"] for n, a in graph.nodes(data=True)} == {"TOP": "ok", "A": "ok"}
    assert not graph.graph["interrupted"] and "runs" not in graph.nodes["A"]


def test_a_missing_runs_endpoint_is_asked_about_once(make_server: MakeServer) -> None:
    records = synthetic_tree(50, 4)
    server = make_server(records)
    server.list_faults["runs"] = Fault(status=404, times=None)
    graph = listed(server, records[-1]["serial_number"])
    assert graph.number_of_nodes() == 50
    assert server.endpoint_requests["runs"] == 1


def test_offline_by_default_falls_back_to_the_per_unit_cache(
    make_server: MakeServer, tmp_path: Path
) -> None:
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    cache = tmp_path / "cache.sqlite3"
    online = listed(server, DEMO_START, cache=cache, via="get", history=False)
    offline = listed(server, DEMO_START, cache=cache, offline=True)  # via auto
    assert sorted(offline) == sorted(online)
    assert offline.nodes[DEMO_START]["status"] == "ok"


def test_history_with_no_runs_keeps_the_outcome_known_otherwise(make_server: MakeServer) -> None:
    """A unit whose creating run says FAIL, and of which the runs list holds nothing, is
    still FAIL: an empty history does not hide what the record says."""
    server = make_server([unit("A", outcome="FAIL")], runs=[])
    graph = listed(server, "A", via="get")
    assert graph.nodes["A"]["run_count"] == 0
    assert genealogy.summary(graph).by_outcome == {"FAIL": 1}


@pytest.mark.parametrize("via", ["get", "auto"])
def test_a_unit_without_runs_says_so_in_every_history_key(
    make_server: MakeServer, via: str
) -> None:
    data = demo_data()
    server = make_server(data.units, runs=data.runs)
    graph = crawl(server, DEMO_START, via=via, history=True)
    fetched = [attrs for _, attrs in graph.nodes(data=True) if attrs["status"] == "ok"]
    untested = [attrs for attrs in fetched if not attrs["runs"]]
    assert untested, "the demo holds units that were never tested"
    for attrs in untested:
        assert attrs["run_count"] == 0 and attrs["latest_outcome"] is None, attrs


def test_a_malformed_run_in_a_page_loses_only_its_bad_fields(make_server: MakeServer) -> None:
    """A page of runs is read in one pass only when every run is well-formed; one bad start
    time or procedure sends that page down the lenient path, where the run is kept with those
    fields empty and every other run of the page is read as usual."""
    units, runs = demo_data()
    damaged = dict(runs[0], started_at="yesterday", procedure={"id": 7})
    server = make_server(units, runs=[damaged, *runs[1:]])
    serial = damaged["unit"]["serial_number"]
    graph = listed(server, serial)
    history = graph.nodes[serial]["runs"]
    kept = next(run for run in history if run["id"] == damaged["id"])
    assert kept["started_at"] is None and kept["procedure"] is None
    assert kept["outcome"] == damaged["outcome"]
    assert graph.nodes[serial]["run_count"] == len(server.history(serial))
    for other, attrs in graph.nodes(data=True):  # the other runs of that page are whole
        for run in attrs.get("runs") or ():
            if run["id"] != damaged["id"]:
                assert run["started_at"] is not None, other


def test_the_timeline_takes_the_first_run_where_no_creating_run_is_read(
    make_server: MakeServer,
) -> None:
    """Through the list endpoints the record's creating run is not read: the timeline gives
    each tested unit its first run instead, the run that created it on the per-unit path."""
    units, runs = demo_data()
    server = make_server(units, runs=runs)
    listed_path = genealogy.audit(listed(server, DEMO_START)).timeline
    per_unit = genealogy.audit(crawl(server, DEMO_START, history=True)).timeline
    assert [entry.serial for entry in listed_path] == [entry.serial for entry in per_unit]
    tested = [entry for entry in per_unit if entry.run_id is not None]
    assert tested
    by_serial = {entry.serial: entry for entry in listed_path}
    for entry in tested:
        first = by_serial[entry.serial]
        held = server.history(entry.serial)
        assert first.run_id == held[0]["id"] == entry.run_id, entry.serial
        assert (first.outcome, first.procedure) == (entry.outcome, entry.procedure), entry.serial


def test_histories_are_asked_a_page_of_runs_at_a_time_sized_per_level(
    make_server: MakeServer,
) -> None:
    """A level's first 100 units go alone; their runs (one each here) size the requests for
    the rest of the level, about 90 serials each, asked while the level still arrives."""
    cells = [f"C{n:03d}" for n in range(250)]
    records = [unit("TOP", children=cells), *(unit(c, parent="TOP") for c in cells)]
    server = make_server(records)
    graph = listed(server, "TOP")
    assert all(graph.nodes[c]["run_count"] == 1 for c in cells)
    assert server.endpoint_requests["units"] == 1 + 3  # TOP; 250 cells in pages of 100
    runs = [params for endpoint, params in server.list_queries if endpoint == "runs"]
    sizes = sorted(len(params["serial_numbers"]) for params in runs)
    assert sizes == [1, 60, 90, 100], sizes  # TOP; the cells' first 100, then 90 and the rest


class HoldsCellsUntilTheirRunsAreAsked(LocalTofuPilot):
    """Holds each unit list request for cells (serials `C...`) until runs requests have asked
    about `release_after` cells (by default one), or 5 s; `held_in_vain` counts the requests
    the 5 s ran out for.

    The crawler sizes a level early only once the runs endpoint has answered. The first runs
    request (for TOP) and the units request for MOD travel together, so the MOD page is held
    until the TOP runs are answered, and 0.3 s more for the client to read them: otherwise
    which one the client reads first is a race, and the cells' level is not sized early.
    (The 0.3 s is still a timing assumption, with a wide margin: the server cannot see when
    the client has read an answer.)"""

    def __init__(self, *args: Any, release_after: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release_after = release_after
        self.cells_asked: set[str] = set()
        self.cell_runs_asked = threading.Event()
        self.top_runs_answered = threading.Event()
        self.held_in_vain = 0

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(path)
        serials = parse_qs(target.query).get("serial_numbers", [])
        is_runs = target.path.endswith("/v2/runs")
        if serials == ["MOD"] and not is_runs:
            if not self.top_runs_answered.wait(5):
                self.held_in_vain += 1
            time.sleep(0.3)
        if any(serial.startswith("C") for serial in serials):
            if is_runs:
                with self._lock:
                    self.cells_asked.update(serials)
                    if len(self.cells_asked) >= self.release_after:
                        self.cell_runs_asked.set()
            elif not self.cell_runs_asked.wait(5):
                self.held_in_vain += 1
        answer = super().answer(path, authorization)
        if serials == ["TOP"] and is_runs:
            self.top_runs_answered.set()
        return answer


@pytest.mark.parametrize("concurrency", [2, 16])
def test_a_levels_first_histories_are_asked_together_with_its_units(concurrency: int) -> None:
    """Once the runs endpoint has answered, a level's first 100 units have their histories
    asked for as their units are, right behind the level's first page even when the level's
    other pages wait for a free connection: the sizing costs no round of its own."""
    cells = [f"C{n:03d}" for n in range(250)]
    records = [
        unit("TOP", children=["MOD"]),
        unit("MOD", parent="TOP", children=cells),
        *(unit(c, parent="MOD") for c in cells),
    ]
    with HoldsCellsUntilTheirRunsAreAsked(records, api_key=API_KEY) as server:
        graph = listed(server, "TOP", concurrency=concurrency)
    assert server.held_in_vain == 0
    assert all(graph.nodes[c]["run_count"] == 1 for c in cells)
    runs = [
        params["serial_numbers"] for endpoint, params in server.list_queries if endpoint == "runs"
    ]
    cell_sizes = [len(serials) for serials in runs if serials[0].startswith("C")]
    assert cell_sizes[0] == 100 and sorted(cell_sizes) == [60, 90, 100], cell_sizes
    assert runs[[len(s) for s in runs].index(100)] == cells[:100]  # the level's first page


def test_a_levels_other_histories_are_asked_before_its_units_are_read() -> None:
    """Once the level's first 100 units' runs have sized the requests, the histories of the
    rest are asked for at once, without waiting for their units to be read: the server holds
    every page of cells until runs of all 250 cells have been asked for. (At concurrency 16
    the held pages leave slots free for those runs requests.)"""
    cells = [f"C{n:03d}" for n in range(250)]
    records = [
        unit("TOP", children=["MOD"]),
        unit("MOD", parent="TOP", children=cells),
        *(unit(c, parent="MOD") for c in cells),
    ]
    with HoldsCellsUntilTheirRunsAreAsked(
        records, api_key=API_KEY, release_after=len(cells)
    ) as server:
        graph = listed(server, "TOP", concurrency=16)
    assert server.held_in_vain == 0
    assert all(graph.nodes[c]["run_count"] == 1 for c in cells)
    for cell in cells[::25]:
        assert [run["id"] for run in graph.nodes[cell]["runs"]] == server_runs(server, cell)


class HoldsTheRestOfTheCells(HoldsCellsUntilTheirRunsAreAsked):
    """Also holds the runs requests for cells other than the first 100, and every page of
    the level below the cells (serials `S...`), until `release` (or 5 s); `deeper` is set
    once the level below is asked for, that is once the cells are read."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deeper = threading.Event()
        self.release = threading.Event()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(path)
        serials = parse_qs(target.query).get("serial_numbers", [])
        first = serials[0] if serials else ""
        if target.path.endswith("/v2/runs") and first.startswith("C") and first > "C099":
            self.release.wait(5)  # a cell the first 100 did not include: one of the rest
        elif first.startswith("S") and not target.path.endswith("/v2/runs"):
            self.deeper.set()
            self.release.wait(5)
        return super().answer(path, authorization)


def test_a_crawl_stopped_mid_level_keeps_the_histories_it_had() -> None:
    """Stopped while the rest of a level's histories are still on their way, the crawl's
    result keeps those that came: the first 100 units', which sized the others."""
    cells = [f"C{n:03d}" for n in range(250)]
    records = [
        unit("TOP", children=["MOD"]),
        unit("MOD", parent="TOP", children=cells),
        *(unit(c, parent="MOD", children=[f"S{c[1:]}"]) for c in cells),
        *(unit(f"S{c[1:]}", parent=c) for c in cells),
    ]
    crawlers: list[Any] = []

    async def stopped_once_the_cells_are_read(server: HoldsTheRestOfTheCells) -> None:
        options = CrawlOptions(base_url=server.url, api_key=API_KEY, via="list", history=True)
        crawl = asyncio.create_task(crawl_async("TOP", options, started=crawlers))
        assert await asyncio.to_thread(server.deeper.wait, 5)
        crawl.cancel()
        with pytest.raises(asyncio.CancelledError):
            await crawl

    with HoldsTheRestOfTheCells(records, api_key=API_KEY) as server:
        try:
            asyncio.run(stopped_once_the_cells_are_read(server))
        finally:
            server.release.set()
    units = crawlers[-1].result.units
    assert all(units[c].attrs["run_count"] == 1 for c in cells[:100])
    assert not any("runs" in units[c].attrs for c in cells[100:])  # still on their way


def test_a_level_mostly_never_tested_asks_only_about_the_units_that_were() -> None:
    """When most of a level's first 100 units have no runs, the rest are asked about once
    read, when the list has said which were never tested (those are not asked about)."""
    cells = [f"C{n:03d}" for n in range(300)]
    tested = set(cells[::10])
    records = [
        unit("TOP", children=["MOD"]),
        unit("MOD", parent="TOP", children=cells),
        *(unit(c, parent="MOD", outcome="PASS" if c in tested else None) for c in cells),
    ]
    with HoldsCellsUntilTheirRunsAreAsked(records, api_key=API_KEY) as server:
        graph = listed(server, "TOP")
    assert server.held_in_vain == 0  # the cells' first 100 were asked for with their units
    asked = [
        serial
        for endpoint, params in server.list_queries
        if endpoint == "runs"
        for serial in params["serial_numbers"]
        if serial.startswith("C")
    ]
    assert sorted(set(asked) - set(cells[:100])) == sorted(tested - set(cells[:100]))
    assert all(graph.nodes[c]["run_count"] == (c in tested) for c in cells)


def server_runs(server: LocalTofuPilot, serial: str) -> list[str | None]:
    return [run["id"] for run in server.history(serial)]


class UnitsListMissing(LocalTofuPilot):
    """A server whose unit list endpoint is missing but whose run list endpoint is there."""

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        if path.split("?")[0].endswith("/v2/units"):
            self.endpoint_requests["units"] += 1
            body = b'{"code": "NOT_FOUND", "message": "No such endpoint", "issues": []}'
            return 404, {"Content-Type": "application/json"}, body
        return super().answer(path, authorization)


def test_after_falling_back_to_one_unit_per_request_the_histories_are_still_read() -> None:
    units, runs = demo_data()
    server = UnitsListMissing(units, runs=runs, api_key=API_KEY).start()
    try:
        graph = genealogy.crawl(DEMO_START, base_url=server.url, api_key=API_KEY)
    finally:
        server.stop()
    assert server.endpoint_requests["units"] == 1 and server.endpoint_requests["runs"] >= 1
    cell = graph.nodes[DEMO_START]
    assert cell["run_id"] is not None  # the per-unit record's creating run
    assert [run["id"] for run in cell["runs"]] == [run["id"] for run in server.history(DEMO_START)]
