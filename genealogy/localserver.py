"""A local TofuPilot-compatible server: `GET /api/v2/units/{serial}`, and the list endpoints
`GET /api/v2/units` and `GET /api/v2/runs`, from a list of unit records (and run records).

It speaks real HTTP on 127.0.0.1, checks the Bearer key, answers the documented error bodies
and matches serial, part, revision and batch numbers case-insensitively, as the service does.
It can add latency, rate-limit (429 + Retry-After) and inject faults (per serial for the unit
endpoint, `list_faults["units"]` / `list_faults["runs"]` for the list endpoints), so the demo,
the tests and the benchmarks exercise the same code paths as the real service.

The list endpoints (`list_endpoints=False` answers them 404, as a service without them would):

- `GET /api/v2/units`, filters `ids`, `serial_numbers`, `part_numbers`, `revision_numbers`,
  `batch_numbers`, `samples` (`production` = no sample), `exclude_units_with_parent`;
  `include_metadata`; `sort_by` `created_at` (default), `serial_number`, `part_number`,
  `last_run_at`, `last_run_procedure`. Each item is built from the unit's record: parent and
  children reduced to `{id, serial_number}`, `last_run` the latest run of its history.
- `GET /api/v2/runs`, filters `ids`, `serial_numbers`, `part_numbers`, `revision_numbers`,
  `batch_numbers`, `samples`, `outcomes`; `sort_by` `started_at` (default), `created_at`,
  `duration`, `outcome`, `serial_number`, `part_number`, `revision_number`.
- Both: lists as repeated parameters (`?serial_numbers=A&serial_numbers=B`); identifiers match
  case-insensitively; `sort_order` `desc` (default) or `asc`, items without the sort value
  last, ties broken by serial number and id so paging is stable; `limit` 1..100 (default 50),
  `cursor` an offset; `{"data": [...], "meta": {"has_more", "next_cursor"}}`. Unknown
  parameters are ignored (the service's other filters among them); a malformed value, a query
  that is not UTF-8 or has over `MAX_QUERY_FIELDS` fields answers 400; a request target over
  `MAX_LIST_TARGET` characters answers 414.

Run histories: `runs=None` derives each unit's history from its record's `created_during` (one
run, none without it), at request time; otherwise `runs` are records in the run-list shape,
indexed by their unit's serial number. Counting: `requests[serial]` counts the unit endpoint by
serial as asked, `endpoint_requests` counts every request by endpoint (`"unit"`, `"units"`,
`"runs"`, including those refused or answered 404 while list endpoints are off), and
`total_requests` is their sum: all requests to any endpoint (unknown paths are not counted).
"""

from __future__ import annotations

import bisect
import json
import re
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import pydantic

from genealogy.matching import fold
from genealogy.timestamps import moment

API_PREFIX = "/api"
UNITS_PATH = f"{API_PREFIX}/v2/units/"
UNIT_LIST_PATH = f"{API_PREFIX}/v2/units"
RUN_LIST_PATH = f"{API_PREFIX}/v2/runs"

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_QUERY_FIELDS = 1000
"""More query parameters than this answer 400 (a legitimate query has a few hundred at most)."""
MAX_LIST_TARGET = 16 * 1024
"""A list request's target (path and query) longer than this answers 414."""
SAMPLES = ("production", "golden", "failing", "ignored")
OUTCOMES = ("PASS", "FAIL", "ERROR", "TIMEOUT", "ABORTED")


@dataclass
class Fault:
    """A scripted misbehaviour for requests of one serial number (`server.faults[serial]`) or
    of one list endpoint (`server.list_faults["units"]` or `["runs"]`).

    `times` requests get it (None: every request); after that they are served normally.
    """

    status: int = 503
    times: int | None = 1
    retry_after: str | None = None
    delay: float = 0.0  # seconds before answering; a large value is a hung request
    body: bytes | None = None  # raw body instead of the documented error JSON
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "TIMEOUT",
    414: "URI_TOO_LONG",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}


