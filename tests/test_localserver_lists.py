"""The local server's list endpoints, `GET /api/v2/units` and `GET /api/v2/runs`: filters,
case-insensitive matching, sorting, cursor paging, errors, faults, counting, and the run
histories of the demo data; over real HTTP where transport matters."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genealogy.datasets import (
    GOLDEN_RACK,
    LATEST_FAILED,
    REWORKED,
    SECOND_PRODUCT,
    SHARED_CELL_LOT,
    SPARE_MODULE,
    TRACTION_PACK,
    demo_data,
    factory,
    traction_pack,
)
from genealogy.localserver import (
    MAX_QUERY_FIELDS,
    Fault,
    LocalTofuPilot,
    creating_run,
    list_item,
    load_data,
    load_units,
)
from genealogy.matching import fold
from genealogy.models import ListedRun, ListedUnit, RunPage, UnitPage
from genealogy.records import escaped_keys
from tests import strategies
from tests.conftest import API_KEY
from tests.records import unit

os.environ["DISABLE_TELEMETRY"] = "true"  # the official client starts telemetry on import
from tofupilot.v2.models.run_listop import RunListResponse
from tofupilot.v2.models.unit_listop import UnitListResponse

AUTH = {"Authorization": f"Bearer {API_KEY}"}
DEMO = demo_data()
Params = dict[str, Any] | list[tuple[str, str]]


@pytest.fixture
def demo(make_server: Callable[..., LocalTofuPilot]) -> LocalTofuPilot:
    """The whole demo data (units and run histories), served."""
    return make_server(DEMO.units, runs=DEMO.runs)


@pytest.fixture
def client(demo: LocalTofuPilot) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo.url, headers=AUTH, timeout=10) as http:
        yield http


def get(server: LocalTofuPilot, endpoint: str, params: Params = ()) -> tuple[int, Any]:
    """Status and decoded body of one list request, answered without HTTP."""
    query = urlencode(params, doseq=True)
    status, _, body = server.answer(f"/api/v2/{endpoint}?{query}", f"Bearer {API_KEY}")
    return status, json.loads(body)


def units(server: LocalTofuPilot, params: Params = ()) -> list[str]:
    status, body = get(server, "units", params)
    assert status == 200, body
    UnitPage.model_validate(body)
    return [item["serial_number"] for item in body["data"]]


def runs(server: LocalTofuPilot, params: Params = ()) -> list[dict[str, Any]]:
    status, body = get(server, "runs", params)
    assert status == 200, body
    RunPage.model_validate(body)
    data: list[dict[str, Any]] = body["data"]
    return data


def walk(http: httpx.Client, endpoint: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a list endpoint, page by page as a client pages."""
    items: list[dict[str, Any]] = []
    cursor: int | None = None
    for _ in range(1000):
        answer = http.get(f"/v2/{endpoint}", params={**params, "cursor": cursor or 0})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items.extend(body["data"])
        if not body["meta"]["has_more"]:
            assert body["meta"]["next_cursor"] is None
            return items
        assert body["meta"]["next_cursor"] == (cursor or 0) + len(body["data"])
        cursor = body["meta"]["next_cursor"]
    raise AssertionError("paging never ends")


DEMO_SERIALS = [record["serial_number"] for record in DEMO.units]


# --------------------------------------------------------------------------- paging


@pytest.mark.parametrize("limit", [1, 7, 50, 100])
def test_cursor_paging_walks_every_unit_exactly_once(client: httpx.Client, limit: int) -> None:
    items = walk(client, "units", {"limit": limit})
    assert Counter(item["serial_number"] for item in items) == Counter(DEMO_SERIALS)


def test_cursor_paging_walks_every_run_exactly_once(client: httpx.Client) -> None:
    items = walk(client, "runs", {"limit": 13})
    assert Counter(item["id"] for item in items) == Counter(run["id"] for run in DEMO.runs)


def test_the_last_page_says_there_is_no_more(demo: LocalTofuPilot) -> None:
    total = len(DEMO.units)
    status, body = get(demo, "units", {"limit": 100, "cursor": total - 100})
    assert status == 200 and len(body["data"]) == 100
    assert body["meta"] == {"has_more": False, "next_cursor": None}
    status, body = get(demo, "units", {"limit": 100, "cursor": total - 101})
    assert body["meta"] == {"has_more": True, "next_cursor": total - 1}
    status, body = get(demo, "units", {"cursor": total + 5})  # past the end: empty, not an error
    assert status == 200 and body == {"data": [], "meta": {"has_more": False, "next_cursor": None}}


