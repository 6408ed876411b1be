"""`genealogy where-used` and `genealogy.recall.where_used`: the products that contain a bad lot.

Everything expected is computed from the records themselves (`expected_scope` follows each
matching record's `parent` up to a unit with none), never copied from what the code outputs;
the demo's own description (datasets.SHARED_CELL_LOT) is checked against that as well.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

import genealogy.cli.where_used  # noqa: F401  registers `where-used` on `main`
from genealogy.datasets import (
    DEMO_START,
    SECOND_PRODUCT,
    SHARED_CELL_LOT,
    SPARE_MODULE,
    demo_data,
)
from genealogy.errors import ExitCode, StartUnreachable, UsageError
from genealogy.localserver import LocalTofuPilot
from genealogy.matching import fold
from genealogy.queries.where_used import WhereUsed, format_text
from genealogy.queries.where_used import where_used as where_used_query
from genealogy.recall import awhere_used, where_used
from tests.conftest import API_KEY, MakeServer, run_cli
from tests.records import unit

Record = Mapping[str, Any]

# -- what the records say -------------------------------------------------------------------


class Scope:
    """The recall scope computed from the records: products with their matching units and
    paths (product first), and the matching units installed in nothing."""

    def __init__(self, units: Iterable[Record], match: Callable[[Record], bool]) -> None:
        by_key = {fold(record["serial_number"]): record for record in units}
        self.contains: dict[str, set[str]] = {}
        self.paths: dict[str, set[tuple[str, ...]]] = {}
        self.not_installed: set[str] = set()
        self.matches: set[str] = set()
        for record in by_key.values():
            if not match(record):
                continue
            self.matches.add(record["serial_number"])
            chain = [record["serial_number"]]
            current = record
            while current.get("parent"):
                current = by_key[fold(current["parent"]["serial_number"])]
                chain.append(current["serial_number"])
            if len(chain) == 1:
                self.not_installed.add(chain[0])
            else:
                self.contains.setdefault(chain[-1], set()).add(chain[0])
                self.paths.setdefault(chain[-1], set()).add(tuple(reversed(chain)))


def batch_is(lot: str) -> Callable[[Record], bool]:
    return lambda record: bool(record.get("batch") and fold(record["batch"]["number"]) == fold(lot))


def part_is(part: str, revision: str | None = None) -> Callable[[Record], bool]:
    def check(record: Record) -> bool:
        if fold(record["part"]["number"]) != fold(part):
            return False
        return revision is None or fold(record["part"]["revision"]["number"]) == fold(revision)

    return check


def assert_scope(result: WhereUsed, scope: Scope) -> None:
    assert set(result.matches) == scope.matches
    assert {p.serial_number: set(p.contains) for p in result.products} == scope.contains
    assert {p.serial_number: set(p.paths) for p in result.products} == scope.paths
    assert {u.serial_number for u in result.not_installed} == scope.not_installed
    assert result.unresolved == ()
    for product in result.products:  # each listed once, in order
        assert list(product.contains) == sorted(product.contains)
        assert len(product.paths) == len(set(product.paths))


@pytest.fixture
def demo() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    units, runs = demo_data()
    return units, runs


@pytest.fixture
def demo_server(
    make_server: MakeServer, demo: tuple[list[dict[str, Any]], list[dict[str, Any]]]
) -> LocalTofuPilot:
    units, runs = demo
    return make_server(units, runs=runs)


def records_of(server: LocalTofuPilot) -> list[Record]:
    return list(server.units.values())


def latest_outcome(server: LocalTofuPilot, serial: str) -> str | None:
    history = server.history(serial)
    return history[-1]["outcome"] if history else None


# -- the demo's shared cell lot -------------------------------------------------------------


@pytest.mark.parametrize("lot", [SHARED_CELL_LOT, SHARED_CELL_LOT.lower(), "Cell-Lot-2604"])
def test_batch_gives_every_product_holding_the_lot(demo_server: LocalTofuPilot, lot: str) -> None:
    result = where_used(batch=lot, base_url=demo_server.url, api_key=API_KEY)
    scope = Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT))
    assert_scope(result, scope)
    # what the demo says of its lot holds in the records: the rack through modules 1 and 3,
    # the auxiliary pack, and the spare module (a top-level unit: a product with its paths)
    assert set(scope.contains) == {"ESS-R48-0007", SECOND_PRODUCT, SPARE_MODULE}
    assert {path[1] for path in scope.paths["ESS-R48-0007"]} == {"MOD-16S-0311", "MOD-16S-0313"}
    assert scope.not_installed == set()  # every cell of the lot is in something
    assert DEMO_START in scope.contains["ESS-R48-0007"]
    for product in result.products:
        record = demo_server.units.find(product.serial_number)
        assert record is not None
        assert product.part_number == record["part"]["number"]
        assert product.revision == record["part"]["revision"]["number"]
        assert product.latest_outcome == latest_outcome(demo_server, product.serial_number)
    spare = next(p for p in result.products if p.serial_number == SPARE_MODULE)
    # its EOL test errored, then passed on retest: the latest run is the one reported
    assert spare.latest_outcome == "PASS"
    assert latest_outcome(demo_server, SPARE_MODULE) == "PASS"


def test_requests_are_batched(demo_server: LocalTofuPilot) -> None:
    where_used(batch=SHARED_CELL_LOT, base_url=demo_server.url, api_key=API_KEY)
    scope = Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT))
    units_seen = len(scope.matches) + len(
        {s for paths in scope.paths.values() for p in paths for s in p[:-1]}
    )
    requests = dict(demo_server.endpoint_requests)
    assert requests.get("unit", 0) == 0 and requests.get("runs", 0) == 0
    # one page of matching cells, one request for their modules and packs, one for the rack
    assert requests["units"] == 3
    assert units_seen > 50
    matching = [q for endpoint, q in demo_server.list_queries if "batch_numbers" in q]
    assert len(matching) == 1 and matching[0]["limit"] == ["100"]


def test_part_and_revision(demo_server: LocalTofuPilot) -> None:
    records = records_of(demo_server)
    result = where_used(part="mod-16s", base_url=demo_server.url, api_key=API_KEY)
    scope = Scope(records, part_is("MOD-16S"))
    assert_scope(result, scope)
    assert SPARE_MODULE in scope.not_installed  # a matching module installed in nothing
    assert SPARE_MODULE not in {p.serial_number for p in result.products}

    cells = where_used(part="CELL-21700", revision="b", base_url=demo_server.url, api_key=API_KEY)
    old = Scope(records, part_is("CELL-21700", "B"))
    assert old.matches  # the demo's old-revision cell
    assert_scope(cells, old)


def test_serial_arguments(demo_server: LocalTofuPilot) -> None:
    asked = [DEMO_START.lower(), "MOD-16S-0390", "NO-SUCH-UNIT", "cell-21700-c-0205"]
    result = where_used(serials=asked, base_url=demo_server.url, api_key=API_KEY)
    wanted = {fold(serial) for serial in asked}
    scope = Scope(records_of(demo_server), lambda r: fold(r["serial_number"]) in wanted)
    assert_scope(result, scope)
    assert result.unknown == ("NO-SUCH-UNIT",)
    # the spare module is asked for itself (installed in nothing) and holds cell 0205
    assert {u.serial_number for u in result.not_installed} == {SPARE_MODULE}
    assert {p.serial_number for p in result.products} == {"ESS-R48-0007", SPARE_MODULE}


def test_filters_and_serials_combine(demo_server: LocalTofuPilot) -> None:
    result = where_used(
        batch=SHARED_CELL_LOT,
        part="CELL-21700",
        serials=["PCB-AUX-0091"],
        base_url=demo_server.url,
        api_key=API_KEY,
    )
    in_lot = batch_is(SHARED_CELL_LOT)
    scope = Scope(
        records_of(demo_server),
        lambda r: (in_lot(r) and part_is("CELL-21700")(r)) or r["serial_number"] == "PCB-AUX-0091",
    )
    assert_scope(result, scope)
    assert "PCB-AUX-0091" in scope.contains[SECOND_PRODUCT]


def test_paging_and_loose_units(make_server: MakeServer) -> None:
    """250 cells of one lot (3 pages), in 5 modules of 2 racks and a module on the shelf,
    plus 3 loose cells; the lot's spelling varies in the data."""
    records: list[dict[str, Any]] = []
    modules = [f"M-{n}" for n in range(6)]
    records.append(unit("R-1", children=["M-0", "M-1", "M-2"], part="RACK"))
    records.append(unit("R-2", children=["m-3", "M-4"], part="RACK"))  # names a child in lower case
    for index, module in enumerate(modules):
        parent = "R-1" if index < 3 else "r-2" if index < 5 else None
        cells = [f"C-{index}-{n:02d}" for n in range(41 if index < 5 else 45)]
        records.append(unit(module, parent=parent, children=cells, part="MOD"))
        for number, cell in enumerate(cells):
            lot = "LOT-9" if number % 2 else "lot-9"
            records.append(unit(cell, parent=module, part="CELL", batch={"id": "b", "number": lot}))
    for n in range(3):
        records.append(unit(f"LOOSE-{n}", part="CELL", batch={"id": "b", "number": "Lot-9"}))
    records.append(unit("OTHER", parent="M-0", part="CELL", batch={"id": "c", "number": "LOT-10"}))
    server = make_server(records)
    result = where_used(batch="LOT-9", base_url=server.url, api_key=API_KEY)
    scope = Scope(records, batch_is("LOT-9"))
    assert len(scope.matches) == 5 * 41 + 45 + 3 == 253
    assert_scope(result, scope)
    assert set(scope.contains) == {"R-1", "R-2", "M-5"}
    assert scope.not_installed == {"LOOSE-0", "LOOSE-1", "LOOSE-2"}
    # 3 pages of matching units, then modules, then racks
    assert server.endpoint_requests["units"] == 5
    cursors = [q.get("cursor") for _, q in server.list_queries if "batch_numbers" in q]
    assert cursors == [None, ["100"], ["200"]]


