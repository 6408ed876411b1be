"""Wires a source stack (HTTP, cache, or both), the crawler and the progress line together."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genealogy.config import DEFAULT_BASE_URL
from genealogy.crawler import Crawler, CrawlResult, Direction, Limits
from genealogy.errors import StartNotFound, StartUnreachable, WrongBaseUrl
from genealogy.levels import LevelCrawler, add_histories
from genealogy.loop import run_sync
from genealogy.nodes import Status
from genealogy.perf import paused_gc
from genealogy.sources import Counters, UnitSource
from genealogy.sources.cache import CachedSource, CacheUnavailable, UnitCache
from genealogy.sources.http import HttpSettings, HttpSource
from genealogy.sources.listing import ListEndpointsMissing, ListSource
from genealogy.sources.probe import check_base_url

Via = Literal["auto", "list", "get"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CrawlOptions:
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    direction: Direction = Direction.BOTH
    limits: Limits = field(default_factory=Limits)
    concurrency: int = 16
    retries: int = 4
    timeout: float = 30.0
    rate: float | None = None
    backoff: float = 0.5
    deadline: float | None = None
    """Seconds for the whole crawl, from when its HTTP source opens: after that no request
    starts, those in flight are cut, and every unit not fetched is an error saying so (the
    cache still answers). None: no deadline."""
    cache_path: Path | None = None  # None: no cache
    max_age: float | None = 3600.0
    refresh: bool = False
    offline: bool = False
    keep_units: bool = False  # also keep each pydantic record in the result (more memory)
    via: Via = "get"
    """`get`: one `GET /v2/units/{serial}` per unit (it alone gives the creating run);
    `list`: whole levels through `GET /v2/units?serial_numbers=...`; `auto`: the list
    endpoint, or per unit when the server has none. The command line and `genealogy.crawl`
    use `auto`; this object, used inside the library and its tests, defaults to `get`."""
    history: bool = False
    """Also fetch every unit's run history (`GET /v2/runs`); on by default in the command
    line and `genealogy.crawl`."""


@dataclass(frozen=True)
class Sources:
    units: UnitSource  # one unit per request
    listing: ListSource  # many units, or their run histories, per request
    http: HttpSource | None = None  # the network behind both; None offline


@contextlib.asynccontextmanager
async def open_sources(options: CrawlOptions, counters: Counters) -> AsyncIterator[Sources]:
    """The source stacks the options ask for: HTTP, cache in front of HTTP, or cache alone."""
    async with contextlib.AsyncExitStack() as stack:
        http: HttpSource | None = None
        if not options.offline:
            settings = HttpSettings(
                base_url=options.base_url,
                timeout=options.timeout,
                retries=options.retries,
                rate=options.rate,
                concurrency=options.concurrency,
                backoff=options.backoff,
                deadline=options.deadline,
            )
            http = await stack.enter_async_context(HttpSource(options.api_key, settings, counters))
        if options.cache_path is None:
            if http is None:
                raise ValueError("offline crawling needs a cache_path")
            yield Sources(http, ListSource(http, options.base_url, counters=counters), http)
            return
        try:
            cache = stack.enter_context(UnitCache(options.cache_path))
        except CacheUnavailable as exc:
            if http is None:
                raise StartUnreachable(f"{exc}; an offline crawl has nothing to read.") from exc
            log.warning("%s: continuing without the cache", exc)
            yield Sources(http, ListSource(http, options.base_url, counters=counters), http)
            return
        freshness: dict[str, Any] = {
            "max_age": options.max_age,
            "refresh": options.refresh,
            "counters": counters,
        }
        yield Sources(
            CachedSource(cache, options.base_url, http, **freshness),
            ListSource(http, options.base_url, cache=cache, **freshness),
            http,
        )


async def crawl_async(
    start: str | Sequence[str],
    options: CrawlOptions,
    on_progress: Callable[[], None] | None = None,
    counters: Counters | None = None,
    started: list[Crawler] | None = None,
) -> CrawlResult:
    """Crawl on the running event loop, from one serial number or several at once
    (`Crawler.crawl_many`); `started` receives the crawler, so a caller can still read what it
    learned when the crawl is cancelled."""
    starts = (start,) if isinstance(start, str) else tuple(start)
    counters = counters or Counters()
    started = started if started is not None else []
    async with open_sources(options, counters) as sources:
        try:
            return await _crawl_from(sources, starts, options, counters, on_progress, started)
        except (StartNotFound, StartUnreachable) as error:
            if sources.http is None or isinstance(error, WrongBaseUrl):
                raise
            await check_base_url(sources.http, options.base_url, starts[0], error)
            raise


async def _crawl_from(
    sources: Sources,
    starts: tuple[str, ...],
    options: CrawlOptions,
    counters: Counters,
    on_progress: Callable[[], None] | None,
    started: list[Crawler],
) -> CrawlResult:
    """The crawl itself: by level through the list endpoints, or one unit per request."""
    fallback: ListEndpointsMissing | None = None
    if options.via != "get":
        levels = LevelCrawler(
            sources.listing,
            history=options.history,
            direction=options.direction,
            limits=options.limits,
            counters=counters,
            on_progress=on_progress,
        )
        started.append(levels)
        try:
            return await levels.crawl_many(starts)
        except ListEndpointsMissing as missing:
            if options.via == "list":
                raise StartUnreachable(
                    f"The server has no list endpoints ({missing}): crawl one unit per "
                    "request instead."
                ) from missing
            fallback = missing
    crawler = Crawler(
        sources.units,
        direction=options.direction,
        limits=options.limits,
        concurrency=options.concurrency,
        counters=counters,
        on_progress=on_progress,
        keep_units=options.keep_units,
    )
    started.append(crawler)
    result = await crawler.crawl_many(starts)
    if fallback is not None:  # said once the start unit was found: a wrong address says more
        log.warning("no list endpoint to use (%s): fetched one unit per request", fallback)
    if options.history:  # per unit, or fallen back to it: the runs endpoint may still be there
        fetched = [state for state in result.units.values() if state.status is Status.OK]
        await add_histories(sources.listing, fetched)
    return result


def run_crawl(
    start: str | Sequence[str],
    options: CrawlOptions,
    on_progress: Callable[[], None] | None = None,
    counters: Counters | None = None,
) -> CrawlResult:
    """Crawl synchronously (also inside a running event loop, as in Jupyter). Ctrl-C ends the
    crawl early; the result then has `interrupted` set."""
    crawlers: list[Crawler] = []

    async def main() -> None:
        # Returns nothing on purpose: asyncio.run may repr() a returned value while shutting
        # down, and the repr of a large crawl costs seconds. The result is read off the crawler.
        await crawl_async(start, options, on_progress, counters, crawlers)

    try:
        with paused_gc():
            run_sync(main)
    except KeyboardInterrupt:
        result = crawlers[-1].result if crawlers else None
        if result is None:
            raise
        result.interrupted = True
        return result
    result = crawlers[-1].result
    assert result is not None, "a finished crawl always has a result"
    return result