def test_limit_defaults_to_50(demo: LocalTofuPilot) -> None:
    status, body = get(demo, "units")
    assert status == 200 and len(body["data"]) == 50 and body["meta"]["next_cursor"] == 50


@pytest.mark.parametrize("endpoint", ["units", "runs"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "-1"),
        ("limit", "ten"),
        ("limit", "1.5"),
        ("limit", ""),
        ("limit", "9" * 5000),
        ("limit", "\u0665"),  # ARABIC-INDIC DIGIT FIVE: a digit, but not ASCII
        ("cursor", "-1"),
        ("cursor", "x"),
        ("sort_by", "colour"),
        ("sort_order", "up"),
        ("samples", "prototype"),
    ],
)
def test_malformed_parameters_answer_400_with_the_documented_body(
    demo: LocalTofuPilot, endpoint: str, name: str, value: str
) -> None:
    status, body = get(demo, endpoint, {name: value})
    assert status == 400
    assert body["code"] == "BAD_REQUEST" and body["message"]
    assert body["issues"] and body["issues"][0]["path"] == [name]


@pytest.mark.parametrize("limit", [1, 100])
def test_limit_bounds_are_allowed(demo: LocalTofuPilot, limit: int) -> None:
    status, body = get(demo, "units", {"limit": limit})
    assert status == 200 and len(body["data"]) == limit
    status, body = get(demo, "runs", {"limit": limit})
    assert status == 200 and len(body["data"]) == limit


def test_a_parameter_given_twice_that_takes_one_value_is_refused(demo: LocalTofuPilot) -> None:
    status, body = get(demo, "units", [("limit", "5"), ("limit", "6")])
    assert status == 400 and body["issues"][0]["path"] == ["limit"]


def test_unknown_parameters_are_ignored(demo: LocalTofuPilot) -> None:
    assert units(demo, {"serial_numbers": "ESS-R48-0007", "colour": "blue", "x": ""}) == [
        "ESS-R48-0007"
    ]


# --------------------------------------------------------------------------- bad requests


def test_bad_query_strings_answer_400_over_http_and_the_server_keeps_serving(
    client: httpx.Client, demo: LocalTofuPilot
) -> None:
    bad_utf8 = client.get("/v2/units?serial_numbers=%ff%fe")
    assert bad_utf8.status_code == 400 and bad_utf8.json()["code"] == "BAD_REQUEST"
    too_many = "&".join(["s=A"] * (MAX_QUERY_FIELDS + 1))
    assert client.get(f"/v2/runs?{too_many}").status_code == 400
    just_enough = "&".join(["serial_numbers=A"] * 500)
    assert client.get(f"/v2/runs?{just_enough}").status_code == 200
    huge = client.get("/v2/units", params={"serial_numbers": "S" * 20_000})
    assert huge.status_code == 414 and huge.json()["code"] == "URI_TOO_LONG"
    assert client.get("/v2/units", params={"limit": 1}).status_code == 200
    assert client.get("/v2/units/ESS-R48-0007").status_code == 200


def test_a_trailing_slash_or_a_sub_path_is_not_a_list_endpoint(demo: LocalTofuPilot) -> None:
    for path in ("/api/v2/units/", "/api/v2/runs/", "/api/v2/runs/some-id", "/api/v2/unitsX"):
        status, _, _ = demo.answer(path, f"Bearer {API_KEY}")
        assert status == 404, path


# --------------------------------------------------------------------------- unit filters


def test_serial_numbers_match_in_any_case_and_keep_their_own_spelling(
    demo: LocalTofuPilot,
) -> None:
    found = units(
        demo,
        {"serial_numbers": ["cell-21700-c-0142", "ESS-r48-0007", "NOPE-0001"], "limit": 100},
    )
    assert sorted(found) == ["CELL-21700-C-0142", "ESS-R48-0007"]  # an unknown one is absent


