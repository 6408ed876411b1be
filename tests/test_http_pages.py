"""`HttpSource.get_json`, the generic GET the list-endpoint crawler builds on, and the query
encoding and chunking it relies on: against real servers on 127.0.0.1.

The list endpoints of the local server are not needed: the unit endpoint returns JSON too, and
`EchoServer` answers `/api/test/echo` with the query it received, decoded server-side.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from genealogy.errors import Forbidden, KeyRejected
from genealogy.localserver import Fault
from genealogy.sources import Counters, JsonFailed, JsonFetched, JsonOutcome
from genealogy.sources.http import (
    MAX_URL_BYTES,
    HttpSettings,
    HttpSource,
    chunk_serials,
    endpoint_url,
    query_string,
)
from tests.conftest import API_KEY, server_starter
from tests.records import unit
from tests.test_http_source import FAST, RecordingServer

ECHO = "/test/echo"
ODD_VALUES = [
    "a&b=c#d/../%2e",
    "Zählerstand ß",
    "電池-🔋",
    "SN+1",
    "a b",
    "%",
    "%20",
    "=",
    "&",
    "?x=1",
    "x;y,z",
    "'\"<>",
    "tab\there",
    "line\nbreak",
    "e\u0301",
]


class EchoServer(RecordingServer):
    """`RecordingServer` that also answers `GET /api/test/echo?...` with 200 and
    `{"query": [[key, value], ...]}`, the query as a form decoder reads it, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.echoes = 0
        self._echo_lock = threading.Lock()

    def answer(self, path: str, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(path)
        if split.path != f"/api{ECHO}":
            return super().answer(path, authorization)
        with self._record_lock:
            self.paths.append(path)
            self.arrivals.append(time.monotonic())
            self.authorizations.append(authorization)
        with self._echo_lock:
            self.echoes += 1
        if authorization != f"Bearer {self.api_key}":
            return 401, {"Content-Type": "application/json"}, b'{"code":"UNAUTHORIZED"}'
        query = parse_qsl(split.query, keep_blank_values=True, strict_parsing=bool(split.query))
        body = json.dumps({"query": query}).encode()
        return 200, {"Content-Type": "application/json"}, body


@pytest.fixture
def echo() -> Iterator[Callable[..., EchoServer]]:
    yield from server_starter(EchoServer)


def get_json(
    base_url: str,
    path: str,
    params: list[tuple[str, str]] | None = None,
    counters: Counters | None = None,
    **kw: Any,
) -> JsonOutcome:
    settings = HttpSettings(base_url=base_url, **{**FAST, **kw})

    async def main() -> JsonOutcome:
        async with HttpSource(API_KEY, settings, counters) as source:
            return await source.get_json(path, params or [])

    return asyncio.run(main())


def data(outcome: JsonOutcome) -> Any:
    assert isinstance(outcome, JsonFetched), outcome
    return outcome.data


def failure(outcome: JsonOutcome) -> JsonFailed:
    assert isinstance(outcome, JsonFailed), outcome
    return outcome


# --- query encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ODD_VALUES)
def test_each_value_arrives_whole_as_one_value(echo: Callable[..., EchoServer], value: str) -> None:
    server = echo([])
    params = [("serial_numbers", value), ("limit", "100")]
    assert data(get_json(server.url, ECHO, params)) == {"query": [list(p) for p in params]}
    (path,) = server.paths
    query = urlsplit(path).query
    assert query.count("&") == 1 and query.count("=") == 2 and "#" not in path
    # a decoder that knows nothing of forms (no `+` for space) reads the same
    pairs = [
        tuple(unquote(part, errors="strict") for part in p.split("=")) for p in query.split("&")
    ]
    assert pairs == params


def test_repeated_keys_are_repeated_in_order(echo: Callable[..., EchoServer]) -> None:
    server = echo([])
    params = [("serial_numbers", "A"), ("serial_numbers", "B"), ("limit", "100"), ("cursor", "0")]
    assert data(get_json(server.url, ECHO, params))["query"] == [list(p) for p in params]
    assert server.paths == [f"/api{ECHO}?serial_numbers=A&serial_numbers=B&limit=100&cursor=0"]


def test_query_string_leaves_only_unreserved_characters() -> None:
    assert query_string([("k", "a b+c&d=e#f/g%h~i.j-k_l")]) == (
        "k=a%20b%2Bc%26d%3De%23f%2Fg%25h~i.j-k_l"
    )
    assert query_string([("k", "ä")]) == "k=%C3%A4"
    assert query_string([]) == ""
    assert endpoint_url("http://h/api/", "/v2/units", [("a", "1")]) == "http://h/api/v2/units?a=1"
    assert endpoint_url("http://h/api", "/v2/units") == "http://h/api/v2/units"
    for bad in ("v2/units", "/v2/units?x=1", "/v2/units#x"):
        with pytest.raises(ValueError):
            endpoint_url("http://h/api", bad)


def test_a_value_that_is_not_unicode_text_is_failed_without_a_request(
    echo: Callable[..., EchoServer],
) -> None:
    server = echo([])
    outcome = failure(get_json(server.url, ECHO, [("serial_numbers", "SN-\udcff")]))
    assert "not valid Unicode" in outcome.reason and outcome.status is None
    assert server.paths == []


def test_a_url_over_the_limit_is_failed_without_a_request(echo: Callable[..., EchoServer]) -> None:
    server = echo([])
    outcome = failure(get_json(server.url, ECHO, [("serial_numbers", "x" * MAX_URL_BYTES)]))
    assert "too long to send" in outcome.reason and outcome.status is None
    assert server.paths == []


# --- get_json: the same machinery as get ------------------------------------------------------


def test_get_json_reads_the_unit_endpoint(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("SN-1", children=["C"])])
    record = data(get_json(server.url, "/v2/units/SN-1"))
    assert record["serial_number"] == "SN-1"
    assert [child["serial_number"] for child in record["children"]] == ["C"]
    assert server.authorizations == [f"Bearer {API_KEY}"]


