"""Is this unit built like its reference? Fetch the two assembly trees and compare them.

The reference is another unit (`against`) or the newest golden sample of the unit's part
(`golden`): the units `GET /v2/units?part_numbers=P&samples=golden` lists (part matched in any
case, as the service does), newest first (`sort_by=created_at`, `sort_order=desc`), the unit
itself skipped. Both trees are crawled *down* (what each unit is made of) with the crawl's
own machinery and options, so the cache, `via`, retries and limits apply to both; with
`against` the two crawls run at once, with `golden` the reference is known only once the
unit's part is. `genealogy.queries.diff.compare` then aligns them.

Requests: the two crawls (each a few list requests per level by default), plus one list
request for the golden sample (paged if a part has over 100 golden samples).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genealogy.errors import NoGoldenSample, StartUnreachable, UsageError
from genealogy.loop import run_sync
from genealogy.matching import fold
from genealogy.text import shown

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.crawler import CrawlResult
    from genealogy.models import ListedItem
    from genealogy.queries.diff import Diff
    from genealogy.runner import CrawlOptions
    from genealogy.sources import Counters
    from genealogy.sources.listing import ListOutcome

GOLDEN = "golden"
"""The `sample` value TofuPilot gives reference units."""


@dataclass(frozen=True)
class Pair:
    """The two crawls: the unit's and the reference's, both down from their start."""

    unit: CrawlResult
    reference: CrawlResult
    golden: bool  # the reference was found as the newest golden sample of the unit's part


def part_of(result: CrawlResult) -> str | None:
    """The part number of a crawl's start unit, as its record gives it."""
    from genealogy.graph import node_attributes

    state = result.units[result.start]
    part: str | None = node_attributes(state, True).get("part_number")
    return part


async def newest_golden(part: str, serial: str, options: CrawlOptions, counters: Counters) -> str:
    """The serial of the newest golden sample of `part` other than `serial`.

    Raises `NoGoldenSample` when there is none, `StartUnreachable` when the list cannot be
    read (no list endpoint, network or server errors after the retries), `UsageError` offline.
    """
    from genealogy.runner import open_sources
    from genealogy.sources.listing import (
        MISSING_ENDPOINT,
        PAGE_LIMIT,
        UNITS_PATH,
        every_page,
        read_listed,
    )

    query = [
        ("part_numbers", part),
        ("samples", GOLDEN),
        ("sort_by", "created_at"),
        ("sort_order", "desc"),
        ("limit", str(PAGE_LIMIT)),
    ]
    async with open_sources(options, counters) as sources:
        http = sources.listing.http
        if http is None:
            raise UsageError(
                "--golden asks the service for the golden sample: it cannot run offline "
                "(compare with --against SERIAL instead)"
            )
        items, failure = await every_page(http, UNITS_PATH, query)
    if failure is not None and not items:
        if failure.status in MISSING_ENDPOINT:
            raise StartUnreachable(
                f"Finding the golden sample of part {shown(part)} needs the list endpoint "
                f"GET {UNITS_PATH}, which this server does not have ({failure.reason}): "
                "compare with --against SERIAL instead."
            )
        raise StartUnreachable(
            f"Could not look up the golden sample of part {shown(part)}: {failure.reason}."
        )
    found = _newest_first(part, (read for read in map(read_listed, items) if read is not None))
    others = [candidate for candidate in found if fold(candidate) != fold(serial)]
    if others:
        return others[0]
    if found:
        raise NoGoldenSample(
            f"{shown(serial)} is itself the only golden sample of part {shown(part)}: "
            "there is no other to compare it with; use --against SERIAL."
        )
    raise NoGoldenSample(
        f"No golden sample of part {shown(part)} (the part of {shown(serial)}): no unit of "
        'that part has sample "golden". Mark a reference unit as golden sample in TofuPilot, '
        "or compare with --against SERIAL."
    )


def _newest_first(part: str, listed: Iterable[tuple[str, ListOutcome]]) -> list[str]:
    """The golden samples of `part` among `listed`, newest first. Checked and sorted here, not
    left to the server's filters and sort: a server that ignored them would otherwise make
    any unit of the part, or an old sample, the reference."""
    from genealogy.sources.listing import Listed

    samples = [
        outcome.item
        for serial, outcome in listed
        if serial
        and isinstance(outcome, Listed)
        and fold(outcome.item.get("sample") or "") == GOLDEN
        and fold(outcome.item["part"]["number"]) == fold(part)
    ]
    samples.sort(key=_newest)
    return [item["serial_number"] for item in samples]  # ties stay in the server's order