def test_a_serial_asked_for_twice_is_listed_once(demo: LocalTofuPilot) -> None:
    assert units(demo, {"serial_numbers": ["ESS-R48-0007", "ess-r48-0007"]}) == ["ESS-R48-0007"]


def test_a_serial_that_exists_nowhere_gives_an_empty_page(demo: LocalTofuPilot) -> None:
    status, body = get(demo, "units", {"serial_numbers": "GHOST"})
    assert status == 200 and body == {"data": [], "meta": {"has_more": False, "next_cursor": None}}


def by_field(records: list[dict[str, Any]], read: Callable[[dict[str, Any]], Any]) -> set[str]:
    return {r["serial_number"] for r in records if read(r) is not None and read(r)}


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("part_numbers", "mod-16s", lambda r: fold(r["part"]["number"]) == "mod-16s"),
        ("revision_numbers", "b", lambda r: fold(r["part"]["revision"]["number"]) == "b"),
        (
            "batch_numbers",
            SHARED_CELL_LOT.lower(),
            lambda r: r["batch"] and r["batch"]["number"] == SHARED_CELL_LOT,
        ),
        ("ids", DEMO.units[5]["id"].upper(), lambda r: r["id"] == DEMO.units[5]["id"]),
    ],
)
def test_identifier_filters_match_in_any_case(
    demo: LocalTofuPilot, name: str, value: str, read: Callable[[dict[str, Any]], Any]
) -> None:
    expected = by_field(DEMO.units, read)
    assert expected  # the filter is tested on something
    assert set(units(demo, {name: value, "limit": 100})) == expected


def test_filters_combine_and_a_list_filter_takes_any_of_its_values(demo: LocalTofuPilot) -> None:
    found = units(
        demo,
        {
            "part_numbers": ["PCB-MCB", "PCB-CONTACTOR"],
            "batch_numbers": "PCBA-2026-W09",
            "limit": 100,
        },
    )
    assert sorted(found) == [
        "PCB-CTR-1180",
        "PCB-MCB-0881",
        "PCB-MCB-0882",
        "PCB-MCB-0883",
        "PCB-MCB-0884",
    ]


def test_samples_production_means_no_sample(demo: LocalTofuPilot) -> None:
    assert units(demo, {"samples": "golden"}) == [GOLDEN_RACK]
    assert units(demo, {"samples": ["failing", "ignored"]}) == []
    production = units(demo, {"samples": "production", "limit": 100})
    assert GOLDEN_RACK not in production and len(production) == 100
    both = walk_all(demo, {"samples": ["production", "golden"]})
    assert sorted(both) == sorted(DEMO_SERIALS)


def walk_all(server: LocalTofuPilot, params: dict[str, Any]) -> list[str]:
    found: list[str] = []
    cursor = 0
    while True:
        status, body = get(server, "units", {**params, "limit": 100, "cursor": cursor})
        assert status == 200
        found += [item["serial_number"] for item in body["data"]]
        if not body["meta"]["has_more"]:
            return found
        cursor = body["meta"]["next_cursor"]


def test_exclude_units_with_parent_lists_the_top_level_units(demo: LocalTofuPilot) -> None:
    top = units(demo, {"exclude_units_with_parent": "true"})
    assert sorted(top) == sorted(["ESS-R48-0007", GOLDEN_RACK, SECOND_PRODUCT, SPARE_MODULE])
    assert len(walk_all(demo, {"exclude_units_with_parent": "false"})) == len(DEMO.units)
    status, _ = get(demo, "units", {"exclude_units_with_parent": "maybe"})
    assert status == 400


def test_the_shared_cell_lot_is_in_three_products(demo: LocalTofuPilot) -> None:
    _, body = get(demo, "units", {"batch_numbers": SHARED_CELL_LOT, "limit": 100})
    parents = {item["parent"]["serial_number"] for item in body["data"]}
    tops = {"MOD-16S-0311": "ESS-R48-0007", "MOD-16S-0313": "ESS-R48-0007"}
    assert {tops.get(parent, parent) for parent in parents} == {
        "ESS-R48-0007",
        SECOND_PRODUCT,
        SPARE_MODULE,
    }


# --------------------------------------------------------------------------- unit items