class UnitStore(MutableMapping[str, Mapping[str, Any]]):
    """Records by their own serial number, also found by any spelling in another case."""

    def __init__(self, units: Iterable[Mapping[str, Any]] = ()) -> None:
        self._records: dict[str, Mapping[str, Any]] = {}
        self._spelling: dict[str, str] = {}  # fold(serial) -> the record's own serial
        for record in units:
            self[record["serial_number"]] = record

    def find(self, serial: str) -> Mapping[str, Any] | None:
        """The record `serial` names, in any case."""
        spelling = self._spelling.get(fold(serial))
        return None if spelling is None else self._records[spelling]

    def __getitem__(self, serial: str) -> Mapping[str, Any]:
        return self._records[serial]

    def __setitem__(self, serial: str, record: Mapping[str, Any]) -> None:
        previous = self._spelling.get(fold(serial))
        if previous is not None and previous != serial:
            del self._records[previous]  # one unit per serial, whatever its case
        self._records[serial] = record
        self._spelling[fold(serial)] = serial

    def __delitem__(self, serial: str) -> None:
        del self._records[serial]
        del self._spelling[fold(serial)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)


class LocalTofuPilot:
    """The server; `with LocalTofuPilot(units) as server:` serves on `server.url` until exit."""

    def __init__(
        self,
        units: Iterable[Mapping[str, Any]],
        *,
        api_key: str = "demo-key",
        forbidden_keys: Iterable[str] = (),
        latency: float = 0.0,
        rate_limit: float | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        runs: Iterable[Mapping[str, Any]] | None = None,
        list_endpoints: bool = True,
    ) -> None:
        self.units = UnitStore(units)
        self.runs = None if runs is None else RunHistory(runs)
        """The served run histories; None: each unit's `created_during`, read once per record
        (the store replaces whole records; one changed in place keeps its first reading)."""
        self._created = _CreatingRuns()
        self.list_endpoints = list_endpoints
        self._encoded = _Encoded()
        self.api_key = api_key
        self.forbidden_keys = set(forbidden_keys)
        self.latency = latency
        self.rate_limit = rate_limit
        self.faults: dict[str, Fault] = {}
        """Faults of the unit endpoint, by serial number as requested."""
        self.list_faults: dict[str, Fault] = {}
        """Faults of the list endpoints: key `"units"` or `"runs"`."""
        self.requests: Counter[str] = Counter()
        """Requests of the unit endpoint, by serial number as requested."""
        self.endpoint_requests: Counter[str] = Counter()
        """Requests by endpoint: `"unit"`, `"units"`, `"runs"`."""
        self.list_queries: deque[tuple[str, dict[str, list[str]]]] = deque(maxlen=10_000)
        """The latest well-formed list requests' endpoint and parameters, in arrival order."""
        self._lock = threading.Lock()
        self._window = (0, 0)  # (second, requests in it) for the rate limit
        self._stopping = threading.Event()
        self._httpd = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{API_PREFIX}"

    @property
    def total_requests(self) -> int:
        """Requests to any endpoint (unit and lists), whatever their answer."""
        with self._lock:
            return sum(self.endpoint_requests.values())

    def start(self) -> Self:
        # serve_forever looks for a shutdown every poll_interval (0.5 s by default): each stop
        # waited that long, 40 s over the quick test run
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers sleeping in a fault or latency
        if self._thread:  # shutdown() waits for serve_forever: forever if never started
            self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for one GET; the HTTP handler only transports them."""
        target = urlsplit(path)
        raw_path = target.path
        if raw_path in (UNIT_LIST_PATH, RUN_LIST_PATH):
            endpoint = "units" if raw_path == UNIT_LIST_PATH else "runs"
            return self._answer_list(endpoint, path, target.query, authorization)
        segment = raw_path[len(UNITS_PATH) :] if raw_path.startswith(UNITS_PATH) else None
        if segment is None or not segment or "/" in segment:
            return _error(404, f"No such endpoint: {raw_path}")
        serial = unquote(segment, errors="strict")
        with self._lock:
            self.requests[serial] += 1
            self.endpoint_requests["unit"] += 1
            fault = self._take_fault(serial)
            throttled = self._throttled()
        if self.latency:
            self.sleep(self.latency)
        refused = self._refusal(authorization, throttled, fault)
        if refused is not None:
            return refused
        unit = self.units.find(serial)
        if unit is None:
            return _error(404, f"Unit not found: {serial}")
        return 200, {"Content-Type": "application/json"}, json.dumps(unit).encode()

    def _refusal(
        self, authorization: str | None, throttled: bool, fault: Fault | None
    ) -> tuple[int, dict[str, str], bytes] | None:
        """What any endpoint answers before looking anything up: a key refused (401, 403),
        throttled (429), or the fault a test planted; None to go on."""
        if authorization != f"Bearer {self.api_key}":
            if authorization and authorization.removeprefix("Bearer ") in self.forbidden_keys:
                return _error(403, "This API key may not read units")
            return _error(401, "Invalid or missing API key")
        if throttled:
            return _error(429, "Rate limit exceeded", {"Retry-After": "1"})
        if fault is not None:
            return self._faulty(fault)
        return None

    def _take_fault(self, serial: str, faults: dict[str, Fault] | None = None) -> Fault | None:
        faults = self.faults if faults is None else faults
        fault = faults.get(serial)
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del faults[serial]
        return fault

    def _answer_list(
        self, endpoint: str, path: str, query: str, authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request of a list endpoint: counted, delayed, checked, then answered."""
        with self._lock:
            self.endpoint_requests[endpoint] += 1
            enabled = self.list_endpoints
            fault = self._take_fault(endpoint, self.list_faults) if enabled else None
            throttled = self._throttled() if enabled else False
        if self.latency:
            self.sleep(self.latency)
        if not enabled:
            return _error(404, f"No such endpoint: {urlsplit(path).path}")
        refused = self._refusal(authorization, throttled, fault)
        if refused is not None:
            return refused
        if len(path) > MAX_LIST_TARGET:
            return _error(414, f"Request target longer than {MAX_LIST_TARGET} characters")
        try:
            params = _parse_query(query)
            with self._lock:
                self.list_queries.append((endpoint, params))
            body = self._list_body(endpoint, params)
        except BadRequest as error:
            return _error(400, str(error), issues=error.issues)
        return 200, {"Content-Type": "application/json"}, body

    # ----------------------------------------------------------------------- list endpoints

    def history(self, serial: str) -> list[Mapping[str, Any]]:
        """The runs of the unit `serial` names (any case), oldest first."""
        return [run.record for run in self._history(fold(serial))]

    def _history(self, folded: str) -> list[IndexedRun]:
        if self.runs is not None:
            return self.runs.of(folded)
        unit = self.units.find(folded)
        return [] if unit is None else self._created.history(unit)

    def _all_runs(self) -> list[IndexedRun]:
        if self.runs is not None:
            return self.runs.all()
        return [run for unit in list(self.units.values()) for run in self._created.history(unit)]

    def list_units(self, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The body of `GET /v2/units?...`; raises `BadRequest` on a malformed parameter."""
        page, meta, with_metadata = self._unit_page(params)
        return {"data": [row.item(with_metadata) for row in page], "meta": meta}

    def _unit_page(
        self, params: Mapping[str, Sequence[str]]
    ) -> tuple[list[_UnitRow], dict[str, Any], bool]:
        limit, cursor = _paging(params)
        sort_by = _choice(params, "sort_by", UNIT_SORTS, "created_at")
        descending = _choice(params, "sort_order", ("asc", "desc"), "desc") == "desc"
        samples = _choices(params, "samples", SAMPLES)
        top_only = _flag(params, "exclude_units_with_parent")
        with_metadata = _flag(params, "include_metadata")
        serials = params.get("serial_numbers")
        if serials is not None:
            found = (self.units.find(serial) for serial in serials)
            records = list({id(unit): unit for unit in found if unit is not None}.values())
        else:
            records = list(self.units.values())
        checks: list[Callable[[Mapping[str, Any]], bool]] = []
        for name, read in (
            ("ids", lambda unit: unit.get("id")),
            ("part_numbers", lambda unit: _dig(unit, "part", "number")),
            ("revision_numbers", lambda unit: _dig(unit, "part", "revision", "number")),
            ("batch_numbers", lambda unit: _dig(unit, "batch", "number")),
        ):
            if name in params:
                checks.append(_matcher(params[name], read))
        if samples is not None:
            checks.append(_sample_matcher(samples, lambda unit: unit.get("sample")))
        if top_only:
            checks.append(lambda unit: not unit.get("parent"))
        rows = [
            _UnitRow(unit, self._latest(unit))
            for unit in records
            if all(check(unit) for check in checks)
        ]
        page, meta = _page(rows, UNIT_SORTS[sort_by], _UnitRow.tiebreak, descending, cursor, limit)
        return page, meta, with_metadata

    def _latest(self, unit: Mapping[str, Any]) -> IndexedRun | None:
        serial = unit.get("serial_number")
        runs = self._history(fold(serial)) if isinstance(serial, str) else []
        return runs[-1] if runs else None

    def list_runs(self, params: Mapping[str, Sequence[str]]) -> dict[str, Any]:
        """The body of `GET /v2/runs?...`; raises `BadRequest` on a malformed parameter."""
        page, meta = self._run_page(params)
        return {"data": [run.record for run in page], "meta": meta}

    def _run_page(
        self, params: Mapping[str, Sequence[str]]
    ) -> tuple[list[IndexedRun], dict[str, Any]]:
        limit, cursor = _paging(params)
        sort_by = _choice(params, "sort_by", RUN_SORTS, "started_at")
        descending = _choice(params, "sort_order", ("asc", "desc"), "desc") == "desc"
        samples = _choices(params, "samples", SAMPLES)
        outcomes = _choices(params, "outcomes", OUTCOMES)
        serials = params.get("serial_numbers")
        if serials is not None:
            found: dict[int, IndexedRun] = {}
            for folded in dict.fromkeys(fold(serial) for serial in serials):
                found.update((id(run), run) for run in self._history(folded))
            runs = list(found.values())
        else:
            runs = self._all_runs()
        checks: list[Callable[[Mapping[str, Any]], bool]] = []
        for name, read in (
            ("ids", lambda run: run.get("id")),
            ("part_numbers", lambda run: _dig(run, "unit", "part", "number")),
            ("revision_numbers", lambda run: _dig(run, "unit", "part", "revision", "number")),
            ("batch_numbers", lambda run: _dig(run, "unit", "batch", "number")),
        ):
            if name in params:
                checks.append(_matcher(params[name], read))
        if samples is not None:
            checks.append(_sample_matcher(samples, lambda run: _dig(run, "unit", "sample")))
        if outcomes is not None:
            checks.append(lambda run: _text(run.get("outcome")) in outcomes)
        rows = [run for run in runs if all(check(run.record) for check in checks)]
        return _page(rows, RUN_SORTS[sort_by], IndexedRun.tiebreak, descending, cursor, limit)

    def _list_body(self, endpoint: str, params: Mapping[str, Sequence[str]]) -> bytes:
        """`list_units` or `list_runs` as JSON bytes, each item encoded once per record and
        joined: encoding a page of 100 records was most of this stand-in server's time, which
        a benchmark's client competes with for the same cores (the real service's does not)."""
        if endpoint == "units":
            rows, meta, with_metadata = self._unit_page(params)
            items = [self._encoded.unit(row.unit, row.last, with_metadata) for row in rows]
        else:
            runs, meta = self._run_page(params)
            items = [self._encoded.run(run.record) for run in runs]
        return b'{"data": [' + b", ".join(items) + b'], "meta": ' + json.dumps(meta).encode() + b"}"

    def _throttled(self) -> bool:
        if not self.rate_limit:
            return False
        second, count = self._window
        now = int(time.monotonic())
        count = count + 1 if now == second else 1
        self._window = (now, count)
        return count > self.rate_limit

    def _faulty(self, fault: Fault) -> tuple[int, dict[str, str], bytes]:
        if fault.delay:
            self.sleep(fault.delay)
        headers = {"Content-Type": fault.content_type, **fault.headers}
        if fault.retry_after is not None:
            headers["Retry-After"] = fault.retry_after
        if fault.body is not None:
            return fault.status, headers, fault.body
        status, error_headers, body = _error(fault.status, "Injected fault")
        return status, {**error_headers, **headers}, body


def _error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    issues: list[dict[str, Any]] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    body = {"code": ERROR_CODES.get(status, "ERROR"), "message": message, "issues": issues or []}
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


class _Server(ThreadingHTTPServer):
    """One thread per connection; with keep-alive a crawl needs `concurrency` threads in all."""

    daemon_threads = True
    request_queue_size = 128
    """Listen backlog. The default (5) is smaller than a crawl's burst of new connections: the
    kernel then drops handshakes, and each dropped one costs the client a 1 s retransmission."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client hung up mid-answer, as it should on a huge body: not an error
        super().handle_error(request, client_address)