# -- the query alone ------------------------------------------------------------------------


def test_query_unresolved_paths_and_cycles() -> None:
    import networkx as nx

    graph = nx.DiGraph()
    ok = {"status": "ok", "parent_serial": None, "part_number": "P", "revision": "A"}
    graph.add_node("TOP", **ok, latest_outcome="FAIL")
    graph.add_node("MID", **{**ok, "parent_serial": "TOP"})
    graph.add_node("A", **{**ok, "parent_serial": "MID"})
    graph.add_node("GONE", status="error", reason="HTTP 503")
    graph.add_node("B", **{**ok, "parent_serial": "GONE"})
    graph.add_node("X", **{**ok, "parent_serial": "Y"})
    graph.add_node("Y", **{**ok, "parent_serial": "X"})
    graph.add_node("ORPHAN", **{**ok, "parent_serial": "NOT-CRAWLED"})
    graph.add_edges_from([("TOP", "MID"), ("MID", "A"), ("GONE", "B"), ("X", "Y"), ("Y", "X")])
    result = where_used_query(graph, ["a", "B", "X", "ORPHAN", "NOPE"])
    assert [p.serial_number for p in result.products] == ["TOP"]
    assert result.products[0].paths == (("TOP", "MID", "A"),)
    assert result.products[0].latest_outcome == "FAIL"
    assert result.unknown == ("NOPE",)
    unresolved = {item.serial_number: item for item in result.unresolved}
    assert set(unresolved) == {"B", "X", "ORPHAN"}
    assert unresolved["B"].path == ("GONE", "B") and "HTTP 503" in unresolved["B"].reason
    assert unresolved["X"].path == ("X", "Y", "X") and "loop" in unresolved["X"].reason
    assert "NOT-CRAWLED" in unresolved["ORPHAN"].reason
    text = format_text(result)
    assert "TOP → MID → A" in text and "GONE → B" in text
    json.dumps(result.to_dict())  # plain JSON values