def test_a_404_and_a_400_keep_their_status_and_code(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("A")])
    missing = failure(get_json(server.url, "/v2/units/GHOST", retries=3))
    assert (missing.status, missing.code) == (404, "NOT_FOUND")
    assert missing.reason.startswith("HTTP 404: NOT_FOUND: ")
    server.faults["A"] = Fault(status=400, times=None)
    bad = failure(get_json(server.url, "/v2/units/A", retries=3))
    assert (bad.status, bad.code) == (400, "BAD_REQUEST")
    assert server.requests == Counter({"GHOST": 1, "A": 1})  # neither is retried


def test_a_stub_list_answer_is_decoded(echo: Callable[..., EchoServer]) -> None:
    server = echo([])
    page = {"data": [unit("A")], "meta": {"has_more": False, "next_cursor": None}}
    server.faults["list"] = Fault(status=200, times=None, body=json.dumps(page).encode())
    assert data(get_json(server.url, "/v2/units/list", [("limit", "100")])) == page


@pytest.mark.parametrize(
    "body, expected",
    [
        (b"<html>", "not JSON (application/json)"),
        (b"", "empty body"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
    ],
)
def test_a_200_that_is_not_json_fails_with_status_200(
    echo: Callable[..., EchoServer], body: bytes, expected: str
) -> None:
    server = echo([])
    server.faults["X"] = Fault(status=200, times=None, body=body)
    outcome = failure(get_json(server.url, "/v2/units/X", retries=3))
    assert expected in outcome.reason and outcome.status == 200
    assert server.requests == Counter({"X": 1})


def test_lone_surrogates_in_the_answer_are_replaced(echo: Callable[..., EchoServer]) -> None:
    server = echo([])
    server.faults["X"] = Fault(status=200, body=b'{"data": ["C-\\ud83d"]}')
    assert data(get_json(server.url, "/v2/units/X")) == {"data": ["C-\ufffd"]}


def test_server_errors_are_retried_and_counted(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("A")])
    server.faults["A"] = Fault(status=503, times=2)
    counters = Counters()
    assert data(get_json(server.url, "/v2/units/A", counters=counters, retries=2))
    assert (counters.requests, counters.retries) == (3, 2)

    server.faults["A"] = Fault(status=502, times=None)
    outcome = failure(get_json(server.url, "/v2/units/A", retries=1))
    assert outcome.status == 502 and outcome.code == "BAD_GATEWAY"
    assert "gave up after 2 attempts" in outcome.reason


