"""The list endpoints as a source: many units, or many units' run histories, per request.

`GET /v2/units?serial_numbers=A&serial_numbers=B...` answers up to 100 units per page with
their parent, children and latest run; `GET /v2/runs?serial_numbers=...` their whole test
history. Serials go in chunks of at most 100 whose URL stays under 8 KB (`chunk_serials`);
chunks run concurrently, bounded by the HTTP source's own limit on requests in flight, and
each follows `next_cursor` while `has_more` is true. A serial asked for and absent from the
answer is `NotFound`; a chunk whose request failed fails each of its serials with the reason.

A server without these endpoints answers the first request 404 or 400: `ListEndpointsMissing`
is raised then, and the crawl falls back to one request per unit.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import pydantic

from genealogy.matching import fold
from genealogy.models import LenientRunDigest, ListedItem, ListedUnit, PageMeta, RunItem
from genealogy.perf import build_ahead
from genealogy.records import UnreadableRecord, read_record
from genealogy.sources import Counters, Failed, JsonFailed, NotFound
from genealogy.sources.cache import CachedRow, StoredRow, UnitCache, storable
from genealogy.sources.http import HttpSource, SerialChunks, chunk_serials, unaddressable

log = logging.getLogger(__name__)

UNITS_PATH = "/v2/units"
RUNS_PATH = "/v2/runs"
PAGE_LIMIT = 100
PAGE_FILL = 0.9
"""Run-history requests carry as many serials as should fill nine tenths of a page, judged
from the first 100 units' runs: a chunk of 100 units with 102 runs would cost two requests."""
UNIT_LIST_PARAMS = (("limit", str(PAGE_LIMIT)), ("include_metadata", "true"))
"""What every unit list request asks besides the serial numbers."""
MISSING_ENDPOINT = frozenset({400, 404, 405, 501})
"""What a server without a list endpoint answers its first request."""
MAX_PAGES = 10_000
"""Pages followed for one chunk at most: a server whose cursor never ends cannot loop us."""


def refusal(serial: str, base_url: str) -> str | None:
    """Why no unit request can carry `serial`, neither alone nor in a list request (empty,
    not Unicode text, too long for a URL), or None: worth knowing before crawling from it."""
    return unaddressable(serial, base_url) or chunk_serials(
        base_url, UNITS_PATH, [serial], params=UNIT_LIST_PARAMS
    ).unrequestable.get(serial)


class ListEndpointsMissing(Exception):
    """The server has no list endpoints (404 or 400 on the first list request)."""


@dataclass(frozen=True, slots=True)
class Listed:
    """A unit as the list endpoint gives it."""

    item: ListedItem
    cached: bool = False
    warnings: tuple[str, ...] = ()


ListOutcome = Listed | NotFound | Failed


@dataclass(frozen=True, slots=True)
class History:
    """A unit's runs, oldest first."""

    runs: tuple[RunItem, ...]


HistoryOutcome = History | Failed


