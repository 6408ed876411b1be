"""Compressed answers from a real local server: decoded within the body limit, one layer at most.

A 443-byte body with `Content-Encoding: gzip, gzip, gzip` once grew to 10 GB in memory. These
tests serve such bombs (and honest compressed bodies) from `LocalTofuPilot` and check that each
fails only its own unit, with a clear reason, and that memory stays near the body limit.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from genealogy.localserver import Fault, LocalTofuPilot
from genealogy.nodes import Status
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Failed, Fetched, FetchOutcome
from genealogy.sources.http import MAX_BODY_BYTES, HttpSettings, HttpSource
from genealogy.sources.transport import _offered
from tests.conftest import API_KEY
from tests.records import unit

MakeServer = Callable[..., LocalTofuPilot]
BOMB_BYTES = 200 * 1024 * 1024
MEMORY_BOUND = 40 * 1024 * 1024
"""Most memory Python may allocate while refusing a bomb: a few times the 8 MiB limit, far
below what one undecoded 64 KiB chunk of zeros becomes (64 MiB)."""


def _zeros(size: int) -> Iterator[bytes]:
    block = bytes(1024 * 1024)
    for _ in range(size // len(block)):
        yield block


def gzipped(chunks: Iterator[bytes] | bytes, wbits: int = 16 + zlib.MAX_WBITS) -> bytes:
    """`chunks` compressed without holding them all (`wbits`: 31 gzip, 15 zlib, -15 raw)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    pieces = [
        packer.compress(chunk) for chunk in ([chunks] if isinstance(chunks, bytes) else chunks)
    ]
    return b"".join([*pieces, packer.flush()])


@functools.cache
def bomb(layers: int) -> bytes:
    """200 MB of zeros, gzipped `layers` times (three layers: a few hundred bytes)."""
    body = gzipped(_zeros(BOMB_BYTES))
    for _ in range(layers - 1):
        body = gzipped(body)
    return body


def served(make_server: MakeServer, body: bytes, encoding: str) -> LocalTofuPilot:
    """A server whose unit `A` answers 200 with `body` and `Content-Encoding: encoding`."""
    server = make_server([unit("A")])
    server.faults["A"] = Fault(
        status=200, times=None, body=body, headers={"Content-Encoding": encoding}
    )
    return server


def fetch(base_url: str, serial: str = "A") -> FetchOutcome:
    settings = HttpSettings(base_url=base_url, backoff=0.01, timeout=10.0, retries=1)

    async def main() -> FetchOutcome:
        async with HttpSource(API_KEY, settings) as source:
            return await source.get(serial)

    return asyncio.run(main())


def failed_reason(outcome: FetchOutcome) -> str:
    assert isinstance(outcome, Failed), outcome
    return outcome.reason


def fetched_serial(outcome: FetchOutcome) -> str:
    assert isinstance(outcome, Fetched), outcome
    return outcome.unit.serial_number


def peak_while(work: Callable[[], Any]) -> tuple[Any, int]:
    """`work()`'s result, and the most memory Python had allocated meanwhile beyond the start."""
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - start


UNIT_JSON = json.dumps(unit("A")).encode()


# --- bombs ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stacked_gzip_bomb_fails_its_unit_and_the_crawl_goes_on(make_server: MakeServer) -> None:
    assert len(bomb(3)) < 2048  # the attack: a tiny body
    records = [
        unit("ROOT", children=["BOMB", "GOOD"]),
        unit("BOMB", parent="ROOT"),
        unit("GOOD", parent="ROOT"),
    ]
    server = make_server(records)
    server.faults["BOMB"] = Fault(
        status=200, times=None, body=bomb(3), headers={"Content-Encoding": "gzip, gzip, gzip"}
    )
    options = CrawlOptions(base_url=server.url, api_key=API_KEY, backoff=0.01, retries=1)
    result, peak = peak_while(lambda: run_crawl("ROOT", options))
    assert {s for s, state in result.units.items() if state.status is Status.OK} == {"ROOT", "GOOD"}
    reason = result.units["BOMB"].reason
    assert result.units["BOMB"].status is Status.ERROR
    assert reason == (
        "could not decode the response body: "
        "stacked content encodings (gzip, gzip, gzip) are refused"
    )
    assert server.requests["BOMB"] == 1  # refused for good, not retried
    assert peak < MEMORY_BOUND, peak


@pytest.mark.slow
def test_single_gzip_bomb_is_refused_near_the_limit(make_server: MakeServer) -> None:
    server = served(make_server, bomb(1), "gzip")
    outcome, peak = peak_while(lambda: fetch(server.url))
    assert failed_reason(outcome) == (
        "could not decode the response body: response body decodes to more than 8 MiB"
    )
    assert peak < MEMORY_BOUND, peak


@pytest.mark.slow
@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib", "raw"])
def test_deflate_bomb_is_refused_near_the_limit(make_server: MakeServer, wbits: int) -> None:
    server = served(make_server, gzipped(_zeros(BOMB_BYTES), wbits), "deflate")
    outcome, peak = peak_while(lambda: fetch(server.url))
    assert "response body decodes to more than 8 MiB" in failed_reason(outcome)
    assert peak < MEMORY_BOUND, peak