def test_an_item_has_the_list_shape(demo: LocalTofuPilot) -> None:
    _, body = get(demo, "units", {"serial_numbers": "MOD-16S-0313"})
    (item,) = body["data"]
    record = next(r for r in DEMO.units if r["serial_number"] == "MOD-16S-0313")
    assert item["parent"] == {"id": record["parent"]["id"], "serial_number": "ESS-R48-0007"}
    assert item["children"] == [
        {"id": child["id"], "serial_number": child["serial_number"]} for child in record["children"]
    ]
    assert item["part"] == record["part"] and item["sample"] is None
    assert "metadata" not in item and "created_during" not in item
    assert item["last_run"]["outcome"] == "FAIL"  # its latest run, not the one that created it
    assert set(item["last_run"]) == {"id", "outcome", "started_at", "ended_at", "procedure"}
    assert set(item["last_run"]["procedure"]) == {"id", "name"}
    ListedUnit.model_validate(item)


def test_metadata_only_when_asked_for(demo: LocalTofuPilot) -> None:
    _, body = get(
        demo,
        "units",
        {"serial_numbers": ["ESS-R48-0007", "PCB-CTR-1180"], "include_metadata": "true"},
    )
    metadata = {item["serial_number"]: item["metadata"] for item in body["data"]}
    assert metadata == {
        "ESS-R48-0007": {"customer": "Nordwind Energie", "capacity_kwh": 14.3},
        "PCB-CTR-1180": {},
    }


def test_items_are_what_the_official_client_and_our_models_read(client: httpx.Client) -> None:
    for params in ({"limit": 100}, {"limit": 100, "cursor": 100, "include_metadata": "true"}):
        body = client.get("/v2/units", params=params).json()
        official = UnitListResponse.model_validate(body)
        ours = UnitPage.model_validate(body)
        assert [u.serial_number for u in official.data] == [u.serial_number for u in ours.data]
        body = client.get("/v2/runs", params=params).json()
        assert [r.id for r in RunListResponse.model_validate(body).data] == [
            r.id for r in RunPage.model_validate(body).data
        ]


def test_the_official_client_lists_through_the_server(demo: LocalTofuPilot) -> None:
    """Its query serialisation (form, exploded lists, booleans) is what the server parses."""
    from tofupilot.v2 import TofuPilot

    official = TofuPilot(api_key=API_KEY, server_url=demo.url)
    listed = official.units.list(
        serial_numbers=["mod-16s-0313", "PCB-CTR-1180"],
        exclude_units_with_parent=False,
        sort_by="serial_number",
        sort_order="asc",
        limit=10,
    )
    assert [u.serial_number for u in listed.data] == ["MOD-16S-0313", "PCB-CTR-1180"]
    history = official.runs.list(serial_numbers=["pcb-ctr-1180"], sort_order="asc")
    assert [r.outcome for r in history.data] == ["ERROR", "PASS"]


# --------------------------------------------------------------------------- sorting


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_default_order_is_newest_first(demo: LocalTofuPilot) -> None:
    found = walk_all(demo, {})
    created = {r["serial_number"]: moment(r["created_at"]) for r in DEMO.units}
    assert [created[s] for s in found] == sorted(created.values(), reverse=True)


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sort_by_serial_number_ignores_case(make_server: Any, order: str) -> None:
    server = make_server([unit("b-2"), unit("A-1"), unit("a-3"), unit("C-0")])
    found = units(server, {"sort_by": "serial_number", "sort_order": order})
    expected = ["A-1", "b-2", "a-3", "C-0"]
    expected = sorted(expected, key=fold, reverse=order == "desc")
    assert found == expected


def test_sort_by_part_number_and_last_run(demo: LocalTofuPilot) -> None:
    found = walk_all(demo, {"sort_by": "part_number", "sort_order": "asc"})
    part = {r["serial_number"]: fold(r["part"]["number"]) for r in DEMO.units}
    assert [part[s] for s in found] == sorted(part[s] for s in found)
    newest = [LATEST_FAILED, "ESS-R48-0007", GOLDEN_RACK]  # failed retest, commissioning, check
    assert units(demo, {"sort_by": "last_run_at", "limit": 3}) == newest
    oldest_first = walk_all(demo, {"sort_by": "last_run_at", "sort_order": "asc"})
    assert oldest_first[-4:] == [*newest[::-1], "CELL-21700-C-0125"]  # no run: last


