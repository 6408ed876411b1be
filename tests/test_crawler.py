"""The crawler over real HTTP: what it explores, how often it asks, limits, errors, concurrency."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from genealogy.crawler import (
    Crawler,
    CrawlResult,
    Direction,
    Limits,
    crawl,
)
from genealogy.errors import Forbidden, KeyRejected, StartNotFound, StartUnreachable
from genealogy.localserver import Fault
from genealogy.nodes import Status
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Counters
from genealogy.sources.http import HttpSettings, HttpSource
from genealogy.sources.ratelimit import RateLimiter
from tests.conftest import API_KEY, statuses
from tests.records import unit
from tests.test_http_source import RecordingServer, free_port, gaps, recording

__all__ = ["recording"]  # the fixture, shared with the HTTP source tests

Server = Callable[..., RecordingServer]


def tree() -> list[dict[str, Any]]:
    """R -> M1 -> C1 -> L1, M1 -> C2, R -> M2 -> C3 (consistent parent and children links)."""
    return [
        unit("R", children=["M1", "M2"]),
        unit("M1", parent="R", children=["C1", "C2"]),
        unit("M2", parent="R", children=["C3"]),
        unit("C1", parent="M1", children=["L1"]),
        unit("C2", parent="M1"),
        unit("C3", parent="M2"),
        unit("L1", parent="C1"),
    ]


ALL = {"R", "M1", "M2", "C1", "C2", "C3", "L1"}


def options(server: RecordingServer, **kw: Any) -> CrawlOptions:
    return CrawlOptions(
        base_url=server.url, api_key=API_KEY, **{"backoff": 0.01, "timeout": 5.0, **kw}
    )


# --- what is explored -------------------------------------------------------------------------


def test_both_directions_from_a_middle_unit_find_the_whole_tree(recording: Server) -> None:
    server = recording(tree())
    result = run_crawl("M1", options(server))
    assert statuses(result) == dict.fromkeys(ALL, Status.OK)
    assert server.requests == Counter(dict.fromkeys(ALL, 1))  # each serial fetched exactly once
    assert result.counters.requests == len(ALL)
    assert not result.interrupted
    assert result.units["M1"].depth == 0
    assert result.units["L1"].depth == 2 and result.units["C3"].depth == 3


def test_up_follows_only_ancestors(recording: Server) -> None:
    server = recording(tree())
    result = run_crawl("C1", options(server, direction=Direction.UP))
    assert statuses(result) == dict.fromkeys({"C1", "M1", "R"}, Status.OK)
    assert server.requests == Counter(dict.fromkeys({"C1", "M1", "R"}, 1))


def test_down_follows_only_descendants(recording: Server) -> None:
    server = recording(tree())
    result = run_crawl("M1", options(server, direction=Direction.DOWN))
    assert statuses(result) == dict.fromkeys({"M1", "C1", "C2", "L1"}, Status.OK)
    assert server.requests == Counter(dict.fromkeys({"M1", "C1", "C2", "L1"}, 1))


def test_direction_given_as_text(recording: Server) -> None:
    server = recording(tree())
    result = asyncio.run(_crawl_async(server, "M1", direction="down"))
    assert set(result.units) == {"M1", "C1", "C2", "L1"}
    assert result.direction is Direction.DOWN


def test_cycle_terminates_and_fetches_each_once(recording: Server) -> None:
    server = recording(
        [unit("A", parent="B", children=["B"]), unit("B", parent="A", children=["A"])]
    )
    result = asyncio.run(asyncio.wait_for(_crawl_async(server, "A"), 10))
    assert statuses(result) == {"A": Status.OK, "B": Status.OK}
    assert server.requests == Counter({"A": 1, "B": 1})


def test_self_parent_terminates(recording: Server) -> None:
    server = recording([unit("S", parent="S", children=["S", "K"]), unit("K", parent="S")])
    result = asyncio.run(asyncio.wait_for(_crawl_async(server, "S"), 10))
    assert statuses(result) == {"S": Status.OK, "K": Status.OK}
    assert server.requests == Counter({"S": 1, "K": 1})


async def _crawl_async(server: RecordingServer, start: str, **kw: Any) -> CrawlResult:
    settings = HttpSettings(base_url=server.url, backoff=0.01, timeout=5.0)
    async with HttpSource(API_KEY, settings) as source:
        return await crawl(source, start, **kw)


def test_requests_are_units_plus_retries(recording: Server) -> None:
    server = recording(tree())
    server.faults["R"] = Fault(status=503, times=2)
    server.faults["C1"] = Fault(status=503, times=1)
    server.faults["L1"] = Fault(status=429, times=1, retry_after="0")
    result = run_crawl("M1", options(server))
    assert statuses(result) == dict.fromkeys(ALL, Status.OK)
    assert result.counters.retries == 4
    assert server.total_requests == len(ALL) + 4 == result.counters.requests
    assert server.requests["R"] == 3 and server.requests["C1"] == 2


def test_not_found_child_is_a_node(recording: Server) -> None:
    records = tree()
    records[4] = unit("C2", parent="M1", children=["GHOST"])
    server = recording(records)
    result = run_crawl("R", options(server))
    ghost = result.units["GHOST"]
    assert ghost.status is Status.NOT_FOUND
    assert ghost.reason and "404" in ghost.reason
    assert ghost.ref is not None and ghost.ref.serial_number == "GHOST"  # what C2 said about it
    assert result.failed() == [] and result.failed(strict=True) == [ghost]


def test_failed_unit_is_an_error_node_and_the_crawl_goes_on(recording: Server) -> None:
    server = recording(tree())
    server.faults["C1"] = Fault(status=500, times=None)
    result = run_crawl("R", options(server, retries=1))
    assert result.units["C1"].status is Status.ERROR
    assert "HTTP 500" in (result.units["C1"].reason or "")
    assert "L1" not in result.units  # only C1's record knew about it
    assert {s for s, st in statuses(result).items() if st is Status.OK} == ALL - {"C1", "L1"}
    assert server.requests["C1"] == 2


@pytest.mark.slow
def test_hanging_unit_fails_after_retries_and_the_crawl_finishes(recording: Server) -> None:
    server = recording(tree())
    server.faults["C2"] = Fault(status=200, times=None, delay=60)
    result = run_crawl("R", options(server, timeout=0.5, retries=1))
    assert result.units["C2"].status is Status.ERROR
    assert "no answer within 0.5 s" in (result.units["C2"].reason or "")
    assert server.requests["C2"] == 2
    assert {s for s, st in statuses(result).items() if st is Status.OK} == ALL - {"C2"}


# --- limits -----------------------------------------------------------------------------------


def test_max_depth_marks_the_rest_unexplored(recording: Server) -> None:
    server = recording(tree())
    result = run_crawl("M1", options(server, limits=Limits(max_depth=1)))
    assert statuses(result) == {
        "M1": Status.OK,
        "R": Status.OK,
        "C1": Status.OK,
        "C2": Status.OK,
        "M2": Status.UNEXPLORED,
        "L1": Status.UNEXPLORED,
    }
    for serial in ("M2", "L1"):
        assert result.units[serial].reason == "beyond the depth limit (1)"
        assert result.units[serial].ref is not None
    assert server.requests == Counter(dict.fromkeys({"M1", "R", "C1", "C2"}, 1))
    assert result.failed() == []


def test_max_depth_zero_fetches_only_the_start(recording: Server) -> None:
    server = recording(tree())
    result = run_crawl("M1", options(server, limits=Limits(max_depth=0)))
    assert statuses(result) == {
        "M1": Status.OK,
        "R": Status.UNEXPLORED,
        "C1": Status.UNEXPLORED,
        "C2": Status.UNEXPLORED,
    }
    assert server.total_requests == 1


@pytest.mark.parametrize("concurrency", [1, 16])
def test_max_units_marks_the_rest_unexplored(recording: Server, concurrency: int) -> None:
    server = recording(tree())
    result = run_crawl("R", options(server, limits=Limits(max_units=3), concurrency=concurrency))
    fetched = {s for s, st in statuses(result).items() if st is not Status.UNEXPLORED}
    assert len(fetched) == 3 and "R" in fetched
    assert server.total_requests == 3
    unexplored = [st for st in result.units.values() if st.status is Status.UNEXPLORED]
    assert unexplored  # referenced units are kept, never dropped
    assert all(st.reason == "beyond the unit limit (3)" for st in unexplored)
    assert set(result.units) >= {"R", "M1", "M2"}


def test_found_again_closer_to_the_start_its_references_move_up(recording: Server) -> None:
    """Inconsistent records: X is listed by A (depth 1) and by C (depth 2, behind B).

    A answers slowly, so X is first reached the long way, at depth 3, and its child Y at depth
    4 falls beyond --max-depth 3. When A's answer shows X at depth 2, Y is at depth 3: fetched.
    """
    slow_a = unit("A", parent="S", children=["X"])
    server = recording(
        [
            unit("S", children=["A", "B"]),
            slow_a,
            unit("B", parent="S", children=["C"]),
            unit("C", parent="B", children=["X"]),
            unit("X", parent="C", children=["Y"]),
            unit("Y", parent="X", children=["Z"]),
            unit("Z", parent="Y"),
        ]
    )
    server.faults["A"] = Fault(status=200, times=None, delay=0.4, body=json.dumps(slow_a).encode())
    result = run_crawl("S", options(server, direction=Direction.DOWN, limits=Limits(max_depth=3)))
    assert result.units["X"].depth == 2
    assert result.units["Y"].depth == 3
    assert result.units["Y"].status is Status.OK
    assert result.units["Z"].status is Status.UNEXPLORED
    assert result.units["Z"].reason == "beyond the depth limit (3)"
    assert server.requests["Y"] == 1


# --- the start unit and errors that stop the crawl --------------------------------------------


def test_start_not_found(recording: Server) -> None:
    server = recording(tree())
    with pytest.raises(StartNotFound) as caught:
        run_crawl("NOPE", options(server))
    assert "NOPE" in str(caught.value)
    assert server.requests == Counter({"NOPE": 1})


def test_start_failing_is_unreachable(recording: Server) -> None:
    server = recording(tree())
    server.faults["M1"] = Fault(status=503, times=None)
    with pytest.raises(StartUnreachable) as caught:
        run_crawl("M1", options(server, retries=2))
    assert "503" in str(caught.value) and "3 attempts" in str(caught.value)
    assert server.requests == Counter({"M1": 3})


def test_start_with_a_bad_key_raises_after_one_request(recording: Server) -> None:
    server = recording(tree(), api_key="another-key")
    with pytest.raises(KeyRejected):
        run_crawl("M1", options(server))
    assert server.total_requests == 1


@pytest.mark.parametrize("concurrency", [1, 2, 16])
@pytest.mark.parametrize("status, error", [(401, KeyRejected), (403, Forbidden)])
def test_key_refused_mid_crawl_stops_the_crawl(
    recording: Server, concurrency: int, status: int, error: type[Exception]
) -> None:
    """Not a hang (all workers dead) nor a silent stop with units left without a reason."""
    server = recording(tree())
    for serial in ("R", "C1", "C2"):
        server.faults[serial] = Fault(status=status, times=None)

    async def main() -> tuple[Crawler, BaseException | None]:
        settings = HttpSettings(base_url=server.url, backoff=0.01, timeout=5.0)
        async with HttpSource(API_KEY, settings) as source:
            crawler = Crawler(source, concurrency=concurrency)
            try:
                await asyncio.wait_for(crawler.crawl("M1"), 10)
            except (KeyRejected, Forbidden) as exc:
                return crawler, exc
            return crawler, None

    crawler, exc = asyncio.run(main())
    assert isinstance(exc, error)
    assert crawler.result is not None and crawler.result.interrupted
    for state in crawler.units.values():
        assert state.status is not Status.UNEXPLORED or state.reason


def test_unexpected_source_error_propagates(recording: Server) -> None:
    """A bug below the crawler surfaces (exit code 1) instead of hanging or vanishing."""
    server = recording(tree())

    class Broken:
        def __init__(self, inner: HttpSource) -> None:
            self.inner = inner

        async def get(self, serial: str) -> Any:
            if serial != "M1":
                raise RuntimeError("a bug")
            return await self.inner.get(serial)

    async def main() -> Crawler:
        settings = HttpSettings(base_url=server.url, backoff=0.01, timeout=5.0)
        async with HttpSource(API_KEY, settings) as inner:
            crawler = Crawler(Broken(inner), concurrency=2)
            with pytest.raises(RuntimeError, match="a bug"):
                await asyncio.wait_for(crawler.crawl("M1"), 10)
            return crawler

    crawler = asyncio.run(main())
    assert crawler.result is not None and crawler.result.interrupted


def test_cancelled_crawl_keeps_what_it_learned(recording: Server) -> None:
    children = [f"K{i:02}" for i in range(12)]
    server = recording(
        [
            unit("P", children=children),
            *(unit(c, parent="P", children=[f"{c}-x"]) for c in children),
        ],
        latency=0.3,
    )

    async def main() -> Crawler:
        settings = HttpSettings(base_url=server.url, backoff=0.01, timeout=5.0)
        async with HttpSource(API_KEY, settings) as source:
            crawler = Crawler(source, concurrency=4)
            task = asyncio.create_task(crawler.crawl("P"))
            while crawler.counters.done < 1:  # the start unit is in; its children are on the way
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return crawler

    crawler = asyncio.run(main())
    result = crawler.result
    assert result is not None and result.interrupted
    assert result.units["P"].status is Status.OK
    assert set(result.units) >= {"P", *children}
    unexplored = [s for s in result.units.values() if s.status is Status.UNEXPLORED]
    assert len(unexplored) >= 8  # at most four were in flight, none had finished
    assert all(s.reason == "crawl interrupted before it was fetched" for s in unexplored)


# --- concurrency and pacing, measured on the server side ---------------------------------------

SIBLINGS = [f"SIB-{i:02}" for i in range(16)]


def siblings_server(recording: Server, **kw: Any) -> RecordingServer:
    return recording(
        [unit("PARENT", children=SIBLINGS), *(unit(s, parent="PARENT") for s in SIBLINGS)], **kw
    )


def test_sixteen_siblings_are_requested_at_once(recording: Server) -> None:
    server = siblings_server(recording, latency=0.1)
    server.hold(16, "SIB-")  # answer no sibling before all sixteen are in (or 5 s have passed)
    result = run_crawl("PARENT", options(server, concurrency=16))
    assert statuses(result) == dict.fromkeys({"PARENT", *SIBLINGS}, Status.OK)
    assert server.max_in_flight == 16  # all siblings in one round trip


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.slow
def test_concurrency_caps_requests_in_flight(recording: Server, concurrency: int) -> None:
    server = siblings_server(recording, latency=0.03)
    server.hold(concurrency, "SIB-")
    result = run_crawl("PARENT", options(server, concurrency=concurrency))
    assert statuses(result) == dict.fromkeys({"PARENT", *SIBLINGS}, Status.OK)
    assert server.max_in_flight == concurrency


@pytest.mark.slow
def test_rate_spaces_requests(recording: Server) -> None:
    server = siblings_server(recording)
    rate = 25.0
    result = run_crawl("PARENT", options(server, concurrency=16, rate=rate))
    assert len(result.units) == 17
    arrivals = sorted(server.arrivals)
    assert len(arrivals) == 17
    # Request k leaves in slot k, 1/rate after slot k-1. On a busy machine one may reach the
    # server late, which shortens the gap after it; so check the span and the typical gap.
    assert arrivals[-1] - arrivals[0] >= 16 / rate - 0.1
    assert statistics.median(gaps(arrivals)) >= 0.8 / rate


def test_without_rate_requests_bunch_up(recording: Server) -> None:
    """Control for the test above: it is the rate that spaces them, not the machinery."""
    server = siblings_server(recording)
    run_crawl("PARENT", options(server, concurrency=16))
    assert statistics.median(gaps(sorted(server.arrivals))) < 0.8 / 25


@pytest.mark.slow
def test_429_pauses_everyone(recording: Server) -> None:
    """A 429 with Retry-After holds back every later request of the crawl, not just its own."""
    server = siblings_server(recording)
    server.faults["SIB-00"] = Fault(status=429, times=1, retry_after="1")
    # SIB-01 goes out with SIB-00, and its answer is held until the client has read the 429
    # (and counted its retry): every later request must then wait for the pause it asked for.
    # (A fixed 0.2 s delay for SIB-01 left it to the machine's load which answer the client
    # read first; read the other way round, SIB-02 rightly went out before the pause.)
    counters = Counters()
    server.hold_until("SIB-01", lambda: counters.retries >= 1)
    result = run_crawl("PARENT", options(server, concurrency=2), counters=counters)
    assert server.held_in_vain == 0
    assert statuses(result) == dict.fromkeys({"PARENT", *SIBLINGS}, Status.OK)
    assert counters.retries == 1 and server.total_requests == 18
    log = list(zip(server.paths, server.arrivals, strict=True))
    throttled = next(t for path, t in log if path.endswith("/SIB-00"))
    later = [t for path, t in log if not path.endswith(("/PARENT", "/SIB-00", "/SIB-01"))]
    assert len(later) == 14
    assert min(later) - throttled >= 0.9


@pytest.mark.slow
def test_429_also_holds_back_requests_already_waiting_for_their_rate_slot(
    recording: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --rate, requests queue for slots ahead; a 429 must hold those back too.

    The slots are 0.1 s apart: a request whose slot came before the client had read the 429
    rightly went out (on a busy machine the 429 can take longer than a slot to be read). So
    the pacer's releases and the moment it was paused are recorded, and the server may see,
    before the pause ends, only the requests released before the pause began."""
    released: list[float] = []
    paused: list[float] = []
    wait, pause = RateLimiter.wait, RateLimiter.pause

    async def recorded_wait(limiter: RateLimiter) -> None:
        await wait(limiter)
        released.append(time.monotonic())

    def recorded_pause(limiter: RateLimiter, seconds: float) -> None:
        paused.append(time.monotonic())
        pause(limiter, seconds)

    monkeypatch.setattr(RateLimiter, "wait", recorded_wait)
    monkeypatch.setattr(RateLimiter, "pause", recorded_pause)
    server = siblings_server(recording)
    server.faults["SIB-00"] = Fault(status=429, times=1, retry_after="1")
    result = run_crawl("PARENT", options(server, concurrency=16, rate=10))
    assert statuses(result) == dict.fromkeys({"PARENT", *SIBLINGS}, Status.OK)
    assert len(paused) == 1 and len(released) == server.total_requests == 18
    before_pause = [t for t in released if t < paused[0]]
    assert len(before_pause) >= 2  # PARENT and SIB-00, whose answer asked for the pause
    log = list(zip(server.paths, server.arrivals, strict=True))
    throttled = next(t for path, t in log if path.endswith("/SIB-00"))
    during_pause = [path for path, t in log if t < throttled + 0.9]
    assert len(during_pause) <= len(before_pause), during_pause


def test_unreachable_server_is_start_unreachable() -> None:
    base = f"http://127.0.0.1:{free_port()}/api"
    options = CrawlOptions(base_url=base, api_key=API_KEY, backoff=0.01, retries=1)
    with pytest.raises(StartUnreachable) as caught:
        run_crawl("M1", options)
    assert "network error" in str(caught.value) and "2 attempts" in str(caught.value)