def test_many_gzip_members_count_together(make_server: MakeServer) -> None:
    """Concatenated members are valid gzip: their total, not each one, meets the limit."""
    member = gzipped(_zeros(4 * 1024 * 1024))
    server = served(make_server, member * 3, "gzip")
    assert "decodes to more than 8 MiB" in failed_reason(fetch(server.url))


# --- bodies within the limit --------------------------------------------------------------------

HONEST = {
    "gzip": (gzipped(UNIT_JSON), "gzip"),
    "x-gzip": (gzipped(UNIT_JSON), "x-gzip"),
    "gzip-uppercase": (gzip.compress(UNIT_JSON), "GZIP"),
    "gzip-with-identity": (gzipped(UNIT_JSON), "identity, gzip"),
    "gzip-two-members": (gzipped(UNIT_JSON[:10]) + gzipped(UNIT_JSON[10:]), "gzip"),
    "deflate-zlib": (gzipped(UNIT_JSON, zlib.MAX_WBITS), "deflate"),
    "deflate-raw": (gzipped(UNIT_JSON, -zlib.MAX_WBITS), "deflate"),
    "identity": (UNIT_JSON, "identity"),
}


@pytest.mark.parametrize("case", sorted(HONEST))
def test_compressed_unit_is_parsed(make_server: MakeServer, case: str) -> None:
    body, encoding = HONEST[case]
    assert fetched_serial(fetch(served(make_server, body, encoding).url)) == "A"


def test_body_decoding_to_exactly_the_limit_is_parsed(make_server: MakeServer) -> None:
    padded = UNIT_JSON + b" " * (MAX_BODY_BYTES - len(UNIT_JSON))
    assert fetched_serial(fetch(served(make_server, gzipped(padded), "gzip").url)) == "A"


def test_body_decoding_to_one_byte_more_is_refused(make_server: MakeServer) -> None:
    padded = UNIT_JSON + b" " * (MAX_BODY_BYTES + 1 - len(UNIT_JSON))
    reason = failed_reason(fetch(served(make_server, gzipped(padded), "gzip").url))
    assert reason.endswith("response body decodes to more than 8 MiB")


# --- refused encodings ------------------------------------------------------------------------

REFUSED = {
    "gzip, deflate": "stacked content encodings (gzip, deflate) are refused",
    "deflate, gzip": "stacked content encodings (deflate, gzip) are refused",
    "zstd": "content encoding 'zstd' was not asked for",
    "br": "content encoding 'br' was not asked for",
    "compress": "content encoding 'compress' was not asked for",
}


@pytest.mark.parametrize("encoding", sorted(REFUSED))
def test_encoding_not_decoded_here_is_refused(make_server: MakeServer, encoding: str) -> None:
    server = served(make_server, gzipped(UNIT_JSON), encoding)
    assert failed_reason(fetch(server.url)) == (
        f"could not decode the response body: {REFUSED[encoding]}"
    )
    assert server.requests["A"] == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (gzipped(UNIT_JSON)[:-12], "the gzip stream ends early (truncated body)"),
        (gzipped(UNIT_JSON) + b"junk", "Error -3 while decompressing data"),
        (gzipped(UNIT_JSON, -zlib.MAX_WBITS)[:1], "the deflate stream ends early"),
        (b"this is not gzip", "incorrect header check"),
    ],
    ids=["truncated", "trailing-junk", "one-byte-deflate", "not-gzip"],
)
def test_broken_compressed_body_is_refused(
    make_server: MakeServer, body: bytes, expected: str
) -> None:
    encoding = "deflate" if expected.startswith("the deflate") else "gzip"
    reason = failed_reason(fetch(served(make_server, body, encoding).url))
    assert reason.startswith("could not decode the response body: ")
    assert expected in reason


def test_data_after_a_deflate_stream_is_refused(make_server: MakeServer) -> None:
    body = gzipped(UNIT_JSON, zlib.MAX_WBITS) + b"more"
    reason = failed_reason(fetch(served(make_server, body, "deflate").url))
    assert reason.endswith("data after the end of the deflate stream")


def test_empty_gzip_body_is_an_empty_body(make_server: MakeServer) -> None:
    assert "empty body" in failed_reason(fetch(served(make_server, b"", "gzip").url))


# --- what the request offers ------------------------------------------------------------------


def test_the_request_offers_only_what_the_transport_decodes(make_server: MakeServer) -> None:
    server = make_server([unit("A")])
    seen: list[str | None] = []
    handler: Any = server._httpd.RequestHandlerClass  # this server's own class: patched alone
    answer = handler.do_GET

    def recording(request: Any) -> None:
        seen.append(request.headers.get("Accept-Encoding"))
        answer(request)

    handler.do_GET = recording
    assert fetched_serial(fetch(server.url)) == "A"
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize(
    ("accept", "offered"),
    [
        (["gzip", "deflate"], ["gzip", "deflate"]),
        (["gzip", "deflate", "br", "zstd"], ["gzip", "deflate"]),  # httpx with brotli, zstandard
        (["br", "gzip;q=0", "*"], ["deflate"]),
        (["*;q=0.5"], ["gzip", "deflate"]),
        (["identity"], []),
        ([], []),
    ],
)
def test_offered_codings(accept: list[str], offered: list[str]) -> None:
    assert _offered(accept) == offered
