"""The HTTP source against real HTTP servers on 127.0.0.1: URLs, auth, retries, bad answers.

No httpx mocking: every test talks to `LocalTofuPilot` (or a tiny stdlib server written here
for what it cannot do), and asserts on what the server saw as much as on what the client says.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import itertools
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from genealogy.crawler import Crawler
from genealogy.errors import Forbidden, KeyRejected, MissingApiKey
from genealogy.localserver import UNITS_PATH, Fault, LocalTofuPilot
from genealogy.nodes import Status
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Counters, Failed, Fetched, FetchOutcome, NotFound
from genealogy.sources.http import MAX_BODY_BYTES, HttpSettings, HttpSource, unit_url
from tests.conftest import API_KEY, server_starter
from tests.records import unit

FAST: dict[str, Any] = {"backoff": 0.01, "timeout": 5.0}


class RecordingServer(LocalTofuPilot):
    """`LocalTofuPilot` that also records, server-side, every request it answers.

    `paths` are the raw request targets, `arrivals` (serial-less) monotonic arrival times,
    `authorizations` the Authorization headers, `max_in_flight` the most requests being
    answered at the same moment.

    `hold(n, prefix)` makes requests for serials starting with `prefix` wait until `n` of them
    are in flight together (or `timeout` passes): whether a client really sends `n` at once
    then shows in `max_in_flight` however slow the machine is.

    `hold_until(serial, ready)` answers requests for `serial` only once `ready()` is true (or
    `timeout` passes; `held_in_vain` counts those): which of two answers travelling together
    the client reads first is then forced, not left to the machine's load.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.paths: list[str] = []
        self.arrivals: list[float] = []
        self.authorizations: list[str | None] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._record_lock = threading.Condition()
        self._hold: tuple[int, str, float] | None = None
        self._held = 0
        self._holds_until: dict[str, tuple[Callable[[], bool], float]] = {}
        self.held_in_vain = 0

    def hold(self, count: int, prefix: str, timeout: float = 5.0) -> None:
        self._hold = (count, f"{UNITS_PATH}{prefix}", timeout)

    def hold_until(self, serial: str, ready: Callable[[], bool], timeout: float = 5.0) -> None:
        self._holds_until[f"{UNITS_PATH}{serial}"] = (ready, timeout)

    def _wait_until(self, ready: Callable[[], bool], timeout: float) -> None:
        give_up = time.monotonic() + timeout
        while not ready():
            if time.monotonic() >= give_up:
                with self._record_lock:
                    self.held_in_vain += 1
                return
            time.sleep(0.005)

    def start(self) -> RecordingServer:
        # A backlog of 5 (the stdlib default) drops handshakes in a burst of 16 new connections
        # and hides the client's concurrency behind 1 s retransmissions: make sure it is large.
        self._httpd.socket.listen(128)
        # LocalTofuPilot.stop() waits out serve_forever's 0.5 s poll; poll faster so tests are quick
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        with self._record_lock:
            self.paths.append(path)
            self.arrivals.append(time.monotonic())
            self.authorizations.append(authorization)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            held = self._hold is not None and path.startswith(self._hold[1])
            if self._hold and held:
                count, _, timeout = self._hold
                self._held += 1
                self._record_lock.notify_all()
                self._record_lock.wait_for(lambda: self._held >= count, timeout)
        try:
            if path in self._holds_until:
                self._wait_until(*self._holds_until[path])
            return super().answer(path, authorization)
        finally:
            with self._record_lock:
                self.in_flight -= 1
                self._held -= held


@pytest.fixture
def recording() -> Iterator[Callable[..., RecordingServer]]:
    """Start `RecordingServer`s; all are stopped at the end of the test."""
    yield from server_starter(RecordingServer)


@contextlib.contextmanager
def tiny_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A bare stdlib server for answers `LocalTofuPilot` cannot give; yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/api"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fetch(
    base_url: str,
    serial: str,
    key: str | None = API_KEY,
    counters: Counters | None = None,
    **kw: Any,
) -> FetchOutcome:
    """One `HttpSource.get` in its own event loop, with fast test settings."""
    settings = HttpSettings(base_url=base_url, **{**FAST, **kw})

    async def main() -> FetchOutcome:
        async with HttpSource(key, settings, counters) as source:
            return await source.get(serial)

    return asyncio.run(main())