def _handler_for(server: LocalTofuPilot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real service
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between responses
        wbufsize = -1
        """Buffered: status line, headers and body leave in one write (`handle_one_request`
        flushes after `do_GET`), so the client reads one segment, not two per response."""

        def do_GET(self) -> None:
            try:
                status, headers, body = server.answer(self.path, self.headers.get("Authorization"))
            except UnicodeDecodeError:
                status, headers, body = _error(400, "Serial number is not valid UTF-8")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests and the demo read counts, not logs."""

    return Handler


def load_units(path: str) -> list[dict[str, Any]]:
    """Records from a JSON file: a list of units, or an object with a `units` list."""
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    units: list[dict[str, Any]] = data["units"] if isinstance(data, dict) else data
    return units


def load_data(path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """Unit records and run records from a JSON file: a list of units (runs None: derived from
    each unit's `created_during`), or `{"units": [...], "runs": [...]}` (`runs` optional).

    Raises `TypeError` or `KeyError` for another shape, `ValueError` for invalid JSON."""
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    if isinstance(data, list):
        return data, None
    if not isinstance(data, dict):
        raise TypeError(f"expected a list or an object, not {type(data).__name__}")
    units, runs = data["units"], data.get("runs")
    if not isinstance(units, list) or not all(isinstance(unit, dict) for unit in units):
        raise TypeError("`units` must be a list of objects")
    if runs is not None and (
        not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs)
    ):
        raise TypeError("`runs` must be a list of objects")
    return units, runs


# --------------------------------------------------------------------------- list helpers


class BadRequest(ValueError):
    """A malformed query parameter: answered 400 with `issues`."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.issues: list[dict[str, Any]] = [
            {"code": "invalid_value", "path": [] if name is None else [name], "message": message}
        ]


def _parse_query(query: str) -> dict[str, list[str]]:
    """The query's parameters (form style, repeated names collect into lists)."""
    try:
        pairs = parse_qsl(
            query,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_QUERY_FIELDS,
        )
    except UnicodeDecodeError:
        raise BadRequest("The query string is not valid UTF-8") from None
    except ValueError:
        raise BadRequest(f"More than {MAX_QUERY_FIELDS} query parameters") from None
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


def _single(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if values is None:
        return None
    if len(values) != 1:
        raise BadRequest(f"`{name}` given {len(values)} times", name)
    return values[0]


_INTEGER = re.compile(r"-?[0-9]{1,18}")


def _integer(
    params: Mapping[str, Sequence[str]], name: str, default: int, low: int, high: int
) -> int:
    text = _single(params, name)
    if text is None:
        return default
    value = int(text) if _INTEGER.fullmatch(text) else None
    if value is None or not low <= value <= high:
        bounds = f"from {low} to {high}" if high < 10**18 else f"of at least {low}"
        raise BadRequest(f"`{name}` must be an integer {bounds}", name)
    return value


def _paging(params: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """`limit` (1..100, default 50) and `cursor` (an offset, default 0)."""
    limit = _integer(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    cursor = _integer(params, "cursor", 0, 0, 10**18)
    return limit, cursor


def _choice(
    params: Mapping[str, Sequence[str]], name: str, choices: Iterable[str], default: str
) -> str:
    text = _single(params, name)
    if text is None:
        return default
    allowed = tuple(choices)
    if text not in allowed:
        raise BadRequest(f"`{name}` must be one of {', '.join(allowed)}", name)
    return text


def _choices(
    params: Mapping[str, Sequence[str]], name: str, choices: Sequence[str]
) -> frozenset[str] | None:
    values = params.get(name)
    if values is None:
        return None
    for value in values:
        if value not in choices:
            raise BadRequest(f"`{name}` values must be among {', '.join(choices)}", name)
    return frozenset(values)


def _flag(params: Mapping[str, Sequence[str]], name: str) -> bool:
    text = _single(params, name)
    if text is None:
        return False
    if text.lower() not in ("true", "false"):
        raise BadRequest(f"`{name}` must be true or false", name)
    return text.lower() == "true"


def _dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...`, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _folded(value: Any) -> str | None:
    return fold(value) if isinstance(value, str) else None


def _matcher(
    values: Iterable[str], read: Callable[[Mapping[str, Any]], Any]
) -> Callable[[Mapping[str, Any]], bool]:
    """A filter: the identifier `read` finds equals one of `values`, in any case."""
    wanted = frozenset(fold(value) for value in values)
    return lambda record: _folded(read(record)) in wanted


def _sample_matcher(
    samples: frozenset[str], read: Callable[[Mapping[str, Any]], Any]
) -> Callable[[Mapping[str, Any]], bool]:
    """A `samples` filter: `production` is a unit without a sample."""
    production = "production" in samples

    def check(record: Mapping[str, Any]) -> bool:
        sample = read(record)
        return production if sample is None else _text(sample) in samples

    return check


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_DURATION: pydantic.TypeAdapter[timedelta] = pydantic.TypeAdapter(timedelta)


def _duration(value: Any) -> timedelta | None:
    if not isinstance(value, str):
        return None
    try:
        return _DURATION.validate_python(value)
    except pydantic.ValidationError:
        return None


_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IndexedRun:
    """A run record with what sorting and lookup need, read once."""

    record: Mapping[str, Any]
    serial: str | None  # the folded serial number of its unit
    started: datetime | None
    created: datetime | None

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> IndexedRun:
        if not isinstance(record, Mapping):
            raise TypeError("a run record must be a JSON object")
        return cls(
            record,
            _folded(_dig(record, "unit", "serial_number")),
            moment(record.get("started_at")),
            moment(record.get("created_at")),
        )

    def chronology(self) -> tuple[datetime, datetime, str]:
        """Order within a unit's history: by start, then creation, then id."""
        return (self.started or _EPOCH, self.created or _EPOCH, str(self.record.get("id")))

    def tiebreak(self) -> tuple[str, str]:
        return (self.serial or "", str(self.record.get("id")))


class RunHistory:
    """Run records indexed by their unit's folded serial number, each unit's oldest first."""

    def __init__(self, runs: Iterable[Mapping[str, Any]] = ()) -> None:
        self._all: list[IndexedRun] = []
        self._by_serial: dict[str, list[IndexedRun]] = {}
        for run in runs:
            self.add(run)

    def add(self, record: Mapping[str, Any]) -> None:
        run = IndexedRun.of(record)
        self._all.append(run)
        if run.serial is not None:
            bisect.insort(
                self._by_serial.setdefault(run.serial, []), run, key=IndexedRun.chronology
            )

    def of(self, folded_serial: str) -> list[IndexedRun]:
        return self._by_serial.get(folded_serial, [])

    def all(self) -> list[IndexedRun]:
        return list(self._all)

    def records(self) -> list[Mapping[str, Any]]:
        return [run.record for run in self._all]

    def __len__(self) -> int:
        return len(self._all)


class _CreatingRuns:
    """Each unit record's history when the server has no runs of its own: its creating run,
    made once per record. A new run record on every request also defeated `_Encoded`, whose
    list items are keyed by their latest run: a 100-unit page took 5 ms instead of 0.5.
    Like `_Encoded`, it keeps a replaced record's entry while the server runs."""

    def __init__(self) -> None:
        self._known: dict[int, tuple[object, list[IndexedRun]]] = {}

    def history(self, unit: Mapping[str, Any]) -> list[IndexedRun]:
        known = self._known.get(id(unit))
        if known is None or known[0] is not unit:
            run = creating_run(unit)
            known = self._known[id(unit)] = (unit, [] if run is None else [IndexedRun.of(run)])
        return known[1]


class _Encoded:
    """JSON of list items, made once per record (and latest run): a record replaced in the
    store is a new object, so it is encoded anew; one changed in place is not (the store
    replaces whole records)."""

    def __init__(self) -> None:
        self._units: dict[tuple[int, int, bool], tuple[object, object, bytes]] = {}
        self._runs: dict[int, tuple[object, bytes]] = {}

    def unit(
        self, unit: Mapping[str, Any], last: IndexedRun | None, include_metadata: bool
    ) -> bytes:
        latest = None if last is None else last.record
        key = (id(unit), id(latest), include_metadata)
        known = self._units.get(key)
        if known is None or known[0] is not unit or known[1] is not latest:
            encoded = json.dumps(list_item(unit, latest, include_metadata)).encode()
            known = self._units[key] = (unit, latest, encoded)
        return known[2]

    def run(self, record: Mapping[str, Any]) -> bytes:
        known = self._runs.get(id(record))
        if known is None or known[0] is not record:
            known = self._runs[id(record)] = (record, json.dumps(record).encode())
        return known[1]


@dataclass(frozen=True, slots=True)
class _UnitRow:
    unit: Mapping[str, Any]
    last: IndexedRun | None

    def tiebreak(self) -> tuple[str, str, str]:
        serial = self.unit.get("serial_number")
        return (_folded(serial) or "", str(serial), str(self.unit.get("id")))

    def item(self, include_metadata: bool) -> dict[str, Any]:
        return list_item(
            self.unit, None if self.last is None else self.last.record, include_metadata
        )


UNIT_SORTS: dict[str, Callable[[_UnitRow], Any]] = {
    "created_at": lambda row: moment(row.unit.get("created_at")),
    "serial_number": lambda row: _folded(row.unit.get("serial_number")),
    "part_number": lambda row: _folded(_dig(row.unit, "part", "number")),
    "last_run_at": lambda row: None if row.last is None else row.last.started,
    "last_run_procedure": lambda row: (
        None if row.last is None else _folded(_dig(row.last.record, "procedure", "name"))
    ),
}
"""`sort_by` of `GET /v2/units`: the value each row is sorted by (None: sorted last)."""

RUN_SORTS: dict[str, Callable[[IndexedRun], Any]] = {
    "started_at": lambda run: run.started,
    "created_at": lambda run: run.created,
    "duration": lambda run: _duration(run.record.get("duration")),
    "outcome": lambda run: _folded(run.record.get("outcome")),
    "serial_number": lambda run: run.serial,
    "part_number": lambda run: _folded(_dig(run.record, "unit", "part", "number")),
    "revision_number": lambda run: _folded(_dig(run.record, "unit", "part", "revision", "number")),
}
"""`sort_by` of `GET /v2/runs`."""


Row = TypeVar("Row")


def _page(
    rows: list[Row],
    key: Callable[[Row], Any],
    tiebreak: Callable[[Row], Any],
    descending: bool,
    cursor: int,
    limit: int,
) -> tuple[list[Row], dict[str, Any]]:
    """One page of `rows` in order, and its `meta`; rows without a sort value come last."""
    keyed = [(key(row), row) for row in rows]
    present = [(value, tiebreak(row), row) for value, row in keyed if value is not None]
    present.sort(key=lambda entry: entry[:2], reverse=descending)
    missing = sorted((row for value, row in keyed if value is None), key=tiebreak)
    ordered = [row for _, _, row in present] + missing
    page = ordered[cursor : cursor + limit]
    has_more = cursor + limit < len(ordered)
    return page, {"has_more": has_more, "next_cursor": cursor + limit if has_more else None}


def _link(reference: Any) -> Any:
    """A parent or child reduced to `{id, serial_number}`, as list items carry them."""
    if not isinstance(reference, Mapping):
        return reference
    return {"id": reference.get("id"), "serial_number": reference.get("serial_number")}


def last_run(run: Mapping[str, Any]) -> dict[str, Any]:
    """A run-list record reduced to a list item's `last_run`."""
    procedure = run.get("procedure")
    return {
        "id": run.get("id"),
        "outcome": run.get("outcome"),
        "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"),
        "procedure": (
            {"id": procedure.get("id"), "name": procedure.get("name")}
            if isinstance(procedure, Mapping)
            else procedure
        ),
    }


def list_item(
    unit: Mapping[str, Any], latest: Mapping[str, Any] | None, include_metadata: bool = False
) -> dict[str, Any]:
    """A unit record (`GET /v2/units/{serial}` shape) as an item of `GET /v2/units`, with
    `latest` (a run-list record, or None) as its `last_run`."""
    children = unit.get("children")
    item: dict[str, Any] = {
        "id": unit.get("id"),
        "serial_number": unit.get("serial_number"),
        "created_at": unit.get("created_at"),
        "sample": unit.get("sample"),
        "part": unit.get("part"),
        "children": (
            [_link(child) for child in children]
            if isinstance(children, list)
            else []
            if children is None
            else children
        ),
    }
    for name in ("created_by_user", "created_by_station", "batch"):
        if name in unit:
            item[name] = unit[name]
    item["parent"] = _link(unit.get("parent"))
    item["last_run"] = None if latest is None else last_run(latest)
    if include_metadata:
        metadata = unit.get("metadata")
        item["metadata"] = {} if metadata is None else metadata
    return item


def run_unit(unit: Mapping[str, Any]) -> dict[str, Any]:
    """A unit record reduced to the `unit` of a run-list record."""
    reduced = {
        "id": unit.get("id"),
        "serial_number": unit.get("serial_number"),
        "sample": unit.get("sample"),
        "part": unit.get("part"),
    }
    if "batch" in unit:
        reduced["batch"] = unit["batch"]
    return reduced


def creating_run(unit: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run that created `unit` (its `created_during`) as a run-list record, or None."""
    run = unit.get("created_during")
    if not isinstance(run, Mapping):
        return None
    procedure = run.get("procedure")
    record: dict[str, Any] = {
        "id": run.get("id"),
        "created_at": run.get("created_at"),
        "started_at": run.get("started_at"),
        "ended_at": run.get("ended_at"),
        "duration": run.get("duration"),
        "outcome": run.get("outcome"),
        "execution_id": None,
        "slot_key": None,
        "slot_name": None,
        "procedure": (
            {"id": procedure.get("id"), "name": procedure.get("name"), "version": None}
            if isinstance(procedure, Mapping)
            else procedure
        ),
        "unit": run_unit(unit),
    }
    user = unit.get("created_by_user")
    if isinstance(user, Mapping):
        record["created_by_user"] = {**user, "email": user.get("email")}
    elif "created_by_user" in unit:
        record["created_by_user"] = user
    if "created_by_station" in unit:
        record["created_by_station"] = unit["created_by_station"]
    return record
