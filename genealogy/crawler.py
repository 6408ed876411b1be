"""Follows `parent` and `children` references from one serial number until the assembly is known.

A fixed pool of workers pulls serials from a queue, so a unit's references are requested as
soon as the unit arrives, at most `concurrency` at a time. Every serial that is referenced
ends in the result: fetched, not found, failed with a reason, or left unexplored by a limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from genealogy.attributes import unit_attributes
from genealogy.errors import StartNotFound, StartUnreachable
from genealogy.matching import fold
from genealogy.models import Unit, UnitRef
from genealogy.nodes import Status
from genealogy.sources import Counters, Failed, Fetched, NotFound, UnitSource
from genealogy.text import clip


class Direction(StrEnum):
    BOTH = "both"
    UP = "up"  # ancestors only: the products that contain the start unit
    DOWN = "down"  # descendants only: what the start unit is made of


@dataclass(slots=True, repr=False)
class UnitState:
    """What the crawl learned about one serial number."""

    serial: str
    depth: int
    status: Status = Status.UNEXPLORED
    reason: str | None = None
    unit: Unit | None = None
    ref: UnitRef | None = None  # how another unit described it; all we know when not fetched
    cached: bool = False
    attrs: dict[str, Any] | None = None  # the fetched unit flattened (genealogy.attributes)

    def __repr__(self) -> str:
        return f"UnitState({self.serial!r}, {self.status}, depth={self.depth})"


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int | None = None
    max_units: int | None = None


@dataclass(repr=False)
class CrawlResult:
    start: str
    direction: Direction
    units: dict[str, UnitState]
    counters: Counters
    seconds: float = 0.0
    interrupted: bool = False
    limits: Limits = field(default_factory=Limits)
    starts: tuple[str, ...] = ()
    """Every unit the crawl started from, as their records spell them (`start` is the first):
    several when crawled from many serial numbers at once (`Crawler.crawl_many`)."""

    def __repr__(self) -> str:  # short: the units may be many thousands
        return (
            f"CrawlResult(start={self.start!r}, units={len(self.units)}, "
            f"interrupted={self.interrupted})"
        )

    def failed(self, strict: bool = False) -> list[UnitState]:
        """Units whose record is missing for a reason other than a limit."""
        bad = {Status.ERROR, Status.NOT_FOUND} if strict else {Status.ERROR}
        return [state for state in self.units.values() if state.status in bad]


class Crawler:
    def __init__(
        self,
        source: UnitSource,
        *,
        direction: Direction = Direction.BOTH,
        limits: Limits | None = None,
        concurrency: int = 16,
        counters: Counters | None = None,
        on_progress: Callable[[], None] | None = None,
        keep_units: bool = True,
    ) -> None:
        """`keep_units=False` keeps only each unit's flattened attributes (`UnitState.attrs`),
        not its pydantic record: a fifth of the memory, for crawls of 100,000 units."""
        self.source = source
        self.keep_units = keep_units
        self.direction = Direction(direction)  # "down" works too, and not as BOTH
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.counters = counters or Counters()
        self.on_progress = on_progress or (lambda: None)
        self.units: dict[str, UnitState] = {}  # by the unit's own spelling, once fetched
        self._by_key: dict[str, UnitState] = {}  # by `fold(serial)`: one state per unit
        self._queue: asyncio.Queue[UnitState] = asyncio.Queue()
        self._scheduled = 0
        self.result: CrawlResult | None = None

    async def crawl(self, start: str) -> CrawlResult:
        """Crawl from `start`.

        If cancelled, or stopped by an error no unit can absorb (the API rejecting the key
        mid-crawl, a bug), `self.result` is marked interrupted and still holds everything
        learned so far, and the exception propagates.
        """
        return await self.crawl_many((start,))

    async def crawl_many(self, starts: Sequence[str]) -> CrawlResult:
        """Crawl from every unit of `starts` at once, each at depth 0 (a recall of several
        cells: their common ancestors are fetched once). A start that is not found or cannot
        be fetched stays in the result with its status and reason; only when none of them is
        fetched does it raise, as `crawl` does for its one start."""
        if not starts:
            raise ValueError("crawl_many needs at least one serial number")
        began = time.perf_counter()
        result = CrawlResult(
            starts[0], self.direction, self.units, self.counters, limits=self.limits
        )
        self.result = result
        try:
            await self._crawl_from(starts)
        except self.NOTHING_TO_CRAWL:
            raise
        except BaseException:  # cancellation (Ctrl-C) or an error no unit can absorb
            result.interrupted = True
            self._mark_interrupted()
            raise
        finally:
            await self._wind_down()
            result.seconds = time.perf_counter() - began
        return result

    NOTHING_TO_CRAWL: tuple[type[Exception], ...] = (StartNotFound, StartUnreachable)
    """Errors that end a crawl before it has anything: not an interruption."""

    async def _crawl_from(self, starts: Sequence[str]) -> None:
        """The crawl itself: the starts alone, then every unit they lead to, by workers."""
        await self._fetch_starts(starts)
        self._spelled(self._by_key[fold(start)] for start in starts)
        await self._run_workers()

    def _spelled(self, starts: Iterable[UnitState]) -> None:
        """`result.start` and `.starts` as the start units' own records spell them."""
        assert self.result is not None, "set when the crawl begins"
        spelled = tuple(dict.fromkeys(state.serial for state in starts))
        self.result.start, self.result.starts = spelled[0], spelled

    async def _wind_down(self) -> None:
        """What must stop before the crawl returns, however it ended (here: nothing)."""

    async def _run_workers(self) -> None:
        """Drain the queue; the first worker to fail stops the others and its error propagates."""
        workers = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]
        drained = asyncio.create_task(self._queue.join())
        try:
            done, _ = await asyncio.wait([drained, *workers], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not drained:  # workers never return: this one raised
                    task.result()
        finally:
            for task in [drained, *workers]:
                task.cancel()
            await asyncio.gather(drained, *workers, return_exceptions=True)

    async def _fetch_starts(self, starts: Sequence[str]) -> None:
        """The start units alone first: a bad key or a wrong serial fails after one round."""
        states = [self._schedule(start, 0, None, count_only=True) for start in starts]
        once = {id(state): state for state in states}.values()  # a serial given twice
        await asyncio.gather(*(self._visit(state) for state in once))
        check_starts(states, starts)

    async def _work(self) -> None:
        while True:
            state = await self._queue.get()
            try:
                await self._visit(state)
            finally:
                self._queue.task_done()
            await asyncio.sleep(0)  # a cache hit never waits: let Ctrl-C and the others in

    async def _visit(self, state: UnitState) -> None:
        outcome = await self.source.get(state.serial)
        if isinstance(outcome, Fetched):
            state.status, state.cached = Status.OK, outcome.cached
            self._respell(state, outcome.unit.serial_number)
            state.attrs = unit_attributes(outcome.unit, state.serial, outcome.warnings)
            if self.keep_units:
                state.unit = outcome.unit
            else:
                state.ref = None  # the attributes say more; the records cost memory
            for ref, depth in self._references(outcome.unit, state.depth):
                self._schedule(ref.serial_number, depth, ref)
        elif isinstance(outcome, NotFound):
            state.status, state.reason = Status.NOT_FOUND, outcome.reason
        elif isinstance(outcome, Failed):
            state.status, state.reason = Status.ERROR, outcome.reason
        self.counters.done += 1
        self.on_progress()

    def _respell(self, state: UnitState, spelling: str) -> None:
        """Key the unit by its record's own spelling when it was asked for in another case.

        A serial that differs beyond case is left as asked (`reported_serial` says so)."""
        if spelling != state.serial and fold(spelling) == fold(state.serial):
            del self.units[state.serial]
            state.serial = spelling
            self.units[spelling] = state

    def _references(self, unit: Unit, depth: int) -> list[tuple[UnitRef, int]]:
        refs: list[UnitRef] = []
        if self.direction is not Direction.DOWN and unit.parent is not None:
            refs.append(unit.parent)
        if self.direction is not Direction.UP:
            refs.extend(unit.children)
        return [(ref, depth + 1) for ref in refs]

    def _schedule(
        self, serial: str, depth: int, ref: UnitRef | None, count_only: bool = False
    ) -> UnitState:
        """Record a referenced serial and queue it for fetching unless a limit says no.

        Serials are matched case-insensitively, as the service does: a reference spelled in
        another case leads to the same state."""
        key = fold(serial)
        state = self._by_key.get(key)
        if state is not None:
            if state.ref is None and ref is not None:
                state.ref = ref
            if depth < state.depth:
                self._closer(state, depth)
            return state
        state = UnitState(serial, depth, ref=ref)
        self.units[serial] = state
        self._by_key[key] = state
        self.counters.discovered += 1
        if count_only:
            self._scheduled += 1
        else:
            self._try_queue(state)
        return state

    def _closer(self, state: UnitState, depth: int) -> None:
        """`state` was found again closer to the start (inconsistent records can do that)."""
        state.depth = depth
        if state.status is Status.UNEXPLORED and state.reason:
            self._try_queue(state)  # left out by a limit: maybe within it now
        elif state.status is Status.OK and state.attrs is not None:
            # its references were placed one level below its old depth: move them up too
            parent, children = state.attrs["parent_serial"], state.attrs["children_serials"]
            followed = [] if self.direction is Direction.DOWN or parent is None else [parent]
            followed += [] if self.direction is Direction.UP else children
            for serial in followed:
                self._schedule(serial, depth + 1, None)

    def _try_queue(self, state: UnitState) -> None:
        max_depth, max_units = self.limits.max_depth, self.limits.max_units
        if max_depth is not None and state.depth > max_depth:
            state.reason = f"beyond the depth limit ({max_depth})"
        elif max_units is not None and self._scheduled >= max_units:
            state.reason = f"beyond the unit limit ({max_units})"
        else:
            state.reason = None
            self._scheduled += 1
            self._queue.put_nowait(state)

    def _mark_interrupted(self) -> None:
        for state in self.units.values():
            if state.status is Status.UNEXPLORED and state.reason is None:
                state.reason = "crawl interrupted before it was fetched"


NAMED_STARTS = 5
"""Start serials an error about several of them names; the rest are counted."""


def check_starts(states: Sequence[UnitState], starts: Sequence[str]) -> None:
    """Raise when no start unit was fetched: as `check_start` does for one start; for several
    that were all looked up, naming every one (`StartUnreachable` if any could not be fetched,
    else `StartNotFound`). A start that failed among others that were fetched is reported with
    them, not raised."""
    if any(state.status is Status.OK for state in states):
        return
    pairs = zip(states, starts, strict=True)
    given = list({id(state): (state, start) for state, start in pairs}.values())  # once each
    looked_up = (Status.NOT_FOUND, Status.ERROR)
    if len(given) == 1 or any(state.status not in looked_up for state, _ in given):
        check_start(states[0], starts[0])
        return
    missing = [start for state, start in given if state.status is Status.NOT_FOUND]
    failed = [(start, state.reason) for state, start in given if state.status is Status.ERROR]
    if not failed:
        raise StartNotFound(
            f"None of the {len(given)} units was found: {_named(missing)}: check the serial "
            "numbers and that the API key's organisation owns them."
        )
    why = {reason for _, reason in failed}
    reason = f" ({next(iter(why))})" if len(why) == 1 else ""
    not_found = f"; not found: {_named(missing)}" if missing else ""
    raise StartUnreachable(
        f"Could not fetch any of the {len(given)} start units: {_named(s for s, _ in failed)}"
        f"{reason}{not_found}. Check the base URL and the network, or retry later."
    )


def _named(serials: Iterable[str]) -> str:
    """`'A', 'B' and 3 more`: the first few, each clipped, as an error names them."""
    listed = list(serials)
    names = ", ".join(repr(clip(serial, 60)) for serial in listed[:NAMED_STARTS])
    more = len(listed) - NAMED_STARTS
    return f"{names} and {more:,} more" if more > 0 else names


def check_start(state: UnitState, start: str) -> None:
    """Raise when the start unit cannot be crawled from: nothing else is worth fetching."""
    if state.status is Status.NOT_FOUND:
        raise StartNotFound(
            f"Unit {start!r} was not found ({state.reason}): check the serial number "
            "and that the API key's organisation owns it."
        )
    if state.status is Status.ERROR:
        raise StartUnreachable(
            f"Could not fetch the start unit {start!r}: {state.reason}. "
            "Check the base URL and the network, or retry later."
        )


async def crawl(
    source: UnitSource,
    start: str,
    *,
    direction: Direction = Direction.BOTH,
    limits: Limits | None = None,
    concurrency: int = 16,
) -> CrawlResult:
    """Crawl the assembly around `start` from `source` (the library's one-call entry point)."""
    crawler = Crawler(source, direction=direction, limits=limits, concurrency=concurrency)
    return await crawler.crawl(start)