def test_throttling_while_serving_does_not_use_up_the_budget(
    echo: Callable[..., EchoServer],
) -> None:
    server = echo([unit("A")])
    server.faults["B"] = Fault(status=429, times=3, retry_after="0")

    async def main() -> list[JsonOutcome]:
        settings = HttpSettings(base_url=server.url, retries=0, **FAST)
        async with HttpSource(API_KEY, settings) as source:
            return [await source.get_json(ECHO), await source.get_json("/v2/units/B")]

    served, throttled = asyncio.run(main())
    assert isinstance(served, JsonFetched)
    assert failure(throttled).status == 404  # got through the three 429s, with retries=0
    assert server.requests["B"] == 4


@pytest.mark.parametrize("status, error", [(401, KeyRejected), (403, Forbidden)])
def test_auth_errors_raise_as_for_units(
    echo: Callable[..., EchoServer], status: int, error: type[Exception]
) -> None:
    server = echo([unit("A")])
    message = {"code": "X", "message": f"echo: Bearer {API_KEY}"}
    server.faults["A"] = Fault(status=status, times=None, body=json.dumps(message).encode())
    with pytest.raises(error) as caught:
        get_json(server.url, "/v2/units/A", retries=3)
    text = str(caught.value)
    assert f"({status}" in text and "requesting /v2/units/A" in text
    assert API_KEY not in text and "TOFUPILOT_API_KEY" in text
    assert server.requests == Counter({"A": 1})


def test_an_echoed_key_never_appears_in_a_reason(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("A")])
    message = {"code": f"Bearer {API_KEY}", "message": f"Authorization: Bearer {API_KEY}"}
    server.faults["A"] = Fault(status=500, times=None, body=json.dumps(message).encode())
    outcome = failure(get_json(server.url, "/v2/units/A", retries=1))
    assert API_KEY not in outcome.reason and API_KEY not in (outcome.code or "")
    assert outcome.status == 500


def test_a_redirect_is_not_followed(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("A")])
    server.faults["A"] = Fault(status=302, headers={"Location": "http://elsewhere.test/"})
    outcome = failure(get_json(server.url, "/v2/units/A"))
    assert outcome.status == 302 and "not followed" in outcome.reason


@pytest.mark.slow
def test_the_deadline_applies(echo: Callable[..., EchoServer]) -> None:
    server = echo([unit("A")])
    server.faults["A"] = Fault(status=200, times=None, delay=60)
    began = time.monotonic()
    outcome = failure(get_json(server.url, "/v2/units/A", deadline=0.5, timeout=30))
    assert time.monotonic() - began < 2
    assert outcome.reason.startswith("cut off: the deadline of 0.5 s") and outcome.status is None


@pytest.mark.slow
def test_get_json_shares_the_concurrency_limit(echo: Callable[..., EchoServer]) -> None:
    serials = [f"S{i}" for i in range(8)]
    server = echo([unit(s) for s in serials], latency=0.2)
    server.hold(2, "S", timeout=2.0)
    settings = HttpSettings(base_url=server.url, concurrency=2, retries=0, **FAST)

    async def main() -> list[JsonOutcome]:
        async with HttpSource(API_KEY, settings) as source:
            units = [source.get_json(f"/v2/units/{s}") for s in serials[:4]]
            return list(await asyncio.gather(*units, *(source.get(s) for s in serials[4:])))

    outcomes = asyncio.run(main())
    assert all(not isinstance(o, JsonFailed) for o in outcomes), outcomes
    assert server.max_in_flight == 2


