"""The crawl through the list endpoints: breadth-first, one whole level of the assembly at a time.

A 7,122-unit traction pack is three levels (pack; modules and BMS; cells), so its structure
takes a few dozen list requests where one request per unit took 7,122. The run histories of
a level's first page are asked for together with its units; the runs they have size the
requests for the rest of the level, which go out at once, while its units are still on their
way (before the runs endpoint is known to exist, a level's histories follow its units as they
are read). A crawl up (a trace: a few units a level) asks for all of them at the end. The
crawl's bookkeeping (case-insensitive serials, depths, limits, what was left unexplored) is
`Crawler`'s own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from genealogy.attributes import history_attributes, listed_attributes
from genealogy.crawler import Crawler, Direction, Limits, UnitState, check_starts
from genealogy.errors import AuthError
from genealogy.matching import fold
from genealogy.nodes import Status
from genealogy.sources import Counters, Failed, NotFound
from genealogy.sources.listing import (
    PAGE_LIMIT,
    History,
    HistoryOutcome,
    Listed,
    ListEndpointsMissing,
    ListOutcome,
    ListSource,
    history_batch,
)

log = logging.getLogger(__name__)

HistoryAnswers = dict[str, HistoryOutcome] | None
"""Each asked serial's history by `fold(serial)`; None when no history could be read."""


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
        self._background: list[asyncio.Task[Any]] = []  # history requests
        self._later: list[UnitState] = []  # up: the histories wanted once every level is in
        # by depth: units read and not yet asked about their runs; the levels read whole; those
        # whose first request is telling how many runs a unit has; and what it told
        self._waiting: dict[int, list[UnitState]] = {}
        self._read_whole: set[int] = set()
        self._sizing: set[int] = set()
        self._batch: dict[int, int] = {}

    NOTHING_TO_CRAWL = (*Crawler.NOTHING_TO_CRAWL, ListEndpointsMissing)
    """Also `ListEndpointsMissing`, after the first request: the caller then crawls one unit
    per request."""

    async def _crawl_from(self, starts: Sequence[str]) -> None:
        """The starts asked for in one batch, then level by level; then the histories still
        wanted (a crawl up asks for all of them at the end)."""
        first = [self._schedule(start, 0, None, count_only=True) for start in starts]
        await self._fetch_level(list({id(state): state for state in first}.values()))
        check_starts(first, starts)
        self._spelled(first)
        while level := self._next_level():
            await self._fetch_level(level)
        if self._later:
            self._background.append(asyncio.create_task(self._fetch_histories(self._later)))
        while not all(task.done() for task in self._background):
            await asyncio.gather(*self._background)  # one done may ask for more

    async def _wind_down(self) -> None:
        """A history task must not outlive the HTTP client and the cache: cancel and await."""
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def _next_level(self) -> list[UnitState]:
        """Every unit queued so far (by the level just fetched, within the limits)."""
        level = []
        while not self._queue.empty():
            level.append(self._queue.get_nowait())
        return level

    async def _fetch_level(self, level: list[UnitState]) -> None:
        """Ask for the level a page's worth at a time, all at once (the HTTP source bounds
        the requests in flight), and read each answer in order as it comes, so that run
        histories are asked for while the rest of the level is still on its way."""
        groups = [level[at : at + PAGE_LIMIT] for at in range(0, len(level), PAGE_LIMIT)]
        asked: list[asyncio.Future[dict[str, ListOutcome]]] = []
        sizing = None
        read = asyncio.Event()
        for group in groups:
            asked.append(asyncio.ensure_future(self.listing.units([s.serial for s in group])))
            if len(asked) == 1:  # right behind the first page: requests wait for slots in turn
                sizing = self._size_early(group)
                if sizing is not None:
                    rest = level[len(group) :]
                    task = self._level_histories(sizing, group, rest, read)
                    self._background.append(asyncio.create_task(task))
        try:
            for group, answer in zip(groups, asked, strict=True):
                self._read_group(group, await answer, sized=sizing is not None)
        finally:
            for pending in asked:  # an error or Ctrl-C: no request may outlive the crawl
                pending.cancel()
            await asyncio.gather(*asked, return_exceptions=True)
        read.set()
        self._ask_histories(level_read=True)

    def _read_group(
        self, group: list[UnitState], answers: dict[str, ListOutcome], *, sized: bool = False
    ) -> None:
        """`sized`: the level's histories are asked for without waiting for its units
        (`_size_early`, `_level_histories`)."""
        for state in group:
            outcome = answers.get(fold(state.serial)) or Failed("no answer for it")
            if isinstance(outcome, Listed):
                self._listed(state, outcome)
                if self.history and self.direction is Direction.UP:
                    # a few units a level (a trace): one request for all their histories at
                    # the end, not one a level
                    self._later.append(state)
                elif self.history and not sized:
                    self._waiting.setdefault(state.depth, []).append(state)
            elif isinstance(outcome, NotFound):
                state.status, state.reason = Status.NOT_FOUND, outcome.reason
            else:
                state.status, state.reason = Status.ERROR, outcome.reason
            self.counters.done += 1
            self.on_progress()
        self._ask_histories(level_read=False)

    def _ask_histories(self, *, level_read: bool) -> None:
        """Ask for run histories in requests of about a page of runs each, as soon as that
        many units of a level are read (when the level is read, the rest too).

        How many runs a unit has differs by level (a module is retested, a cell seldom), so
        each level's first 100 units go alone and their runs size the level's requests."""
        if level_read:
            self._read_whole.update(self._waiting)
        for depth, states in self._waiting.items():
            while states and depth not in self._sizing:
                size = self._batch.get(depth)
                if size is not None and len(states) < size and depth not in self._read_whole:
                    break
                batch = states[: size or PAGE_LIMIT]
                del states[: len(batch)]
                if size is None:
                    self._sizing.add(depth)
                task = self._fetch_histories(batch, depth, size)
                self._background.append(asyncio.create_task(task))

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

    def _size_early(self, sample: list[UnitState]) -> asyncio.Task[HistoryAnswers] | None:
        """A level's first page of units: their histories asked for together with the units
        (their serial numbers are all a runs request needs), rather than once they are read.
        Their runs size the requests for the rest of the level (`_level_histories`), so
        neither the sizing nor the rest waits for the level's units.

        Only once the runs endpoint has answered (a server without it is told so once, by
        one request), and not in a crawl up, which asks for all histories at the end."""
        if not self.history or self.direction is Direction.UP or not self.listing.has_histories:
            return None
        task = asyncio.create_task(ask_histories(self.listing, [s.serial for s in sample]))
        self._background.append(task)
        return task

    async def _level_histories(
        self,
        asked: asyncio.Task[HistoryAnswers],
        sample: list[UnitState],
        rest: list[UnitState],
        read: asyncio.Event,
    ) -> None:
        """A level sized early: once the sample's runs are in, they size the requests for the
        rest of the level. Where most of the sample has runs, the rest are asked for at once,
        without waiting for their units to be read (a runs request needs only serial
        numbers), so the last level's histories cost no round after its units. Where most
        has none (units never tested: the list says so once they are read, and they are then
        not asked about), the rest are asked for once the level is read."""
        answers = await asked
        if answers is None:  # no runs endpoint, or the key may not read runs: said once
            return
        histories = [answer for answer in answers.values() if isinstance(answer, History)]
        tested = sum(1 for history in histories if history.runs)
        size = history_batch(sum(len(h.runs) for h in histories) / max(len(histories), 1))
        early = 2 * tested >= len(histories)
        if early:
            for at in range(0, len(rest), size):
                task = self._histories_of_chunk(rest[at : at + size], read)
                self._background.append(asyncio.create_task(task))
        await _given_when_read(sample, answers, read)
        if not early:  # as the other levels: `add_histories` skips the units never tested
            await read.wait()
            depth = sample[0].depth
            self._batch[depth] = size
            self._waiting.setdefault(depth, []).extend(
                state for state in rest if state.status is Status.OK
            )
            self._read_whole.add(depth)
            self._ask_histories(level_read=False)

    async def _histories_of_chunk(self, states: list[UnitState], read: asyncio.Event) -> None:
        """Ask for these units' histories now, in one request; each unit gets its own as soon
        as it is read."""
        answers = await ask_histories(self.listing, [state.serial for state in states], len(states))
        if answers is not None:
            await _given_when_read(states, answers, read)

    async def _fetch_histories(
        self, states: list[UnitState], depth: int | None = None, size: int | None = None
    ) -> None:
        runs = await add_histories(self.listing, states, size)
        if depth is not None and size is None:  # a level's first: it sizes the level's others
            self._sizing.discard(depth)
            if runs is not None and states:
                self._batch[depth] = history_batch(runs / len(states))
            self._ask_histories(level_read=False)


