"""The HTTP source under hostile conditions, against real servers on 127.0.0.1: references no
URL can carry, steady throttling, a deadline for the whole crawl, DNS and TLS failures.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from genealogy.localserver import UNITS_PATH, Fault
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Counters, Fetched, FetchOutcome
from genealogy.sources.http import MAX_URL_BYTES, HttpSettings, HttpSource, unit_url
from genealogy.sources.transport import NameNotResolved, scrub_tls_setting
from tests.conftest import API_KEY, server_starter
from tests.records import unit
from tests.test_http_source import (
    FAST,
    RecordingServer,
    _EndlessBody,
    failed_reason,
    fetch,
    free_port,
)

LONG = "x" * 70_000


def error_body(status: int) -> bytes:
    code = "TOO_MANY_REQUESTS" if status == 429 else "ERROR"
    return json.dumps({"code": code, "message": "scripted", "issues": []}).encode()


class ThrottlingServer(RecordingServer):
    """Answers 429 to every `every`-th request it receives, whatever it asks for.

    `scripts[serial]` lists statuses to answer that serial's first requests with, in order,
    before it is served normally; `throttled` counts the 429s sent.
    """

    def __init__(
        self, *args: Any, every: int = 0, retry_after: str | None = "0", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.every = every
        self.retry_after = retry_after
        self.scripts: dict[str, list[int]] = {}
        self.throttled = 0
        self.received = 0
        self._count_lock = threading.Lock()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        serial = path.removeprefix(UNITS_PATH)
        with self._count_lock:
            self.received += 1
            script = self.scripts.get(serial)
            status = script.pop(0) if script else None
            if status is None and self.every and self.received % self.every == 0:
                status = 429
            if status == 429:
                self.throttled += 1
        if status is None:
            return super().answer(path, authorization)
        with self._record_lock:
            self.paths.append(path)
            self.arrivals.append(time.monotonic())
        headers = {"Content-Type": "application/json"}
        if status == 429 and self.retry_after is not None:
            headers["Retry-After"] = self.retry_after
        return status, headers, error_body(status)


@pytest.fixture
def throttling() -> Iterator[Callable[..., ThrottlingServer]]:
    yield from server_starter(ThrottlingServer)


@pytest.fixture
def recording() -> Iterator[Callable[..., RecordingServer]]:
    yield from server_starter(RecordingServer)


def tree(branches: int, leaves: int) -> list[dict[str, Any]]:
    """ROOT with `branches` children B-i, each with `leaves` children B-i-j."""
    branch_serials = [f"B-{i}" for i in range(branches)]
    records = [unit("ROOT", children=branch_serials)]
    for branch in branch_serials:
        leaf_serials = [f"{branch}-{j}" for j in range(leaves)]
        records.append(unit(branch, parent="ROOT", children=leaf_serials))
        records += [unit(leaf, parent=branch) for leaf in leaf_serials]
    return records


def run_source(settings: HttpSettings, *serials: str, **kw: Any) -> list[FetchOutcome]:
    """`get` each serial at once (gathered) from one source."""

    async def main() -> list[FetchOutcome]:
        async with HttpSource(API_KEY, settings, **kw) as source:
            return list(await asyncio.gather(*(source.get(s) for s in serials)))

    return asyncio.run(main())


# --- 1. a reference no URL can carry fails its unit alone ------------------------------------


def test_a_70000_character_child_fails_alone_and_the_crawl_goes_on(
    recording: Callable[..., RecordingServer],
) -> None:
    records = [
        unit("ROOT", children=["OK-1", LONG, "OK-2"]),
        unit("OK-1", parent="ROOT"),
        unit("OK-2", parent="ROOT"),
    ]
    server = recording(records)
    result = run_crawl("ROOT", CrawlOptions(base_url=server.url, api_key=API_KEY, backoff=0.01))
    assert not result.interrupted
    statuses = {serial: state.status for serial, state in result.units.items()}
    assert statuses == {"ROOT": "ok", "OK-1": "ok", "OK-2": "ok", LONG: "error"}
    reason = result.units[LONG].reason
    assert reason is not None
    assert "70,000 characters" in reason and "too long to request" in reason
    assert f"{MAX_URL_BYTES:,}" in reason
    assert len(reason) < 300
    assert server.requests == Counter({"ROOT": 1, "OK-1": 1, "OK-2": 1})  # never requested


def test_url_length_limit_is_exact(recording: Callable[..., RecordingServer]) -> None:
    server = recording([])
    fits = "s" * (MAX_URL_BYTES - len(unit_url(server.url, "")))
    over = fits + "s"
    assert len(unit_url(server.url, fits)) == MAX_URL_BYTES
    server.units[fits] = unit(fits)
    assert isinstance(fetch(server.url, fits), Fetched)  # sent, and the server takes it
    assert "too long to request" in failed_reason(fetch(server.url, over))
    # percent-encoding counts: each "é" is 6 bytes in the URL
    assert "too long to request" in failed_reason(fetch(server.url, "é" * (MAX_URL_BYTES // 6)))
    assert len(server.paths) == 1


@pytest.mark.parametrize(
    "base_url, expected",
    [
        ("http://[::1/api", "the request cannot be built"),  # httpx: InvalidURL
        ("http://127.0.0.1:99999/api", "the request cannot be sent"),  # yarl: port out of range
    ],
)
def test_a_request_that_cannot_be_built_fails_its_unit_without_retries(
    base_url: str, expected: str
) -> None:
    counters = Counters()
    reason = failed_reason(fetch(base_url, "A", counters=counters, retries=3))
    assert expected in reason
    assert counters.retries == 0


# --- 2. throttling does not use up the retry budget ------------------------------------------


@pytest.mark.parametrize("retry_after", ["0", None])
@pytest.mark.slow
def test_429_on_every_third_request_loses_no_unit(
    throttling: Callable[..., ThrottlingServer], retry_after: str | None
) -> None:
    records = tree(10, 20)  # 211 units
    server = throttling(records, every=3, retry_after=retry_after)
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, retries=1, backoff=0.01)
    result = run_crawl("ROOT", options)
    failed = {s: st.reason for s, st in result.units.items() if st.status != "ok"}
    assert failed == {}
    assert len(result.units) == len(records)
    assert server.throttled >= len(records) // 3  # the throttling was real
    assert result.counters.retries == server.throttled


def test_throttled_retries_leave_the_budget_to_other_failures(
    throttling: Callable[..., ThrottlingServer],
) -> None:
    server = throttling([unit("A"), unit("B")])
    server.scripts["B"] = [429, 429, 429, 503]  # four failures; the budget allows one retry

    async def main() -> tuple[FetchOutcome, FetchOutcome]:
        settings = HttpSettings(base_url=server.url, retries=1, **FAST)
        async with HttpSource(API_KEY, settings) as source:
            return await source.get("A"), await source.get("B")  # A: the server is serving

    a, b = asyncio.run(main())
    assert isinstance(a, Fetched) and isinstance(b, Fetched), (a, b)
    assert server.paths.count(f"{UNITS_PATH}B") == 5


def test_a_second_budgeted_failure_still_fails(throttling: Callable[..., ThrottlingServer]) -> None:
    server = throttling([unit("A"), unit("B")])
    server.scripts["B"] = [429, 503, 429, 503]

    async def main() -> FetchOutcome:
        settings = HttpSettings(base_url=server.url, retries=1, **FAST)
        async with HttpSource(API_KEY, settings) as source:
            await source.get("A")
            return await source.get("B")

    reason = failed_reason(asyncio.run(main()))
    assert "HTTP 503" in reason and "gave up after 2 attempts and 2 throttled retries" in reason


@pytest.mark.parametrize(
    "caps, free",
    [({"throttle_retries": 3}, 3), ({"throttle_wait": 0.25}, 3)],
    ids=["count", "wait"],
)
def test_free_throttled_retries_are_capped(
    throttling: Callable[..., ThrottlingServer], caps: dict[str, float], free: int
) -> None:
    """Past a cap, a 429 uses up the budget: a unit throttled for ever still ends."""
    server = throttling([unit("A"), unit("B")], retry_after="0.1")
    server.scripts["B"] = [429] * 50

    async def main() -> FetchOutcome:
        settings = HttpSettings(base_url=server.url, retries=1, **{**FAST, **caps})
        async with HttpSource(API_KEY, settings) as source:
            await source.get("A")
            return await source.get("B")

    reason = failed_reason(asyncio.run(main()))
    assert "HTTP 429" in reason
    assert f"gave up after 2 attempts and {free} throttled retries" in reason
    assert server.paths.count(f"{UNITS_PATH}B") == 2 + free


def test_429_from_a_server_serving_nothing_uses_up_the_budget(
    throttling: Callable[..., ThrottlingServer],
) -> None:
    """Nothing served lately: the 429s are a refusal, not pacing, and end after the retries."""
    server = throttling([unit("A")], every=1)
    counters = Counters()
    reason = failed_reason(fetch(server.url, "A", counters=counters, retries=2))
    assert "HTTP 429" in reason and "gave up after 3 attempts" in reason
    assert "throttled retries" not in reason
    assert server.throttled == 3 and counters.retries == 2


@pytest.mark.slow
def test_a_429_with_retry_after_still_pauses_everyone(
    throttling: Callable[..., ThrottlingServer],
) -> None:
    server = throttling([unit(s) for s in "ABC"], retry_after="0.5")
    server.scripts["B"] = [429]

    async def main() -> list[FetchOutcome]:
        settings = HttpSettings(base_url=server.url, retries=1, **FAST)
        async with HttpSource(API_KEY, settings) as source:
            first = await source.get("A")
            second = await source.get("B")  # 429, Retry-After 0.5: a free retry after 0.5 s
            return [first, second, await source.get("C")]

    outcomes = asyncio.run(main())
    assert all(isinstance(o, Fetched) for o in outcomes), outcomes
    assert server.arrivals[2] - server.arrivals[1] >= 0.45


# --- 3. a deadline for the whole crawl -------------------------------------------------------


@pytest.mark.slow
def test_a_crawl_ends_at_its_deadline_with_the_rest_failed(
    recording: Callable[..., RecordingServer],
) -> None:
    records = tree(40, 0)
    server = recording(records, latency=0.1)
    deadline = 0.8
    options = CrawlOptions(
        base_url=server.url, api_key=API_KEY, concurrency=2, deadline=deadline, backoff=0.01
    )
    began = time.monotonic()
    result = run_crawl("ROOT", options)
    took = time.monotonic() - began
    assert not result.interrupted
    assert took < deadline + 1.0
    statuses = Counter(str(state.status) for state in result.units.values())
    assert statuses["ok"] >= 2 and statuses["error"] >= 10
    assert statuses["ok"] + statuses["error"] == len(records)
    for state in result.units.values():
        if state.status == "error":
            assert state.reason and f"the deadline of {deadline:g} s" in state.reason
    assert max(server.arrivals) - began < deadline + 0.3  # nothing started after it


@pytest.mark.slow
def test_a_request_in_flight_is_cut_at_the_deadline(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = Fault(status=200, times=None, delay=60)
    began = time.monotonic()
    reason = failed_reason(fetch(server.url, "A", timeout=30, deadline=0.5))
    assert time.monotonic() - began < 2
    assert reason == "cut off: the deadline of 0.5 s passed while waiting for the answer"


@pytest.mark.parametrize(
    "fault, settings",
    [
        (Fault(status=503, times=None, retry_after="30"), {}),
        (Fault(status=503, times=None), {"backoff": 20.0}),
        (Fault(status=429, times=None, retry_after="30"), {}),
    ],
    ids=["retry-after", "backoff", "429"],
)
def test_no_retry_waits_past_the_deadline(
    recording: Callable[..., RecordingServer], fault: Fault, settings: dict[str, Any]
) -> None:
    server = recording([unit("A")])
    server.faults["A"] = fault
    began = time.monotonic()
    reason = failed_reason(fetch(server.url, "A", deadline=5, **settings))
    assert time.monotonic() - began < 2  # failed at once: waiting could only end in failure
    assert f"HTTP {fault.status}" in reason
    assert "not retried: the deadline of 5 s passes before the next retry is due" in reason
    assert server.requests == Counter({"A": 1})


def test_no_request_starts_after_the_deadline(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A"), unit("B")])

    async def main() -> tuple[FetchOutcome, FetchOutcome, bool]:
        settings = HttpSettings(base_url=server.url, deadline=0.3, **FAST)
        async with HttpSource(API_KEY, settings) as source:
            first = await source.get("A")
            await asyncio.sleep(0.4)
            return first, await source.get("B"), source.deadline_passed

    first, second, passed = asyncio.run(main())
    assert isinstance(first, Fetched)
    assert failed_reason(second) == "not requested: the deadline of 0.3 s had passed"
    assert passed
    assert server.requests == Counter({"A": 1})


@pytest.mark.slow
def test_requests_waiting_for_a_slot_or_a_pause_fail_at_the_deadline(
    recording: Callable[..., RecordingServer],
) -> None:
    server = recording([unit("A"), unit("B"), unit("C"), unit("D")])
    server.faults["A"] = Fault(status=200, times=None, delay=60)  # holds the only slot
    server.faults["C"] = Fault(status=429, retry_after="60")  # pauses everyone for 60 s
    settings = HttpSettings(base_url=server.url, concurrency=1, deadline=1.0, **FAST)

    async def main() -> list[FetchOutcome]:
        async with HttpSource(API_KEY, settings) as source:
            a, b = await asyncio.gather(source.get("A"), source.get("B"))
            return [a, b]

    began = time.monotonic()
    a, b = asyncio.run(main())
    assert time.monotonic() - began < 2.5
    assert failed_reason(a).startswith("cut off: the deadline of 1 s passed")
    assert failed_reason(b) == (
        "not requested: the deadline of 1 s passed while it waited for its turn"
    )

    settings = HttpSettings(base_url=server.url, deadline=1.0, **FAST)

    async def paused() -> list[FetchOutcome]:
        async with HttpSource(API_KEY, settings) as source:
            return [await source.get("C"), await source.get("D")]

    began = time.monotonic()
    c, d = asyncio.run(paused())
    assert time.monotonic() - began < 2.5
    assert "HTTP 429" in failed_reason(c) and "not retried: the deadline" in failed_reason(c)
    assert failed_reason(d) == (
        "not requested: the deadline of 1 s passed while it waited for its turn"
    )
    assert server.requests["D"] == 0


# --- 4. DNS and TLS failures are not retried; no ssl:default ---------------------------------


def test_a_host_that_does_not_resolve_fails_at_once() -> None:
    counters = Counters()
    reason = failed_reason(fetch("http://x.invalid/api", "A", counters=counters, retries=4))
    assert reason.startswith("cannot resolve host 'x.invalid'")
    assert "ssl" not in reason.lower()
    assert (counters.requests, counters.retries) == (1, 0)


class FlakyResolver(httpx.AsyncBaseTransport):
    """Answers every request with a unit, except for `failures` DNS failures after the first."""

    def __init__(self, failures: int, first_fails: bool = False) -> None:
        self.failures = failures
        self.first_fails = first_fails
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if (self.calls > 1 or self.first_fails) and self.failures > 0:
            self.failures -= 1
            raise NameNotResolved("cannot resolve host 'h.test'", request=request)
        serial = request.url.path.rsplit("/", 1)[1]
        return httpx.Response(200, json=unit(serial))


def test_a_resolver_failing_after_the_host_answered_is_retried() -> None:
    settings = HttpSettings(base_url="http://h.test/api", retries=2, **FAST)

    async def main() -> tuple[FetchOutcome, FetchOutcome]:
        async with HttpSource(API_KEY, settings, transport=transport) as source:
            return await source.get("A"), await source.get("B")

    transport = FlakyResolver(failures=2)
    a, b = asyncio.run(main())
    assert isinstance(a, Fetched) and isinstance(b, Fetched)
    assert transport.calls == 4

    transport = FlakyResolver(failures=5, first_fails=True)
    (first,) = run_source(settings, "A", transport=transport)
    assert failed_reason(first) == "cannot resolve host 'h.test'"
    assert transport.calls == 1


def test_connection_refused_is_retried_and_says_so_without_ssl_wording() -> None:
    port = free_port()
    counters = Counters()
    reason = failed_reason(fetch(f"http://127.0.0.1:{port}/api", "A", counters=counters, retries=1))
    assert reason == (
        f"network error: cannot connect to 127.0.0.1:{port} (Connection refused) "
        "(gave up after 2 attempts)"
    )
    assert counters.retries == 1


def test_tls_handshake_failure_is_not_retried(recording: Callable[..., RecordingServer]) -> None:
    server = recording([unit("A")])  # plain HTTP: a TLS handshake with it fails
    counters = Counters()
    base = server.url.replace("http://", "https://")
    reason = failed_reason(fetch(base, "A", counters=counters, retries=3))
    port = base.split(":")[2].split("/")[0]
    assert reason.startswith(f"TLS handshake with 127.0.0.1:{port} failed: ")
    assert "ssl:" not in reason
    assert (counters.requests, counters.retries) == (1, 0)


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server with a self-signed certificate for 127.0.0.1; yields its base URL."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a test certificate"
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = (
        f"{openssl} req -x509 -newkey rsa:2048 -nodes -days 2 -keyout {key} -out {cert} "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    )
    subprocess.run(
        command.split(),
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _EndlessBody)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}/api"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_an_untrusted_certificate_is_not_retried(untrusted_https: str) -> None:
    counters = Counters()
    reason = failed_reason(fetch(untrusted_https, "A", counters=counters, retries=3))
    assert reason.startswith("TLS certificate of '127.0.0.1' not trusted: ")
    assert "self" in reason and "signed" in reason
    assert (counters.requests, counters.retries) == (1, 0)


@pytest.mark.parametrize(
    "message, expected",
    [
        (
            "Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed]",
            "Cannot connect to host 127.0.0.1:9 [Connect call failed]",
        ),
        (
            "Cannot connect to host h:80 ssl:<ssl.SSLContext object at 0x7f00> [Errno 104]",
            "Cannot connect to host h:80 [Errno 104]",
        ),
        ("Cannot connect to host h:443 ssl:True [x]", "Cannot connect to host h:443 [x]"),
        ("plain message", "plain message"),
    ],
)
def test_aiohttp_tls_setting_is_scrubbed_from_messages(message: str, expected: str) -> None:
    assert scrub_tls_setting(message) == expected