class ListSource:
    """Units and run histories through the list endpoints, with the cache in front when given.

    Cache rows are kept apart from the per-unit records by their key: the base URL followed
    by `#listed` or `#runs`.
    """

    def __init__(
        self,
        http: HttpSource | None,
        base_url: str,
        *,
        cache: UnitCache | None = None,
        max_age: float | None = None,
        refresh: bool = False,
        counters: Counters | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.cache = cache
        self.max_age = max_age if http is not None else None
        self.refresh = refresh and http is not None
        self.counters = counters or Counters()
        self._checked: set[str] = set()  # the list endpoints known to exist
        self._missing: dict[str, str] = {}  # those known not to, and why

    # -- units ------------------------------------------------------------------------------

    async def units(self, serials: Sequence[str]) -> dict[str, ListOutcome]:
        """Each serial's unit, keyed by `fold(serial)`."""
        answers: dict[str, ListOutcome] = {}
        wanted = []
        unique = list(dict.fromkeys(serials))
        rows = self._cached_rows("listed", unique)
        for serial in unique:
            cached = self._cached_unit(rows.get(fold(serial)))
            if cached is not None:
                answers[fold(serial)] = cached
            else:
                wanted.append(serial)
        if wanted:
            if self.http is None:
                if not answers and UNITS_PATH not in self._checked:
                    # offline, and not even the start unit was crawled by the page: the cache
                    # may still hold its per-unit records
                    raise ListEndpointsMissing("offline: the cache holds no listed units for it")
                reason = "not in the cache (offline): crawl once online to fetch it"
                answers.update({fold(s): Failed(reason) for s in wanted})
            else:
                answers.update(await self._fetch_units(self.http, wanted))
        self._checked.add(UNITS_PATH)
        return answers

    async def _fetch_units(self, http: HttpSource, serials: list[str]) -> dict[str, ListOutcome]:
        params = list(UNIT_LIST_PARAMS)
        split = chunk_serials(http.settings.base_url, UNITS_PATH, serials, params=params)
        answers: dict[str, ListOutcome] = {
            fold(serial): Failed(reason) for serial, reason in split.unrequestable.items()
        }
        pages = await self._all_pages(http, UNITS_PATH, split.chunks, params)
        rows: list[StoredRow] = []
        for chunk, (items, failure) in zip(split.chunks, pages, strict=True):
            found: dict[str, ListOutcome] = {}
            for raw in items:
                read = (raw.item["serial_number"], raw) if isinstance(raw, Listed) else (
                    read_listed(raw)
                )
                if read is not None:
                    found.setdefault(fold(read[0]), read[1])
            for serial in chunk:
                key = fold(serial)
                if failure is not None:
                    answers[key] = found.get(key, Failed(failure))
                    continue
                outcome = found.get(key) or NotFound("not in the list endpoint's answer")
                answers[key] = outcome
                if self.cache is not None and (row := _unit_row(serial, outcome)):
                    rows.append(row)
        self._store_rows("listed", rows)
        return answers

    def _cached_unit(self, row: CachedRow | None) -> ListOutcome | None:
        if row is None:
            return None
        if row.status == "not_found":
            outcome: ListOutcome = NotFound(row.reason or "not found")
        else:
            try:
                item = listed_item().validate_json(row.record or "")
            except (pydantic.ValidationError, ValueError, RecursionError):
                return None
            outcome = Listed(item, cached=True, warnings=row.warnings)
        self.counters.cache_hits += 1
        return outcome

    # -- run histories ----------------------------------------------------------------------

    async def histories(
        self, serials: Sequence[str], per_request: int | None = None
    ) -> dict[str, HistoryOutcome]:
        """Each serial's runs, oldest first, keyed by `fold(serial)`.

        `per_request`: serials per request (see `history_batch`); by default the first 100
        are asked for alone, and the runs they have size the requests for the rest."""
        answers: dict[str, HistoryOutcome] = {}
        wanted = []
        unique = list(dict.fromkeys(serials))
        rows = self._cached_rows("runs", unique)
        for serial in unique:
            cached = self._cached_history(rows.get(fold(serial)))
            if cached is not None:
                answers[fold(serial)] = cached
            else:
                wanted.append(serial)
        if not wanted:
            return answers
        if self.http is None:
            return answers | {fold(s): Failed("not in the cache (offline)") for s in wanted}
        http = self.http
        params = [
            ("limit", str(PAGE_LIMIT)),
            ("sort_by", "started_at"),
            ("sort_order", "asc"),
        ]
        probe = wanted[: per_request or PAGE_LIMIT]
        split = chunk_serials(
            http.settings.base_url, RUNS_PATH, probe, params=params, max_items=len(probe)
        )
        batches = [(split, await self._all_pages(http, RUNS_PATH, split.chunks, params))]
        if len(wanted) > len(probe):
            runs_each = sum(len(items) for items, _ in batches[0][1]) / len(probe)
            size = per_request or history_batch(runs_each)
            split = chunk_serials(
                http.settings.base_url,
                RUNS_PATH,
                wanted[len(probe) :],
                params=params,
                max_items=size,
            )
            batches.append((split, await self._all_pages(http, RUNS_PATH, split.chunks, params)))
        for split, pages in batches:
            answers.update(self._histories_of(split, pages))
        return answers

    def _histories_of(
        self, split: SerialChunks, pages: list[tuple[list[Any], str | None]]
    ) -> dict[str, HistoryOutcome]:
        answers: dict[str, HistoryOutcome] = {
            fold(s): Failed(reason) for s, reason in split.unrequestable.items()
        }
        rows: list[StoredRow] = []
        for chunk, (items, failure) in zip(split.chunks, pages, strict=True):
            runs: dict[str, list[RunItem]] = {fold(serial): [] for serial in chunk}
            for run in items:
                runs.setdefault(fold(run["unit"]["serial_number"]), []).append(run)
            for serial in chunk:
                if failure is not None:
                    answers[fold(serial)] = Failed(failure)
                    continue
                history = History(tuple(sorted(runs[fold(serial)], key=_run_order)))
                answers[fold(serial)] = history
                if self.cache is not None:
                    record = run_items().dump_json(list(history.runs)).decode()
                    rows.append((serial, record, None, ()))
        self._store_rows("runs", rows)
        return answers

    def _cached_history(self, row: CachedRow | None) -> History | None:
        if row is None or row.record is None:
            return None
        try:
            runs = tuple(run_items().validate_json(row.record))
        except (pydantic.ValidationError, ValueError, TypeError, RecursionError):
            return None
        self.counters.cache_hits += 1
        return History(runs)

    # -- paging -----------------------------------------------------------------------------

    async def _all_pages(
        self, http: HttpSource, path: str, chunks: list[list[str]], params: list[tuple[str, str]]
    ) -> list[tuple[list[Any], str | None]]:
        """Every chunk's items, concurrently. The first chunk of a crawl goes alone: a server
        without the endpoint is found out after one request, before a level's worth fail."""
        if path in self._missing:
            raise ListEndpointsMissing(self._missing[path])  # asked once; not again each level
        build_ahead(UnitsPage, RunsPage)
        first: list[tuple[list[Any], JsonFailed | None]] = []
        if path not in self._checked and chunks:
            items, failure = await self._pages(http, path, chunks[0], params)
            if failure is not None and failure.status in MISSING_ENDPOINT and not items:
                self._missing[path] = f"GET {path}: {failure.reason}"
                raise ListEndpointsMissing(self._missing[path])
            self._checked.add(path)
            first.append((items, failure))
        rest = await asyncio.gather(
            *(self._pages(http, path, chunk, params) for chunk in chunks[len(first) :])
        )
        return [(items, failure.reason if failure else None) for items, failure in (*first, *rest)]

    async def _pages(
        self, http: HttpSource, path: str, chunk: list[str], params: list[tuple[str, str]]
    ) -> tuple[list[Any], JsonFailed | None]:
        """Every item of every page for one chunk, and why the paging stopped short (or None)."""
        query = [*params, *(("serial_numbers", s) for s in chunk)]
        if path == UNITS_PATH:
            return await every_page(http, path, query, UnitsPage)  # each unit read by its chunk
        return await every_page(http, path, query, RunsPage, read_run)

    @property
    def has_histories(self) -> bool:
        """Whether the run list endpoint is known to be there: a request to it was answered
        (or failed) otherwise than as a missing endpoint would."""
        return RUNS_PATH in self._checked

    @property
    def without_histories(self) -> bool:
        """Whether the run list endpoint was found missing (said once, not asked again)."""
        return RUNS_PATH in self._missing

    def _key(self, kind: str) -> str:
        return f"{self.base_url.rstrip('/')}#{kind}"

    def _cached_rows(self, kind: str, serials: list[str]) -> dict[str, CachedRow]:
        """The fresh cached rows of those serials (by `fold(serial)`), none when refreshing."""
        if self.cache is None or self.refresh:
            return {}
        try:
            return self.cache.lookup_rows(
                self._key(kind), [s for s in serials if storable(s)], self.max_age
            )
        except sqlite3.Error as exc:
            self._drop_cache(exc)
            return {}

    def _store_rows(self, kind: str, rows: list[StoredRow]) -> None:
        """Every row of one answer in one transaction (the serials a cache can key)."""
        if self.cache is None or not rows:
            return
        try:
            self.cache.store_rows(self._key(kind), [row for row in rows if storable(row[0])])
        except sqlite3.Error as exc:
            self._drop_cache(exc)

    def _drop_cache(self, exc: sqlite3.Error) -> None:
        """A cache that fails mid-crawl (locked too long, disk full, another version's table)
        is dropped with one warning, as the per-unit path does."""
        if self.cache is not None:
            log.warning("cache %s failed (%s): continuing without it", self.cache.path, exc)
        self.cache = None


class UnitsPage(pydantic.BaseModel):
    """A page of `GET /v2/units` whose every item reads as a `ListedItem` as it stands."""

    model_config = pydantic.ConfigDict(defer_build=True)  # built when first used, not imported

    data: list[ListedItem]
    meta: PageMeta


class RunsPage(pydantic.BaseModel):
    """A page of `GET /v2/runs` whose every item reads as a `RunItem` as it stands."""

    model_config = pydantic.ConfigDict(defer_build=True)

    data: list[RunItem]
    meta: PageMeta


def _unit_row(serial: str, outcome: ListOutcome) -> StoredRow | None:
    """What the cache keeps of a listed unit: its item, or why it is not found; nothing of a
    unit that could not be read."""
    if isinstance(outcome, Listed):
        return serial, listed_item().dump_json(outcome.item).decode(), None, outcome.warnings
    if isinstance(outcome, NotFound):
        return serial, None, outcome.reason, ()
    return None


@functools.cache
def listed_item() -> pydantic.TypeAdapter[ListedItem]:
    """Reads and writes a listed unit as the cache keeps it (made on first use)."""
    return pydantic.TypeAdapter(ListedItem)


@functools.cache
def run_items() -> pydantic.TypeAdapter[list[RunItem]]:
    """Reads and writes a unit's runs as the cache keeps them (made on first use)."""
    return pydantic.TypeAdapter(list[RunItem])


def read_run(raw: Any) -> RunItem | None:
    """A run from a page not read whole: its malformed time, duration, procedure or station
    set to None; None for a run without a readable id, outcome or unit (it tells nothing)."""
    try:
        run = LenientRunDigest.model_validate(raw)
    except pydantic.ValidationError:
        return None
    return cast(RunItem, run.model_dump())


def history_batch(runs_each: float) -> int:
    """Serials per run-history request when units have `runs_each` runs on average: runs come
    100 to a page, so as many serials as fill about nine tenths of one page."""
    return max(1, min(PAGE_LIMIT, int(PAGE_FILL * PAGE_LIMIT / max(runs_each, 0.01))))


async def every_page(
    http: HttpSource,
    path: str,
    query: list[tuple[str, str]],
    fast: type[UnitsPage | RunsPage] | None = None,
    read: Callable[[Any], Any] | None = None,
) -> tuple[list[Any], JsonFailed | None]:
    """Every item of every page of `path?query`, following `next_cursor` while `has_more`,
    and why the paging stopped short (None when it did not).

    Items are the decoded JSON values, or what `read` makes of each (None: left out); with
    `fast`, those of a page that model reads whole are `Listed` units or `RunItem`s instead,
    read in one pass: the common case."""
    items: list[Any] = []
    cursor: int | None = None
    for _ in range(MAX_PAGES):
        answer = await http.get_json(
            path, query if cursor is None else [*query, ("cursor", str(cursor))], fast
        )
        if isinstance(answer, JsonFailed):
            return items, answer
        data, meta = _page(answer.data)
        if data is None or meta is None:
            return items, JsonFailed("answered 200 but not a page of the list endpoint")
        if read is not None and not isinstance(answer.data, UnitsPage | RunsPage):
            data = [item for item in map(read, data) if item is not None]
        items.extend(data)
        if not meta.has_more:
            return items, None
        if meta.next_cursor is None or (cursor is not None and meta.next_cursor <= cursor):
            return items, JsonFailed("the list endpoint's cursor did not advance")
        cursor = meta.next_cursor
    return items, JsonFailed(f"the list endpoint kept paging past {MAX_PAGES} pages")


def _page(data: Any) -> tuple[list[Any] | None, PageMeta | None]:
    if isinstance(data, UnitsPage):  # read whole, in one pass
        return [Listed(item) for item in data.data], data.meta
    if isinstance(data, RunsPage):
        return list(data.data), data.meta
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None, None
    try:
        return data["data"], PageMeta.model_validate(data.get("meta"))
    except pydantic.ValidationError:
        return None, None


def read_listed(raw: Any) -> tuple[str, ListOutcome] | None:
    """A list item as (its serial, outcome); None for an item whose serial cannot be read (a
    serial asked for then counts as absent)."""
    serial = raw.get("serial_number") if isinstance(raw, dict) else None
    if not isinstance(serial, str):
        return None
    try:
        item, warnings = read_record(ListedUnit, raw)
    except UnreadableRecord as exc:
        return serial, Failed(f"the list endpoint's item is not a unit: {exc}")
    return serial, Listed(cast(ListedItem, item.model_dump()), warnings=warnings)


def _run_order(run: RunItem) -> tuple[bool, float, str]:
    """Oldest first, by the moment each started (not its text: offsets differ); a run without
    a start time first, so it never passes for the latest."""
    started = run.get("started_at")
    return (started is not None, started.timestamp() if started else 0.0, run["id"])