def test_units_without_the_sort_value_come_last_in_either_order(make_server: Any) -> None:
    records = [unit("OLD"), unit("NEW", created_at="2026-02-01T00:00:00Z"), unit("NONE")]
    records[2]["created_at"] = None
    server = make_server(records)
    assert units(server, {"sort_order": "desc"}) == ["NEW", "OLD", "NONE"]
    assert units(server, {"sort_order": "asc"}) == ["OLD", "NEW", "NONE"]


# --------------------------------------------------------------------------- runs


def test_the_runs_of_a_unit_newest_first_by_default(demo: LocalTofuPilot) -> None:
    history = runs(demo, {"serial_numbers": "pcb-ctr-1180"})
    assert [run["outcome"] for run in history] == ["PASS", "ERROR"]
    starts = [moment(run["started_at"]) for run in history]
    assert starts == sorted(starts, reverse=True)
    oldest_first = runs(demo, {"serial_numbers": "PCB-CTR-1180", "sort_order": "asc"})
    assert oldest_first == history[::-1]
    assert all(run["unit"]["serial_number"] == "PCB-CTR-1180" for run in history)


def test_the_demos_reworked_units_have_their_history(demo: LocalTofuPilot) -> None:
    for serial, (first, last) in REWORKED.items():
        history = runs(demo, {"serial_numbers": serial, "sort_order": "asc"})
        assert len(history) >= 2, serial
        assert (history[0]["outcome"], history[-1]["outcome"]) == (first, last), serial
        record = next(r for r in DEMO.units if r["serial_number"] == serial)
        assert history[0]["id"] == record["created_during"]["id"]  # the creating run comes first
        (item,) = get(demo, "units", {"serial_numbers": serial})[1]["data"]
        assert item["last_run"]["id"] == history[-1]["id"] and item["last_run"]["outcome"] == last


def test_the_demos_latest_failed_module_passed_when_built(demo: LocalTofuPilot) -> None:
    record = next(r for r in DEMO.units if r["serial_number"] == LATEST_FAILED)
    assert record["created_during"]["outcome"] == "PASS"
    history = runs(demo, {"serial_numbers": LATEST_FAILED})
    assert [run["outcome"] for run in history] == ["FAIL", "PASS"]


def test_run_filters(demo: LocalTofuPilot) -> None:
    failed = runs(demo, {"outcomes": ["FAIL"], "limit": 100})
    assert {run["unit"]["serial_number"] for run in failed} == {
        "CELL-21700-C-0142",
        LATEST_FAILED,
        "CELL-21700-C-0211",
    }
    errored = runs(demo, {"outcomes": "ERROR", "part_numbers": "pcb-contactor"})
    assert [run["unit"]["serial_number"] for run in errored] == ["PCB-CTR-1180"]
    assert runs(demo, {"outcomes": "ERROR", "part_numbers": "nope"}) == []
    one = DEMO.runs[7]["id"]
    assert [run["id"] for run in runs(demo, {"ids": one.upper()})] == [one]
    golden = runs(demo, {"samples": "golden"})
    assert {run["unit"]["serial_number"] for run in golden} == {GOLDEN_RACK} and len(golden) == 3
    lot = runs(demo, {"batch_numbers": SHARED_CELL_LOT.lower(), "limit": 100})
    assert len(lot) == 52 + 2  # one run per cell of the lot, two more for the re-formed cell
    rev_b = runs(demo, {"revision_numbers": "b", "part_numbers": "CELL-21700"})
    assert rev_b and {run["unit"]["part"]["revision"]["number"] for run in rev_b} == {"B"}
    status, body = get(demo, "runs", {"outcomes": "MAYBE"})
    assert status == 400 and body["issues"][0]["path"] == ["outcomes"]


def test_runs_sort_by_each_documented_field(demo: LocalTofuPilot) -> None:
    for field in (
        "started_at",
        "created_at",
        "duration",
        "outcome",
        "serial_number",
        "part_number",
        "revision_number",
    ):
        status, body = get(demo, "runs", {"sort_by": field, "sort_order": "asc", "limit": 100})
        assert status == 200 and len(body["data"]) == 100, field
    longest = runs(demo, {"sort_by": "duration", "limit": 1})
    assert longest[0]["procedure"]["name"] == "Cell re-formation"