# -- the command line -----------------------------------------------------------------------


def test_cli_text(demo_server: LocalTofuPilot) -> None:
    result = run_cli(demo_server, "where-used", "--batch", SHARED_CELL_LOT.lower(), via=None)
    assert result.exit_code == 0, result.stderr
    scope = Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT))
    out = result.stdout
    for product, cells in scope.contains.items():
        assert f"{product} " in out
        for path in scope.paths[product]:
            assert " → ".join(path) in out
        header = next(line for line in out.splitlines() if line.startswith(f"{product} "))
        assert header.endswith(f": {len(cells)} matching units")
    assert "Not installed" not in out
    assert f"{len(scope.matches)} matching units" in result.stderr


def test_cli_json(demo_server: LocalTofuPilot) -> None:
    result = run_cli(demo_server, "where-used", "--batch", SHARED_CELL_LOT, "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    scope = Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT))
    assert {"products", "not_installed"} <= set(data)
    products = {p["serial_number"]: p for p in data["products"]}
    assert set(products) == set(scope.contains)
    for serial, product in products.items():
        assert set(product) == {
            "serial_number",
            "part_number",
            "revision",
            "latest_outcome",
            "contains",
            "paths",
        }
        assert set(product["contains"]) == scope.contains[serial]
        assert {tuple(path) for path in product["paths"]} == scope.paths[serial]
        assert product["latest_outcome"] == latest_outcome(demo_server, serial)
    assert data["not_installed"] == []


def test_cli_csv(demo_server: LocalTofuPilot) -> None:
    result = run_cli(demo_server, "where-used", "--part", "MOD-16S", "--revision", "c", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [
        "serial_number",
        "part_number",
        "revision",
        "latest_outcome",
        "matching_units",
        "matching_serials",
    ]
    scope = Scope(records_of(demo_server), part_is("MOD-16S", "C"))
    body = {row[0]: row for row in rows[1:]}
    assert set(body) == set(scope.contains)
    for serial, row in body.items():
        assert int(row[4]) == len(scope.contains[serial])
        assert set(row[5].split(";")) == scope.contains[serial]
    # the spare module matches and is installed in nothing: not a product row, said on stderr
    assert SPARE_MODULE not in body
    assert "1 matching unit is installed in nothing" in result.stderr


def test_cli_csv_neutralises_formulas(make_server: MakeServer) -> None:
    records = [
        unit("=HYPERLINK(1)", children=["-2+3"], part="@SUM(A1)", revision="+1"),
        unit("-2+3", parent="=HYPERLINK(1)", part="CELL", batch={"id": "b", "number": "L"}),
        unit("=1+1", parent="=HYPERLINK(1)", part="CELL", batch={"id": "b", "number": "l"}),
    ]
    records[0]["children"].append({"id": "x", "serial_number": "=1+1"})
    server = make_server(records)
    result = run_cli(server, "where-used", "--batch", "L", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == ('"\'=HYPERLINK(1)","\'@SUM(A1)","\'+1","PASS",2,"\'-2+3;\'=1+1"')


def test_cli_serials_and_unknown(demo_server: LocalTofuPilot) -> None:
    result = run_cli(demo_server, "where-used", DEMO_START.lower(), "NO-SUCH-UNIT", "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [p["serial_number"] for p in data["products"]] == ["ESS-R48-0007"]
    assert data["products"][0]["paths"] == [["ESS-R48-0007", "MOD-16S-0313", DEMO_START]]
    assert data["unknown"] == ["NO-SUCH-UNIT"]
    assert "NO-SUCH-UNIT" in result.stderr


def test_cli_no_match(demo_server: LocalTofuPilot) -> None:
    result = run_cli(demo_server, "where-used", "--batch", "CELL-LOT-0000", "-f", "json")
    assert result.exit_code == 0
    assert "no unit matches --batch CELL-LOT-0000" in result.stderr
    data = json.loads(result.stdout)
    assert data["products"] == [] and data["not_installed"] == []
    text = run_cli(demo_server, "where-used", "--batch", "CELL-LOT-0000")
    assert text.exit_code == 0 and "No unit matches" in text.stdout


@pytest.mark.parametrize(
    "args",
    [(), ("--revision", "C"), ("--batch", ""), ("--part", " ")],
)
def test_cli_usage_errors(demo_server: LocalTofuPilot, args: tuple[str, ...]) -> None:
    result = run_cli(demo_server, "where-used", *args)
    assert result.exit_code == ExitCode.USAGE
    assert demo_server.total_requests == 0


def test_cli_auth_and_unreachable(demo_server: LocalTofuPilot, make_server: MakeServer) -> None:
    rejected = run_cli(demo_server, "where-used", "--batch", "X", key="wrong-key")
    assert rejected.exit_code == ExitCode.KEY_REJECTED
    assert "wrong-key" not in rejected.stderr
    missing = run_cli(demo_server, "where-used", "--batch", "X", key=None)
    assert missing.exit_code == ExitCode.NO_API_KEY
    forbidden = make_server(list(demo_server.units.values()), forbidden_keys={"ro-key"})
    refused = run_cli(forbidden, "where-used", "--batch", "X", key="ro-key")
    assert refused.exit_code == ExitCode.FORBIDDEN
    without_lists = make_server(list(demo_server.units.values()), list_endpoints=False)
    for args in (("--batch", "X"), (DEMO_START,)):
        result = run_cli(without_lists, "where-used", *args)
        assert result.exit_code == ExitCode.UNREACHABLE, result.stderr
        assert "list endpoint" in result.stderr
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = run_cli(f"http://127.0.0.1:{port}/api", "where-used", "--batch", "X", "--retries", "0")
    assert closed.exit_code == ExitCode.UNREACHABLE


class _RackDown(LocalTofuPilot):
    """Answers 503 to any list request naming the demo rack: its level cannot be fetched."""

    def _answer_list(
        self, endpoint: str, path: str, query: str, authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        if "ESS-R48-0007" in query.upper():
            with self._lock:
                self.endpoint_requests[endpoint] += 1
            return 503, {"Content-Type": "application/json"}, b'{"message": "down"}'
        return super()._answer_list(endpoint, path, query, authorization)


def test_cli_parent_not_fetched_is_exit_3(
    demo: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    units, runs = demo
    with _RackDown(units, runs=runs, api_key=API_KEY) as server:
        result = run_cli(
            server, "where-used", "--batch", SHARED_CELL_LOT, "-f", "json", "--retries", "0"
        )
    assert result.exit_code == ExitCode.INCOMPLETE
    data = json.loads(result.stdout)
    scope = Scope(units, batch_is(SHARED_CELL_LOT))
    # the other products are complete; the rack's cells are listed as not followed up
    assert {p["serial_number"] for p in data["products"]} == set(scope.contains) - {"ESS-R48-0007"}
    stopped = {item["serial_number"] for item in data["unresolved"]}
    assert stopped == scope.contains["ESS-R48-0007"]
    assert all(item["path"][0] == "ESS-R48-0007" for item in data["unresolved"])
    assert "ESS-R48-0007" in result.stderr
    assert f"{len(stopped)} matching units were not followed up" in result.stderr


def test_cli_output_file(demo_server: LocalTofuPilot, tmp_path: Any) -> None:
    target = tmp_path / "recall.csv"
    result = run_cli(
        demo_server, "where-used", "--batch", SHARED_CELL_LOT, "-f", "csv", "-o", str(target)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert target.read_text(encoding="utf-8").startswith('"serial_number",')


# -- the library ----------------------------------------------------------------------------


def test_library_usage_errors() -> None:
    with pytest.raises(UsageError):
        where_used(base_url="http://127.0.0.1:9/api", api_key="k")
    with pytest.raises(UsageError):
        where_used(revision="C", base_url="http://127.0.0.1:9/api", api_key="k")
    with pytest.raises(UsageError):
        where_used(batch="L", via="get", api_key="k")


def test_library_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StartUnreachable):
        where_used(batch="L", base_url=f"http://127.0.0.1:{port}/api", api_key="k", retries=0)


def test_library_async(demo_server: LocalTofuPilot) -> None:
    import asyncio

    result = asyncio.run(
        awhere_used(batch=SHARED_CELL_LOT, base_url=demo_server.url, api_key=API_KEY)
    )
    assert_scope(result, Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT)))
    assert result.to_dict()["products"][0]["serial_number"] == min(
        Scope(records_of(demo_server), batch_is(SHARED_CELL_LOT)).contains, key=fold
    )


def test_query_paths_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared sub-assemblies multiply paths: they are listed up to MAX_PATHS, the products and
    what they contain stay complete."""
    import networkx as nx

    import genealogy.queries.where_used as module

    monkeypatch.setattr(module, "MAX_PATHS", 5)
    graph = nx.DiGraph()
    ok = {"status": "ok", "part_number": "P", "revision": "A"}
    graph.add_node("TOP", **ok, parent_serial=None)
    for level in range(4):  # two units a level, each below both of the level above: 2^3 paths each
        for side in "LR":
            graph.add_node(f"{level}{side}", **ok, parent_serial="?")
            above = ["TOP"] if level == 0 else [f"{level - 1}L", f"{level - 1}R"]
            graph.add_edges_from((parent, f"{level}{side}") for parent in above)
    graph.add_node("LOOSE", **ok, parent_serial=None)
    result = where_used_query(graph, ["3L", "3R", "LOOSE"])
    assert result.truncated
    assert sum(len(p.paths) for p in result.products) == 5
    assert result.products[0].contains == ("3L", "3R")
    assert [u.serial_number for u in result.not_installed] == ["LOOSE"]
    monkeypatch.setattr(module, "MAX_PATHS", 32)
    complete = where_used_query(graph, ["3L", "3R", "LOOSE"])
    assert not complete.truncated and len(complete.products[0].paths) == 2 * 2**3