def _newest(item: ListedItem) -> float:
    created = item.get("created_at")
    return -created.timestamp() if created else 0.0


async def fetch_pair(
    serial: str,
    options: CrawlOptions,
    *,
    against: str | None = None,
    golden: bool = False,
    counters: Counters | None = None,
    on_progress: Callable[[], None] | None = None,
) -> Pair:
    """Crawl `serial` and its reference down (`options.direction` is ignored).

    Raises `UsageError` unless exactly one of `against` and `golden` is given, and what a
    crawl raises (`StartNotFound`, naming the serial, for either unit), `NoGoldenSample`.
    """
    from dataclasses import replace

    from genealogy.crawler import Direction
    from genealogy.runner import crawl_async
    from genealogy.sources import Counters

    if (against is None) == (not golden):
        raise UsageError("compare with one reference: another unit (against), or golden")
    counters = counters or Counters()
    down = replace(options, direction=Direction.DOWN)
    if against is not None:
        crawls = [
            asyncio.ensure_future(crawl_async(serial, down, on_progress, counters)),
            asyncio.ensure_future(crawl_async(against, down, on_progress, counters)),
        ]
        try:
            unit, reference = await asyncio.gather(*crawls)
        except BaseException:  # one failed (or Ctrl-C): the other must not outlive the call
            for crawl in crawls:
                crawl.cancel()
            await asyncio.gather(*crawls, return_exceptions=True)
            raise
        return Pair(unit, reference, golden=False)
    unit = await crawl_async(serial, down, on_progress, counters)
    part = part_of(unit)
    if part is None:
        raise NoGoldenSample(
            f"{shown(serial)} has no part number, so it has no golden sample to compare with: "
            "use --against SERIAL."
        )
    sample = await newest_golden(part, unit.start, down, counters)
    reference = await crawl_async(sample, down, on_progress, counters)
    return Pair(unit, reference, golden=True)


def compare_pair(pair: Pair, kinds: Iterable[str] | None = None) -> tuple[Diff, nx.DiGraph]:
    """The comparison of a fetched pair, and the unit's graph (to draw, marked)."""
    from genealogy.graph import build_graph
    from genealogy.queries.diff import DEFAULT_KINDS, compare

    graph = build_graph(pair.unit)
    reference = build_graph(pair.reference)
    chosen = DEFAULT_KINDS if kinds is None else kinds
    result = compare(graph, pair.unit.start, reference, pair.reference.start, kinds=chosen)
    return result, graph


def kinds_for(outcomes: bool, unfetched: bool) -> tuple[str, ...]:
    """The difference kinds compared: the default ones, and the two opt-in ones asked for."""
    from genealogy.queries.diff import DEFAULT_KINDS

    extra = [kind for kind, on in (("outcome", outcomes), ("unfetched", unfetched)) if on]
    return (*DEFAULT_KINDS, *extra)


def diff(
    serial: str,
    against: str | None = None,
    *,
    golden: bool = False,
    outcomes: bool = False,
    unfetched: bool = False,
    **options: Any,
) -> Diff:
    """How `serial`'s assembly differs from its reference's: the unit `against`, or with
    `golden=True` the newest golden sample of its part. Serials in any case.

    `outcomes` and `unfetched` add those kinds of difference (see `genealogy.queries.diff`).
    Options as `genealogy.crawl`'s (`base_url`, `api_key`, `cache`, `via`...; `direction` is
    always down). Returns a `Diff` (`.differences`, `.identical`, `.to_dict()`). Raises
    `UsageError`, `StartNotFound` (either unit), `NoGoldenSample`, `StartUnreachable`, and the
    key errors.
    """
    return run_sync(
        lambda: adiff(
            serial, against, golden=golden, outcomes=outcomes, unfetched=unfetched, **options
        )
    )


async def adiff(
    serial: str,
    against: str | None = None,
    *,
    golden: bool = False,
    outcomes: bool = False,
    unfetched: bool = False,
    **options: Any,
) -> Diff:
    """`diff` for async code: the same arguments and result, on the running event loop."""
    pair = await _fetch(serial, against, golden, options)
    return compare_pair(pair, kinds_for(outcomes, unfetched))[0]


async def _fetch(serial: str, against: str | None, golden: bool, options: dict[str, Any]) -> Pair:
    from genealogy.api import _options

    if "direction" in options:
        raise UsageError("diff compares what the units are made of: it takes no direction")
    return await fetch_pair(serial, _options(options), against=against, golden=golden)