def test_without_run_records_a_units_history_is_its_creating_run(make_server: Any) -> None:
    server = make_server(factory())  # runs=None
    (run,) = runs(server, {"serial_numbers": "cell-21700-c-0142"})
    record = next(r for r in factory() if r["serial_number"] == "CELL-21700-C-0142")
    assert run == creating_run(record)
    assert run["id"] == record["created_during"]["id"] and run["outcome"] == "FAIL"
    assert runs(server, {"serial_numbers": "CELL-21700-C-0125"}) == []  # imported, never tested
    (item,) = get(server, "units", {"serial_numbers": "CELL-21700-C-0125"})[1]["data"]
    assert item["last_run"] is None
    assert len(walk_runs(server)) == 78  # every unit but the legacy cell
    server.units["CELL-21700-C-0125"] = unit("CELL-21700-C-0125", outcome="PASS")
    assert len(runs(server, {"serial_numbers": "CELL-21700-C-0125"})) == 1  # read when asked


def walk_runs(server: LocalTofuPilot) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = 0
    while True:
        _, body = get(server, "runs", {"limit": 100, "cursor": cursor})
        found += body["data"]
        if not body["meta"]["has_more"]:
            return found
        cursor = body["meta"]["next_cursor"]


def test_run_records_match_their_unit_in_any_case(make_server: Any) -> None:
    record = unit("SN-1")
    run = creating_run(record)
    assert run is not None
    retest = {**run, "id": "run-2", "started_at": "2026-01-11T09:00:00Z", "outcome": "FAIL"}
    retest["unit"] = {**run["unit"], "serial_number": "sn-1"}
    server = make_server([record], runs=[retest, run])
    assert [r["id"] for r in runs(server, {"serial_numbers": "Sn-1"})] == ["run-2", "run-SN-1"]
    (item,) = get(server, "units", {})[1]["data"]
    assert item["last_run"]["id"] == "run-2" and item["last_run"]["outcome"] == "FAIL"
    assert [r["id"] for r in server.history("SN-1")] == ["run-SN-1", "run-2"]


# --------------------------------------------------------------------------- server behaviour


def test_list_endpoints_switched_off_answer_404(make_server: Any) -> None:
    server = make_server(factory(), list_endpoints=False)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        for endpoint in ("units", "runs"):
            answer = http.get(f"/v2/{endpoint}", params={"serial_numbers": "ESS-R48-0007"})
            assert answer.status_code == 404 and answer.json()["code"] == "NOT_FOUND"
        assert http.get("/v2/units/ESS-R48-0007").status_code == 200
    assert server.endpoint_requests == Counter({"units": 1, "runs": 1, "unit": 1})
    assert server.total_requests == 3