def failed_reason(outcome: FetchOutcome) -> str:
    assert isinstance(outcome, Failed), outcome
    return outcome.reason


# --- serial numbers reach exactly their unit ------------------------------------------------

ODD_SERIALS = [
    "SN/001",
    "a/b/c",
    "SN?x=1",
    "SN#7",
    "100%",
    "%2F",
    "%2e%2e",
    "SN+1",
    "SN 0001",
    " lead",
    "it's",
    'say "hi"',
    "Zählerstand-ß",
    "電池-\uff10\uff11",  # fullwidth digits
    "🔋-1",
    "e\u0301",
    "..",
    ".",
    "...",
    "../runs",
    "./x",
    "runs/..",
    "..\\runs",
    "a;b=c",
    "~user",
    "tab\there",
    "line\nbreak",
]


@pytest.mark.parametrize("serial", ODD_SERIALS)
def test_odd_serial_reaches_exactly_that_unit(
    recording: Callable[..., RecordingServer], serial: str
) -> None:
    server = recording([unit(serial), unit("runs"), unit("x")])
    outcome = fetch(server.url, serial)
    assert isinstance(outcome, Fetched), outcome
    assert outcome.unit.serial_number == serial
    assert server.requests == Counter({serial: 1})
    assert len(server.paths) == 1
    prefix = "/api/v2/units/"
    assert server.paths[0].startswith(prefix)
    segment = server.paths[0][len(prefix) :]
    assert segment and "/" not in segment and "?" not in segment and "#" not in segment


def test_unit_url_is_one_segment_under_the_base() -> None:
    assert unit_url("https://h/api/", "../runs") == "https://h/api/v2/units/..%2Fruns"
    assert unit_url("https://h/api", "..") == "https://h/api/v2/units/%2E%2E"
    assert unit_url("https://h/api", ".") == "https://h/api/v2/units/%2E"
    assert unit_url("https://h/api", "a b+c#d?e%") == "https://h/api/v2/units/a%20b%2Bc%23d%3Fe%25"


def test_crawl_follows_children_with_odd_serials(recording: Callable[..., RecordingServer]) -> None:
    children = ["../runs", "..", ".", "a/b", "x?y", "x#y", "50%", "a+b", "a b", "Ünï"]
    records = [unit("ROOT", children=children)]
    records += [unit(child, parent="ROOT") for child in children]
    server = recording([*records, unit("runs"), unit("b")])
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, backoff=0.01)
    result = run_crawl("ROOT", options)
    assert {s: st.status for s, st in result.units.items()} == {
        s: Status.OK for s in ["ROOT", *children]
    }
    assert server.requests == Counter({s: 1 for s in ["ROOT", *children]})


