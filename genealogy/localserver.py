"""A local TofuPilot-compatible server: `GET /api/v2/units/{serial}` from a list of records.

It speaks real HTTP on 127.0.0.1, checks the Bearer key, answers the documented error bodies
and matches serial numbers case-insensitively, as the service does. It can add latency,
rate-limit (429 + Retry-After) and inject per-serial faults, so
the demo, the tests and the benchmarks exercise the same code paths as the real service.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from genealogy.matching import fold

API_PREFIX = "/api"
UNITS_PATH = f"{API_PREFIX}/v2/units/"


@dataclass
class Fault:
    """A scripted misbehaviour for requests of one serial number.

    `times` requests get it (None: every request); after that the unit is served normally.
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
    ) -> None:
        self.units = UnitStore(units)
        self.api_key = api_key
        self.forbidden_keys = set(forbidden_keys)
        self.latency = latency
        self.rate_limit = rate_limit
        self.faults: dict[str, Fault] = {}
        self.requests: Counter[str] = Counter()
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
        with self._lock:
            return sum(self.requests.values())

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases handlers sleeping in a fault or latency
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
        raw_path = urlsplit(path).path
        segment = raw_path[len(UNITS_PATH) :] if raw_path.startswith(UNITS_PATH) else None
        if segment is None or not segment or "/" in segment:
            return _error(404, f"No such endpoint: {raw_path}")
        serial = unquote(segment, errors="strict")
        with self._lock:
            self.requests[serial] += 1
            fault = self._take_fault(serial)
            throttled = self._throttled()
        if self.latency:
            self.sleep(self.latency)
        if authorization != f"Bearer {self.api_key}":
            if authorization and authorization.removeprefix("Bearer ") in self.forbidden_keys:
                return _error(403, "This API key may not read units")
            return _error(401, "Invalid or missing API key")
        if throttled:
            return _error(429, "Rate limit exceeded", {"Retry-After": "1"})
        if fault is not None:
            return self._faulty(fault)
        unit = self.units.find(serial)
        if unit is None:
            return _error(404, f"Unit not found: {serial}")
        return 200, {"Content-Type": "application/json"}, json.dumps(unit).encode()

    def _take_fault(self, serial: str) -> Fault | None:
        fault = self.faults.get(serial)
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                del self.faults[serial]
        return fault

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
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    body = {"code": ERROR_CODES.get(status, "ERROR"), "message": message, "issues": []}
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