# --- chunk_serials ----------------------------------------------------------------------------


def chunk_urls(base: str, chunks: list[list[str]]) -> list[str]:
    return [
        endpoint_url(base, "/v2/units", [("serial_numbers", s) for s in chunk]) for chunk in chunks
    ]


def test_short_serials_make_chunks_of_a_hundred() -> None:
    serials = [f"SN-{i:05d}" for i in range(250)]
    result = chunk_serials("https://www.tofupilot.app/api", "/v2/units", serials)
    assert [len(chunk) for chunk in result.chunks] == [100, 100, 50]
    assert [s for chunk in result.chunks for s in chunk] == serials
    assert result.unrequestable == {}
    assert [len(c) for c in chunk_serials("http://h", "/v2/units", serials, max_items=7).chunks][
        :2
    ] == [7, 7]


def test_long_serials_make_chunks_under_the_url_limit() -> None:
    rng = random.Random(7)
    alphabet = "abcXYZ019 /&=#%+é電🔋"
    serials = ["".join(rng.choices(alphabet, k=rng.randint(1, 400))) for _ in range(300)]
    base = "https://www.tofupilot.app/api"
    params = [("limit", "100")]
    result = chunk_serials(base, "/v2/units", serials, params=params, reserve=20)
    assert [s for chunk in result.chunks for s in chunk] == serials
    assert len(result.chunks) > 3
    for chunk in result.chunks:
        assert 1 <= len(chunk) <= 100
        pairs = [*params, *(("serial_numbers", s) for s in chunk)]
        url = endpoint_url(base, "/v2/units", pairs)
        assert len(url.encode()) + 20 <= MAX_URL_BYTES
        assert len(f"{url}&cursor=1234567890") <= MAX_URL_BYTES  # the reserve leaves room
    # chunks are full: the next serial would not have fitted
    for chunk, following in zip(result.chunks, result.chunks[1:], strict=False):
        pairs = [*params, *(("serial_numbers", s) for s in [*chunk, following[0]])]
        longer = endpoint_url(base, "/v2/units", pairs)
        assert len(chunk) == 100 or len(longer.encode()) + 20 > MAX_URL_BYTES


def test_serials_no_request_can_carry_are_set_apart() -> None:
    huge, empty, broken = "x" * 9000, "", "SN-\udcff"
    serials = ["A", huge, empty, "B", broken, "C"]
    result = chunk_serials("http://h/api", "/v2/units", serials)
    assert result.chunks == [["A", "B", "C"]]
    assert set(result.unrequestable) == {huge, empty, broken}
    assert "9,000 characters is too long to request" in result.unrequestable[huge]
    assert "empty" in result.unrequestable[empty]
    assert "Unicode" in result.unrequestable[broken]


def test_a_chunk_arrives_whole(echo: Callable[..., EchoServer]) -> None:
    serials = [f"{value}-{i}" for i in range(40) for value in ODD_VALUES]
    server = echo([])
    result = chunk_serials(server.url, ECHO, serials, params=[("limit", "100")])
    assert result.unrequestable == {}

    async def main() -> list[JsonOutcome]:
        async with HttpSource(API_KEY, HttpSettings(base_url=server.url, **FAST)) as source:
            return [
                await source.get_json(
                    ECHO, [("limit", "100"), *(("serial_numbers", s) for s in chunk)]
                )
                for chunk in result.chunks
            ]

    received: list[str] = []
    for outcome in asyncio.run(main()):
        query = data(outcome)["query"]
        assert query[0] == ["limit", "100"]
        received += [value for key, value in query[1:] if key == "serial_numbers"]
    assert received == serials
    assert all(len(path) <= MAX_URL_BYTES for path in server.paths)
    assert chunk_urls(server.url, result.chunks)  # every chunk builds a URL