def test_empty_serial_is_failed_without_a_request(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")])
    reason = failed_reason(fetch(server.url, ""))
    assert "empty" in reason
    assert server.paths == []  # in particular not GET /v2/units/, the list endpoint


def test_serial_that_is_not_unicode_text_is_failed_without_a_request(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")])
    serial = "SN-\udcff"  # how Python shows a non-UTF-8 byte from the command line
    reason = failed_reason(fetch(server.url, serial))
    assert "Unicode" in reason
    assert server.paths == []


def test_lone_surrogate_in_a_record_does_not_break_the_crawl(
    recording: Callable[..., RecordingServer], tmp_path: Any
) -> None:
    # a JavaScript service may cut a string inside a surrogate pair and send "\ud83d"
    body = json.dumps(unit("P", children=["C-XX"])).replace("C-XX", "C-\\ud83d").encode()
    assert b"\\ud83d" in body
    server = recording([unit("P")])
    server.faults["P"] = Fault(status=200, times=None, body=body)
    options = CrawlOptions(
        base_url=server.url, api_key=API_KEY, backoff=0.01, cache_path=tmp_path / "c.db"
    )
    result = run_crawl("P", options)
    assert result.units["P"].status is Status.OK
    (child,) = (s for s in result.units if s != "P")
    child.encode("utf-8")  # replaced by U+FFFD: storable, printable, requestable
    assert "\ufffd" in child
    assert result.units[child].status is Status.NOT_FOUND


# --- the API key ------------------------------------------------------------------------------


def test_bearer_key_is_sent(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A")])
    assert isinstance(fetch(server.url, "A"), Fetched)
    assert server.authorizations == [f"Bearer {API_KEY}"]


def test_401_raises_key_rejected_after_one_request(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")], api_key="the-right-key")
    with pytest.raises(KeyRejected) as caught:
        fetch(server.url, "A", retries=4)
    assert server.requests == Counter({"A": 1})
    message = str(caught.value)
    assert "TOFUPILOT_API_KEY" in message and "--api-key" not in message  # the CLI adds flags
    assert API_KEY not in message


def test_403_raises_forbidden_after_one_request(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")], api_key="the-right-key", forbidden_keys=[API_KEY])
    with pytest.raises(Forbidden) as caught:
        fetch(server.url, "A", retries=4)
    assert server.requests == Counter({"A": 1})
    message = str(caught.value)
    assert "403" in message
    assert "TOFUPILOT_API_KEY" in message and "--api-key" not in message  # the CLI adds flags
    assert API_KEY not in message


@pytest.mark.parametrize("status, error", [(401, KeyRejected), (403, Forbidden)])
def test_auth_error_message_hides_an_echoed_key(
    recording: Callable[..., RecordingServer], status: int, error: type[Exception]
) -> None:
    server = recording([unit("A")])
    echo = {"code": "X", "message": f"bad header Authorization: Bearer {API_KEY}"}
    server.faults["A"] = Fault(status=status, body=json.dumps(echo).encode())
    with pytest.raises(error) as caught:
        fetch(server.url, "A")
    assert API_KEY not in str(caught.value)
    assert "TOFUPILOT_API_KEY" in str(caught.value)


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_raises_before_any_request(
    recording: Callable[..., RecordingServer], key: str | None
) -> None:
    server = recording([unit("A")])
    with pytest.raises(MissingApiKey) as caught:
        fetch(server.url, "A", key=key)
    with pytest.raises(MissingApiKey):
        run_crawl("A", CrawlOptions(base_url=server.url, api_key=key))
    assert server.paths == []
    assert "TOFUPILOT_API_KEY" in str(caught.value) and "--api-key" not in str(caught.value)


def test_repr_of_the_source_hides_the_key() -> None:
    source = HttpSource(API_KEY, HttpSettings(base_url="http://127.0.0.1:9/api"))
    assert API_KEY not in repr(source)
    asyncio.run(source.aclose())


# --- retries ----------------------------------------------------------------------------------


def gaps(arrivals: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


@pytest.mark.slow
def test_429_retry_after_seconds_is_honoured(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=429, times=1, retry_after="1")
    counters = Counters()
    outcome = fetch(server.url, "A", counters=counters)
    assert isinstance(outcome, Fetched)
    assert server.requests == Counter({"A": 2})
    assert (counters.requests, counters.retries) == (2, 1)
    # the backoff is 0.01 s: only Retry-After explains the pause the server saw
    assert gaps(server.arrivals)[0] >= 0.9


@pytest.mark.slow
def test_429_retry_after_http_date_is_honoured(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A")])
    date = int(time.time()) + 2  # whole seconds: 1 to 2 s away
    when = email.utils.formatdate(date, usegmt=True)
    server.faults["A"] = Fault(status=429, times=1, retry_after=when)
    counters = Counters()
    outcome = fetch(server.url, "A", counters=counters)
    assert isinstance(outcome, Fetched)
    assert server.requests == Counter({"A": 2})
    assert counters.retries == 1
    # the retry waited for the date itself (the backoff is 0.01 s), compared on the wall clock:
    # a gap of 0.9 s after the 429 assumed it reached the server within 0.1 s of the date
    # being written, which a busy machine need not do when the date was only 1 s away
    retried = server.arrivals[1] + (time.time() - time.monotonic())
    assert retried >= date - 0.05


def test_retry_after_in_the_past_or_garbage_retries_at_once(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A"), unit("B")])
    server.faults["A"] = Fault(status=429, times=1, retry_after="Thu, 01 Jan 1970 00:00:00 GMT")
    server.faults["B"] = Fault(status=503, times=1, retry_after="soon")
    assert isinstance(fetch(server.url, "A"), Fetched)
    assert isinstance(fetch(server.url, "B"), Fetched)
    assert server.requests == Counter({"A": 2, "B": 2})


def test_http_date_without_a_zone_is_read_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    from genealogy.sources.http import _parse_retry_after

    monkeypatch.setenv("TZ", "Etc/GMT+5")  # a local clock five hours behind UTC
    time.tzset()
    try:
        date = email.utils.formatdate(time.time() + 30, usegmt=True).replace("GMT", "-0000")
        seconds = _parse_retry_after(date)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert seconds is not None and 25 <= seconds <= 31


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_errors_are_retried_then_succeed(
    recording: Callable[..., RecordingServer], status: int
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=status, times=2)
    counters = Counters()
    outcome = fetch(server.url, "A", counters=counters, retries=2)
    assert isinstance(outcome, Fetched)
    assert server.requests == Counter({"A": 3})
    assert (counters.requests, counters.retries) == (3, 2)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_exhausted_is_failed_naming_status_and_attempts(
    recording: Callable[..., RecordingServer], status: int
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=status, times=None)
    counters = Counters()
    reason = failed_reason(fetch(server.url, "A", counters=counters, retries=2))
    assert str(status) in reason
    assert "3 attempts" in reason
    assert server.requests == Counter({"A": 3})
    assert counters.retries == 2


@pytest.mark.parametrize("status", [400, 405, 410, 418, 501])
def test_other_statuses_fail_at_once(
    recording: Callable[..., RecordingServer], status: int
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=status, times=None)
    reason = failed_reason(fetch(server.url, "A", retries=3))
    assert f"HTTP {status}" in reason
    assert server.requests == Counter({"A": 1})


def test_404_is_not_found_and_not_retried(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A")])
    outcome = fetch(server.url, "GHOST", retries=3)
    assert isinstance(outcome, NotFound)
    assert "404" in outcome.reason
    assert server.requests == Counter({"GHOST": 1})


def test_hanging_request_times_out_and_is_retried(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=200, times=None, delay=60)
    counters = Counters()
    reason = failed_reason(fetch(server.url, "A", counters=counters, timeout=0.2, retries=1))
    assert "no answer within 0.2 s" in reason
    assert "2 attempts" in reason
    assert server.requests == Counter({"A": 2})
    assert counters.retries == 1


def test_connection_refused_is_failed_after_retries() -> None:
    counters = Counters()
    base = f"http://127.0.0.1:{free_port()}/api"
    reason = failed_reason(fetch(base, "A", counters=counters, retries=2))
    assert "network error" in reason and "3 attempts" in reason
    assert (counters.requests, counters.retries) == (3, 2)


# --- answers that are not a unit --------------------------------------------------------------

BIG = MAX_BODY_BYTES + 1024
BAD_ANSWERS: dict[str, tuple[Fault, str]] = {
    "broken-json": (Fault(status=200, body=b'{"id": "x", "serial'), "not JSON"),
    "html-200": (
        Fault(status=200, body=b"<html><body>Oops</body></html>", content_type="text/html"),
        "not JSON (text/html)",
    ),
    "empty-200": (Fault(status=200, body=b""), "empty body"),
    "blank-200": (Fault(status=200, body=b"  \n "), "empty body"),
    "error-body-200": (
        Fault(status=200, body=b'{"code": "INTERNAL", "message": "db down"}'),
        "error body: INTERNAL: db down",
    ),
    "wrong-types": (
        Fault(
            status=200,
            body=json.dumps({**unit("A"), "children": "B,C", "part": 7}).encode(),
        ),
        "not a unit",
    ),
    "json-list": (Fault(status=200, body=b"[1, 2]"), "not a unit"),
    "json-null": (Fault(status=200, body=b"null"), "not a unit"),
    "not-utf8": (Fault(status=200, body=b'{"id": "\xff\xfe"}'), "not JSON"),
    "deep-nesting": (Fault(status=200, body=b"[" * 100_000 + b"]" * 100_000), "not JSON"),
    "bad-gzip": (
        Fault(status=200, body=b"this is not gzip", headers={"Content-Encoding": "gzip"}),
        "decode",
    ),
    "huge-declared": (Fault(status=200, body=b" " * BIG), "larger than 8 MiB"),
    "html-500-page": (
        Fault(status=418, body=b"<h1>teapot</h1>", content_type="text/html"),
        "HTTP 418, text/html body",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ANSWERS))
def test_bad_answer_is_failed_with_a_clear_reason_after_one_request(
    recording: Callable[..., RecordingServer], case: str
) -> None:
    fault, expected = BAD_ANSWERS[case]
    server = recording([unit("A")])
    server.faults["A"] = fault
    reason = failed_reason(fetch(server.url, "A", retries=3))
    assert expected in reason
    assert len(reason) <= 400
    assert server.requests == Counter({"A": 1})


def test_bad_answers_fail_their_unit_and_the_crawl_goes_on(
    recording: Callable[..., RecordingServer],
) -> None:
    bad = sorted(BAD_ANSWERS)
    good = ["GOOD-1", "GOOD-2"]
    records = [unit("ROOT", children=[*bad, *good])]
    records += [unit(serial, parent="ROOT", children=[f"{serial}-leaf"]) for serial in bad]
    records += [unit(serial, parent="ROOT") for serial in good]
    server = recording(records)
    for serial in bad:
        fault = BAD_ANSWERS[serial][0]
        server.faults[serial] = Fault(**{**vars(fault), "times": None})
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, backoff=0.01, retries=1)
    result = run_crawl("ROOT", options)
    assert not result.interrupted
    assert {s for s, st in result.units.items() if st.status is Status.OK} == {"ROOT", *good}
    for serial in bad:
        state = result.units[serial]
        assert state.status is Status.ERROR
        assert state.reason and BAD_ANSWERS[serial][1] in state.reason


class _EndlessBody(BaseHTTPRequestHandler):
    """200 with a body larger than the limit and no Content-Length (read until close)."""

    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        chunk = b" " * 65536
        with contextlib.suppress(OSError):  # the client hangs up once it has had enough
            for _ in range(BIG // len(chunk) + 2):
                self.wfile.write(chunk)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_huge_body_without_content_length_is_failed() -> None:
    with tiny_server(_EndlessBody) as base:
        reason = failed_reason(fetch(base, "A", retries=2))
    assert "larger than 8 MiB" in reason


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_another_host_is_not_followed(
    recording: Callable[..., RecordingServer], status: int
) -> None:
    server = recording([unit("A")])
    other = recording([unit("A")], api_key="anything")
    server.faults["A"] = Fault(
        status=status, times=None, headers={"Location": f"{other.url}/v2/units/A"}
    )
    reason = failed_reason(fetch(server.url, "A", retries=2))
    assert f"HTTP {status} redirect" in reason and "not followed" in reason
    assert server.requests == Counter({"A": 1})
    assert other.authorizations == []  # the other host never saw a request, let alone the key
    assert other.paths == []


# --- the key never leaks into a reason --------------------------------------------------------

ECHO = f"Authorization: Bearer {API_KEY}"
LEAKS: dict[str, Fault] = {
    "500-message": Fault(
        status=500, times=None, body=json.dumps({"code": "E", "message": ECHO}).encode()
    ),
    "500-code": Fault(
        status=500, times=None, body=json.dumps({"code": ECHO, "message": "m"}).encode()
    ),
    "404-message": Fault(status=404, body=json.dumps({"code": "E", "message": ECHO}).encode()),
    "200-error-body": Fault(status=200, body=json.dumps({"code": "E", "message": ECHO}).encode()),
    "200-not-a-unit": Fault(
        status=200,
        body=json.dumps({**unit("A"), "serial_number": None, "metadata": {ECHO: [1]}}).encode(),
    ),
    "200-content-type": Fault(status=200, body=b"<html>", content_type=f"{ECHO}; x=1"),
    "500-content-type": Fault(status=502, times=None, body=b"<html>", content_type=ECHO),
    "redirect-location": Fault(status=302, headers={"Location": f"http://e.test/?k={API_KEY}"}),
    "redirect-long-location": Fault(
        status=302, headers={"Location": f"http://e.test/{'x' * 250}?k={API_KEY}"}
    ),
}


@pytest.mark.parametrize("case", sorted(LEAKS))
def test_echoed_key_never_appears_in_a_reason(
    recording: Callable[..., RecordingServer], case: str
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = LEAKS[case]
    outcome = fetch(server.url, "A", retries=1)
    assert isinstance(outcome, Failed | NotFound), outcome
    assert API_KEY not in outcome.reason
    assert len(outcome.reason) <= 400


def test_echoed_key_never_appears_in_a_warning(recording: Callable[..., RecordingServer]) -> None:
    """A metadata value of the wrong type is repaired, and the warning names its key."""
    server = recording([unit("A")])
    body = json.dumps({**unit("A"), "metadata": {ECHO: [1]}}).encode()
    server.faults["A"] = Fault(status=200, body=body)
    outcome = fetch(server.url, "A", retries=1)
    assert isinstance(outcome, Fetched), outcome
    assert len(outcome.warnings) == 1 and "(kept as text)" in outcome.warnings[0]
    assert API_KEY not in outcome.warnings[0]


def test_long_messages_are_cut_without_leaving_a_piece_of_the_key(
    recording: Callable[..., RecordingServer],
) -> None:
    """Wherever a long message is cut, no head of the key survives in front of the cut."""
    server = recording([])
    serials = []
    for pad in range(230, 330):
        message = "x" * pad + ECHO + "y" * 50
        body = json.dumps({"code": "E", "message": message}).encode()
        for status in (200, 400, 404):
            serial = f"S{status}-{pad}"
            serials.append(serial)
            server.faults[serial] = Fault(status=status, body=body)
    settings = HttpSettings(base_url=server.url, retries=0, **FAST)

    async def main() -> list[FetchOutcome]:
        async with HttpSource(API_KEY, settings) as source:
            return [await source.get(serial) for serial in serials]

    for serial, outcome in zip(serials, asyncio.run(main()), strict=True):
        assert isinstance(outcome, Failed | NotFound), outcome
        assert API_KEY[:6] not in outcome.reason, serial
        assert len(outcome.reason) <= 400, serial


def test_start_failure_message_hides_an_echoed_key(
    recording: Callable[..., RecordingServer],
) -> None:
    from genealogy.errors import StartUnreachable

    server = recording([unit("A")])
    server.faults["A"] = LEAKS["500-message"]
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, backoff=0.01, retries=1)
    with pytest.raises(StartUnreachable) as caught:
        run_crawl("A", options)
    assert API_KEY not in str(caught.value)


# --- concurrency limit inside the source ------------------------------------------------------


@pytest.mark.slow
def test_source_alone_keeps_to_its_concurrency(recording: Callable[..., RecordingServer]) -> None:
    """A crawler with more workers than the source's connections: requests queue, not time out."""
    serials = [f"S{i}" for i in range(12)]
    server = recording([unit(s) for s in serials], latency=0.3)
    server.hold(3, "S")
    # four rounds of 0.3 s: whoever waited for a connection inside the timeout would miss it
    settings = HttpSettings(base_url=server.url, concurrency=3, timeout=1.0, retries=0, backoff=0)

    async def main() -> list[FetchOutcome]:
        async with HttpSource(API_KEY, settings) as source:
            return await asyncio.gather(*(source.get(s) for s in serials))

    outcomes = asyncio.run(main())
    assert all(isinstance(o, Fetched) for o in outcomes), outcomes
    assert server.max_in_flight == 3


def test_crawler_uses_the_http_source_protocol(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A", children=["B"]), unit("B", parent="A")])

    async def main() -> None:
        async with HttpSource(API_KEY, HttpSettings(base_url=server.url, **FAST)) as source:
            result = await Crawler(source).crawl("B")
        assert set(result.units) == {"A", "B"}

    asyncio.run(main())