def test_a_key_is_required(demo: LocalTofuPilot, make_server: Any) -> None:
    with httpx.Client(base_url=demo.url) as anonymous:
        for endpoint in ("units", "runs"):
            answer = anonymous.get(f"/v2/{endpoint}")
            assert answer.status_code == 401 and answer.json()["code"] == "UNAUTHORIZED"
            wrong = anonymous.get(f"/v2/{endpoint}", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
    guarded = make_server(factory(), forbidden_keys=["station-key"])
    with httpx.Client(base_url=guarded.url) as station:
        answer = station.get("/v2/runs", headers={"Authorization": "Bearer station-key"})
        assert answer.status_code == 403 and answer.json()["code"] == "FORBIDDEN"


@pytest.mark.slow
def test_latency_applies_to_list_requests(make_server: Any) -> None:
    server = make_server(factory(), latency=0.3)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        for endpoint in ("units", "runs"):
            started = time.monotonic()
            assert http.get(f"/v2/{endpoint}", params={"limit": 1}).status_code == 200
            assert time.monotonic() - started >= 0.3


def test_requests_are_counted_per_endpoint(client: httpx.Client, demo: LocalTofuPilot) -> None:
    client.get("/v2/units", params={"serial_numbers": ["A", "B"]})
    client.get("/v2/units", params={"limit": 0})  # refused, still a request
    client.get("/v2/runs")
    client.get("/v2/units/ESS-R48-0007")
    client.get("/v2/elsewhere")  # no endpoint: not counted
    assert demo.endpoint_requests == Counter({"units": 2, "runs": 1, "unit": 1})
    assert demo.requests == Counter({"ESS-R48-0007": 1})  # the unit endpoint, by serial
    assert demo.total_requests == 4
    assert list(demo.list_queries) == [
        ("units", {"serial_numbers": ["A", "B"]}),
        ("units", {"limit": ["0"]}),
        ("runs", {}),
    ]


def test_a_list_fault_is_injected_per_endpoint(client: httpx.Client, demo: LocalTofuPilot) -> None:
    demo.list_faults["units"] = Fault(status=503, times=2, retry_after="0")
    first = client.get("/v2/units")
    assert first.status_code == 503 and first.headers["Retry-After"] == "0"
    assert client.get("/v2/runs").status_code == 200  # the other endpoint is not affected
    assert client.get("/v2/units/ESS-R48-0007").status_code == 200
    assert client.get("/v2/units").status_code == 503
    assert client.get("/v2/units").status_code == 200  # after `times`, served again
    assert "units" not in demo.list_faults
    demo.list_faults["runs"] = Fault(status=200, times=None, body=b"{not json")
    assert client.get("/v2/runs").content == b"{not json"
    assert client.get("/v2/runs").content == b"{not json"


def test_the_rate_limit_counts_every_endpoint(make_server: Any) -> None:
    server = make_server(factory(), rate_limit=2)
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        paths = ["/v2/units", "/v2/runs", "/v2/units/ESS-R48-0007"] * 2
        statuses = [http.get(path).status_code for path in paths]
    # at most 2 per second, whatever the endpoint: 6 quick requests meet the limit in any split
    assert 429 in statuses and set(statuses) <= {200, 429}


@pytest.mark.parametrize(
    "serial", ["A+B", "A&B=C", "SN #1", "SN/7", "Ölkühler-7", "50%", "x,y", "dup=1;2"]
)
def test_serials_with_reserved_characters_match_over_http(make_server: Any, serial: str) -> None:
    server = make_server([unit(serial), unit("OTHER")])
    with httpx.Client(base_url=server.url, headers=AUTH) as http:
        answer = http.get("/v2/units", params={"serial_numbers": serial.upper()})
        assert [item["serial_number"] for item in answer.json()["data"]] == [serial]
        query = "serial_numbers=" + quote(serial.lower(), safe="")
        answer = http.get(f"/v2/runs?{query}")
        assert [run["unit"]["serial_number"] for run in answer.json()["data"]] == [serial]


# --------------------------------------------------------------------------- any record


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@PROPERTY
@given(st.lists(strategies.UNIT_RECORDS, min_size=1, max_size=4))
@pytest.mark.slow
def test_every_valid_record_lists_as_a_valid_item(records: list[dict[str, Any]]) -> None:
    records = json.loads(json.dumps(records))
    server = LocalTofuPilot(records, api_key=API_KEY)
    try:
        status, body = get(server, "units", {"limit": 100, "include_metadata": "true"})
        assert status == 200
        served = {record["serial_number"]: record for record in server.units.values()}
        for item in body["data"]:
            listed = ListedUnit.model_validate(escaped_keys(item))  # names made readable first
            record = served[listed.serial_number]
            assert listed.part.number == record["part"]["number"]
            assert [c.serial_number for c in listed.children] == [
                c["serial_number"] for c in record.get("children") or []
            ]
            parent = record["parent"]["serial_number"] if record["parent"] else None
            assert (listed.parent.serial_number if listed.parent else None) == parent
            run = record.get("created_during")
            assert (listed.last_run.id if listed.last_run else None) == (run and run["id"])
        status, body = get(server, "runs", {"limit": 100})
        assert status == 200
        for item in body["data"]:
            ListedRun.model_validate(escaped_keys(item))
    finally:
        server.stop()


@PROPERTY
@given(st.lists(strategies.invalid_records(), min_size=1, max_size=3))
@pytest.mark.slow
def test_malformed_records_never_break_a_list_request(records: list[dict[str, Any]]) -> None:
    usable = [r for r in records if isinstance(r.get("serial_number"), str)]
    server = LocalTofuPilot(usable, api_key=API_KEY)
    try:
        for endpoint in ("units", "runs"):
            for sort in (
                ("serial_number", "part_number", "last_run_at", "last_run_procedure")
                if endpoint == "units"
                else ("started_at", "duration", "part_number", "revision_number")
            ):
                status, _ = get(
                    server, endpoint, {"sort_by": sort, "part_numbers": "x", "limit": 100}
                )
                assert status == 200
                status, _ = get(
                    server,
                    endpoint,
                    {"sort_by": sort, "samples": ["production", "golden"], "outcomes": "PASS"},
                )
                assert status == 200
                status, _ = get(server, endpoint, {"sort_by": sort, "include_metadata": "true"})
                assert status == 200
    finally:
        server.stop()


def test_list_item_is_exported_for_building_expectations() -> None:
    record = unit("R", children=["C"])
    item = list_item(record, creating_run(record))
    assert item["children"] == [{"id": "id-C", "serial_number": "C"}]
    assert item["last_run"]["id"] == "run-R"


# --------------------------------------------------------------------------- data files


def test_load_data_reads_both_shapes(tmp_path: Any) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(factory()))
    assert load_data(str(plain)) == (factory(), None)
    assert load_units(str(plain)) == factory()
    full = tmp_path / "full.json"
    full.write_text(json.dumps({"units": DEMO.units, "runs": DEMO.runs}))
    assert load_data(str(full)) == (DEMO.units, DEMO.runs)
    assert load_units(str(full)) == DEMO.units
    for bad in ({"units": 3}, {"units": [], "runs": {}}, "text", {"runs": []}):
        broken = tmp_path / "broken.json"
        broken.write_text(json.dumps(bad))
        with pytest.raises((TypeError, KeyError)):
            load_data(str(broken))


