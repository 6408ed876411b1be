"""The crawl through the list endpoints: breadth-first, one whole level of the assembly at a time.

A 7,122-unit traction pack is three levels (pack; modules and BMS; cells), so its structure
takes a few dozen list requests where one request per unit took 7,122. The run histories of
each level are asked for while the next level is being fetched; a crawl up (a trace: a few
units a level) asks for all of them in one request at the end. The crawl's bookkeeping
(case-insensitive serials, depths, limits, what was left unexplored) is `Crawler`'s own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from genealogy.attributes import history_attributes, listed_attributes
from genealogy.crawler import Crawler, CrawlResult, Direction, Limits, UnitState, check_starts
from genealogy.errors import AuthError, StartNotFound, StartUnreachable
from genealogy.matching import fold
from genealogy.nodes import Status
from genealogy.sources import Counters, Failed, NotFound
from genealogy.sources.listing import History, Listed, ListEndpointsMissing, ListSource

log = logging.getLogger(__name__)


class _NoSource:
    """The level crawler never looks units up one by one."""

    async def get(self, serial: str) -> Failed:
        raise AssertionError("the level crawler asks the list endpoint")


class LevelCrawler(Crawler):
    def __init__(
        self,
        listing: ListSource,
        *,
        history: bool = True,
        direction: Direction = Direction.BOTH,
        limits: Limits | None = None,
        counters: Counters | None = None,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            _NoSource(),
            direction=direction,
            limits=limits,
            counters=counters,
            on_progress=on_progress,
            keep_units=False,
        )
        self.listing = listing
        self.history = history
        self._histories: list[asyncio.Task[None]] = []
        self._later: list[UnitState] = []  # up: the histories wanted once every level is in

    async def crawl_many(self, starts: Sequence[str]) -> CrawlResult:
        """Crawl from `starts` (all at depth 0, asked for in one batch), level by level; the
        same result and errors as `Crawler.crawl_many` (and so `Crawler.crawl`).

        Raises `ListEndpointsMissing` after the first request when the server has no list
        endpoints (the caller then crawls one unit per request)."""
        if not starts:
            raise ValueError("crawl_many needs at least one serial number")
        began = time.perf_counter()
        result = CrawlResult(
            starts[0], self.direction, self.units, self.counters, limits=self.limits
        )
        self.result = result
        try:
            first = [self._schedule(start, 0, None, count_only=True) for start in starts]
            await self._fetch_level(list({id(state): state for state in first}.values()))
            check_starts(first, starts)
            spelled = tuple(dict.fromkeys(state.serial for state in first))
            result.start, result.starts = spelled[0], spelled  # the records' own spelling
            while level := self._next_level():
                await self._fetch_level(level)
            if self._later:
                self._histories.append(asyncio.create_task(self._fetch_histories(self._later)))
            await asyncio.gather(*self._histories)
        except (StartNotFound, StartUnreachable, ListEndpointsMissing):
            raise
        except BaseException:  # cancellation (Ctrl-C) or an error no unit can absorb
            result.interrupted = True
            self._mark_interrupted()
            raise
        finally:
            for task in self._histories:
                task.cancel()
            # wait for them: a history task must not outlive the HTTP client and the cache
            await asyncio.gather(*self._histories, return_exceptions=True)
            result.seconds = time.perf_counter() - began
        return result

    def _next_level(self) -> list[UnitState]:
        """Every unit queued so far (by the level just fetched, within the limits)."""
        level = []
        while not self._queue.empty():
            level.append(self._queue.get_nowait())
        return level

    async def _fetch_level(self, level: list[UnitState]) -> None:
        answers = await self.listing.units([state.serial for state in level])
        fetched = []
        for state in level:
            outcome = answers.get(fold(state.serial)) or Failed("no answer for it")
            if isinstance(outcome, Listed):
                self._listed(state, outcome)
                fetched.append(state)
            elif isinstance(outcome, NotFound):
                state.status, state.reason = Status.NOT_FOUND, outcome.reason
            else:
                state.status, state.reason = Status.ERROR, outcome.reason
            self.counters.done += 1
            self.on_progress()
        if self.history and fetched and self.direction is Direction.UP:
            # a few units a level (a trace): one request for all their histories at the end,
            # not one a level
            self._later.extend(fetched)
        elif self.history and fetched:
            self._histories.append(asyncio.create_task(self._fetch_histories(fetched)))

    def _listed(self, state: UnitState, outcome: Listed) -> None:
        item = outcome.item
        state.status, state.cached = Status.OK, outcome.cached
        self._respell(state, item["serial_number"])
        state.attrs = listed_attributes(item, state.serial, outcome.warnings)
        links = []
        parent = item.get("parent")
        if self.direction is not Direction.DOWN and parent is not None:
            links.append(parent["serial_number"])
        if self.direction is not Direction.UP:
            links.extend(child["serial_number"] for child in item["children"])
        for serial in links:
            self._schedule(serial, state.depth + 1, None)

    async def _fetch_histories(self, states: list[UnitState]) -> None:
        await add_histories(self.listing, states)


def _listed_without_runs(attrs: dict[str, Any]) -> bool:
    """Listed (no creating run is known) and without a latest run: a unit never tested."""
    return "latest_outcome" in attrs and attrs["latest_outcome"] is None and attrs["run_id"] is None


async def add_histories(listing: ListSource, states: list[UnitState]) -> None:
    """Give each fetched unit its run history (`runs`, `run_count`, `latest_outcome`); a unit
    whose history could not be fetched gets `history_error` saying why instead. A unit the
    list endpoint gave without a latest run has no runs: it is not asked about. A server
    without the runs endpoint, or a key that may not read runs, leaves the histories out with
    one warning: the assembly itself was read."""
    asked = []
    for state in states:
        if state.attrs is not None and _listed_without_runs(state.attrs):
            state.attrs.update(history_attributes(()))
        else:
            asked.append(state)
    states = asked
    if not states or listing.without_histories:
        return
    try:
        answers = await listing.histories([state.serial for state in states])
    except ListEndpointsMissing as missing:
        log.warning("the server has no run list endpoint (%s): no run histories", missing)
        return
    except AuthError as refused:
        log.warning("run histories left out: %s", refused)
        return
    for state in states:
        answer = answers.get(fold(state.serial))
        if state.attrs is None or answer is None:
            continue
        if isinstance(answer, History):
            state.attrs.update(history_attributes(answer.runs))
            # every unit with a known history has the key: with no runs listed, the creating
            # run (if the record names one) is still the latest known
            state.attrs.setdefault("latest_outcome", state.attrs.get("run_outcome"))
        else:
            state.attrs["history_error"] = f"run history not fetched: {answer.reason}"