async def _given_when_read(
    states: list[UnitState], answers: dict[str, HistoryOutcome], read: asyncio.Event
) -> None:
    """Each unit its history from `answers`: now for the units already read, the others once
    their level is (`read`): an interrupted crawl keeps every history it had."""
    unread = [state for state in states if state.attrs is None]
    apply_histories(states, answers)
    if unread:
        await read.wait()
        apply_histories(unread, answers)


def _listed_without_runs(attrs: dict[str, Any]) -> bool:
    """Listed (no creating run is known) and without a latest run: a unit never tested."""
    return "latest_outcome" in attrs and attrs["latest_outcome"] is None and attrs["run_id"] is None


async def add_histories(
    listing: ListSource, states: list[UnitState], per_request: int | None = None
) -> int | None:
    """Give each fetched unit its run history (`runs`, `run_count`, `latest_outcome`); a unit
    whose history could not be fetched gets `history_error` saying why instead. A unit the
    list endpoint gave without a latest run has no runs: it is not asked about (here; a level
    sized early asks before its units are read: `LevelCrawler._level_histories`). A server
    without the runs endpoint, or a key that may not read runs, leaves the histories out with
    one warning: the assembly itself was read.

    Returns how many runs the units have, None when no history could be read;
    `per_request` is `ListSource.histories`'."""
    asked = []
    for state in states:
        if state.attrs is not None and _listed_without_runs(state.attrs):
            state.attrs.update(history_attributes(()))
        else:
            asked.append(state)
    if not asked:
        return 0
    answers = await ask_histories(listing, [state.serial for state in asked], per_request)
    return None if answers is None else apply_histories(asked, answers)


async def ask_histories(
    listing: ListSource, serials: list[str], per_request: int | None = None
) -> HistoryAnswers:
    """`ListSource.histories`, or None (with one warning) when the server has no run list
    endpoint or the key may not read runs."""
    if listing.without_histories:
        return None
    try:
        return await listing.histories(serials, per_request)
    except ListEndpointsMissing as missing:
        log.warning("the server has no run list endpoint (%s): no run histories", missing)
        return None
    except AuthError as refused:
        log.warning("run histories left out: %s", refused)
        return None


def apply_histories(states: list[UnitState], answers: dict[str, HistoryOutcome]) -> int | None:
    """Each read unit's history from `answers`; how many runs they have (None: no history)."""
    runs: int | None = None
    for state in states:
        answer = answers.get(fold(state.serial))
        if state.attrs is None or answer is None:
            continue
        if isinstance(answer, History):
            runs = (runs or 0) + len(answer.runs)
            state.attrs.update(history_attributes(answer.runs))
            # every unit with a known history has the key: with no runs listed, the creating
            # run (if the record names one) is still the latest known
            state.attrs.setdefault("latest_outcome", state.attrs.get("run_outcome"))
        else:
            state.attrs["history_error"] = f"run history not fetched: {answer.reason}"
    return runs