# --------------------------------------------------------------------------- benchmark data


@pytest.mark.slow
def test_the_traction_pack_answers_a_100_serial_query_quickly() -> None:
    pack = traction_pack()
    assert len(pack.units) == 7122
    server = LocalTofuPilot(pack.units, runs=pack.runs, api_key=API_KEY)
    try:
        serials = [record["serial_number"] for record in pack.units[2000:2100]]
        params = {"serial_numbers": serials, "limit": 100}
        get(server, "runs", params)
        started = time.perf_counter()
        status, body = get(server, "runs", params)
        elapsed = time.perf_counter() - started
        assert status == 200 and body["meta"]["has_more"]  # ~3 runs each: more than a page
        assert elapsed < 0.25  # a few ms on a quiet machine; generous for a shared one
        status, body = get(server, "units", {"serial_numbers": serials, "limit": 100})
        assert len(body["data"]) == 100
        assert units(server, {"exclude_units_with_parent": "true"}) == [TRACTION_PACK]
    finally:
        server.stop()


def test_a_record_replaced_in_the_store_is_listed_anew(demo: LocalTofuPilot) -> None:
    """Items are encoded once per record: a unit replaced (as tests and `serve` data do) must
    not be answered from the old encoding, and the answer equals encoding the body whole."""
    query = {"serial_numbers": ["PDU-R48-0019"], "include_metadata": "true"}
    status, before = get(demo, "units", query)
    assert status == 200 and before["data"][0]["part"]["revision"]["number"] == "A"
    record = json.loads(json.dumps(demo.units["PDU-R48-0019"]))
    record["part"]["revision"]["number"] = "B"
    demo.units["PDU-R48-0019"] = record
    _, after = get(demo, "units", query)
    assert after["data"][0]["part"]["revision"]["number"] == "B"
    params = {
        name: list(values) if isinstance(values, list) else [values]
        for name, values in query.items()
    }
    status, _, body = demo.answer(
        f"/api/v2/units?{urlencode(query, doseq=True)}", f"Bearer {API_KEY}"
    )
    assert body == json.dumps(demo.list_units(params)).encode()
    _, _, runs_body = demo.answer("/api/v2/runs?serial_numbers=PCB-CTR-1180", f"Bearer {API_KEY}")
    assert runs_body == json.dumps(demo.list_runs({"serial_numbers": ["PCB-CTR-1180"]})).encode()
