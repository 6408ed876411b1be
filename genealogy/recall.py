"""Recall scope: a supplier lot (or part, or unit) is bad; which of our products contain it?

`where_used(batch=..., part=..., revision=..., serials=...)` asks the list endpoint for every
matching unit, then crawls *up* from all of them at once, one level per round of batched list
requests (each level: the parents of the level before), and answers with
`genealogy.queries.where_used.WhereUsed`: the top-level products with the paths down to the
matching units they contain, the matching units installed in nothing, and the paths that could
not be followed up.

Matching units:

- `batch`, `part` and `revision` are filters of one query, `GET /v2/units?batch_numbers=B&
  part_numbers=P&revision_numbers=R` (the filters given, combined with AND, matched by the
  service without regard to case), paged 100 at a time with the cursor until `has_more` is
  false; `revision` narrows `part` and needs it;
- `serials` are units of their own, added to those (OR): `GET /v2/units?serial_numbers=...`,
  100 a request. A serial no unit has is listed as `unknown`.

A unit with no parent is a top-level unit. Serials are matched case-insensitively all the way
(a parent named in another case than its record is the same unit). Nothing is cached: a recall
asks the service as it is now.

Requests: one page per 100 matching units, then one list request per 100 units of each level
above (a batch of cells in modules in racks: the cells' pages, one request for their modules,
one for the racks). A server without the list endpoints cannot answer this: `StartUnreachable`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from genealogy.attributes import listed_attributes
from genealogy.errors import StartUnreachable, UsageError
from genealogy.loop import run_sync
from genealogy.matching import fold
from genealogy.nodes import Status
from genealogy.sources import Counters, Failed, NotFound
from genealogy.sources.listing import (
    MISSING_ENDPOINT,
    PAGE_LIMIT,
    UNITS_PATH,
    Listed,
    ListEndpointsMissing,
    ListOutcome,
    ListSource,
    every_page,
    read_listed,
)
from genealogy.sources.probe import check_base_url

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.queries.where_used import WhereUsed
    from genealogy.runner import CrawlOptions

NO_LIST_ENDPOINT = (
    "where-used needs the list endpoint GET /v2/units, which this server does not have"
)


@dataclass(frozen=True)
class Criteria:
    """What makes a unit match: filters (AND) and serial numbers (OR with the filters)."""

    batch: str | None = None
    part: str | None = None
    revision: str | None = None
    serials: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("batch", "part", "revision"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise UsageError(f"{name} must be a non-empty text, not {value!r}")
        if isinstance(self.serials, str):
            raise UsageError("serials must be a list of serial numbers, not one text")
        for serial in self.serials:
            if not isinstance(serial, str) or not serial.strip():
                raise UsageError(f"a serial number must be a non-empty text, not {serial!r}")
        if self.revision is not None and self.part is None:
            raise UsageError("a revision narrows a part number: give the part too")
        if not self.filtered and not self.serials:
            raise UsageError("nothing to look for: give a batch, a part or serial numbers")

    @property
    def filtered(self) -> bool:
        return self.batch is not None or self.part is not None

    def params(self) -> list[tuple[str, str]]:
        """The list endpoint's filters for `batch`, `part` and `revision`."""
        given = (
            ("batch_numbers", self.batch),
            ("part_numbers", self.part),
            ("revision_numbers", self.revision),
        )
        return [(name, value) for name, value in given if value is not None]

    def described(self) -> str:
        """In command-line words: `--batch CELL-LOT-2604 SN-1 SN-2`."""
        words = [
            f"--{name} {value}"
            for name, value in (
                ("batch", self.batch),
                ("part", self.part),
                ("revision", self.revision),
            )
            if value is not None
        ]
        shown_serials = list(self.serials[:5])
        if len(self.serials) > 5:
            shown_serials.append(f"and {len(self.serials) - 5} more")
        return " ".join(words + shown_serials)


@dataclass(frozen=True)
class Found:
    """What the fetch learned: the upward graph, the matching units and the cost."""

    graph: nx.DiGraph
    """Edge parent -> child; node key = serial as the record spells it; node attributes as a
    crawl by the list endpoint gives them (`status`, `reason`, `part_number`, `revision`,
    `batch`, `latest_outcome`, `parent_serial`...) and `matched` (True for matching units)."""
    matches: tuple[str, ...]
    unknown: tuple[str, ...]  # serial numbers asked for that no unit has
    requests: int
    retries: int
    seconds: float

    @property
    def failed(self) -> list[str]:
        """Units whose record could not be fetched (network, server errors)."""
        return sorted(
            node for node, attrs in self.graph.nodes(data=True) if attrs["status"] == Status.ERROR
        )


class _Units:
    """The units learned so far, keyed by `fold(serial)`: node key and attributes."""

    def __init__(self) -> None:
        self.nodes: dict[str, tuple[str, dict[str, Any]]] = {}

    def __contains__(self, serial: str) -> bool:
        return fold(serial) in self.nodes

    def add(self, serial: str, outcome: ListOutcome, *, matched: bool = False) -> None:
        key = fold(serial)
        if key in self.nodes:
            if matched:
                self.nodes[key][1]["matched"] = True
            return
        if isinstance(outcome, Listed):
            name = outcome.item["serial_number"]
            attrs: dict[str, Any] = {"status": str(Status.OK), "reason": None}
            attrs |= listed_attributes(outcome.item, name, outcome.warnings)
        else:
            name = serial
            status = Status.NOT_FOUND if isinstance(outcome, NotFound) else Status.ERROR
            attrs = {"status": str(status), "reason": outcome.reason}
        attrs["matched"] = matched
        self.nodes[key] = (name, attrs)

    def parents_to_fetch(self) -> list[str]:
        """Parents named by units learned so far that are not learned yet, once each."""
        wanted: dict[str, str] = {}
        for _, attrs in self.nodes.values():
            parent = attrs.get("parent_serial")
            if isinstance(parent, str) and fold(parent) not in self.nodes:
                wanted.setdefault(fold(parent), parent)
        return list(wanted.values())

    def graph(self) -> nx.DiGraph:
        import networkx as nx

        graph = nx.DiGraph()
        for name, attrs in sorted(self.nodes.values(), key=lambda node: node[0]):
            graph.add_node(name, **attrs)
        for name, attrs in self.nodes.values():
            parent = attrs.get("parent_serial")
            if isinstance(parent, str):
                known = self.nodes.get(fold(parent))
                if known is not None:
                    attrs["parent_serial"] = known[0]  # spelled as the node it leads to
                    graph.add_edge(known[0], name)
        return graph


async def fetch_where_used(
    criteria: Criteria, options: CrawlOptions, counters: Counters | None = None
) -> Found:
    """List the matching units, then crawl up from all of them, a level per round of requests.

    Raises `MissingApiKey`, `KeyRejected`, `Forbidden`, or `StartUnreachable` when the matching
    units cannot be listed (no list endpoint, network or server errors after the retries). A
    parent that cannot be fetched is a node with status `error` (or `not_found`) and a reason.
    """
    from genealogy.runner import open_sources

    counters = counters or Counters()
    began = time.perf_counter()
    units = _Units()
    unknown: list[str] = []
    async with open_sources(options, counters) as sources:
        listing = sources.listing
        if listing.http is None:
            raise UsageError("where-used asks the service as it is now: it cannot run offline")
        try:
            if criteria.filtered:
                for serial, outcome in await _matching(listing, criteria):
                    units.add(serial, outcome, matched=True)
            if criteria.serials:
                answers = await listing.units(criteria.serials)
                for serial in dict.fromkeys(criteria.serials):
                    outcome = answers.get(fold(serial)) or Failed("no answer for it")
                    if isinstance(outcome, NotFound):
                        unknown.append(serial)
                    else:
                        units.add(serial, outcome, matched=True)
            _check_reachable(units, criteria)
            while wanted := units.parents_to_fetch():
                answers = await listing.units(wanted)
                for serial in wanted:
                    units.add(serial, answers.get(fold(serial)) or Failed("no answer for it"))
        except ListEndpointsMissing as missing:
            await check_base_url(listing.http, options.base_url, _any_serial(criteria), missing)
            raise StartUnreachable(f"{NO_LIST_ENDPOINT} ({missing}).") from missing
        except StartUnreachable as failed:
            await check_base_url(listing.http, options.base_url, _any_serial(criteria), failed)
            raise
    graph = units.graph()
    matches = tuple(sorted(node for node, matched in graph.nodes(data="matched") if matched))
    return Found(
        graph=graph,
        matches=matches,
        unknown=tuple(unknown),
        requests=counters.requests,
        retries=counters.retries,
        seconds=time.perf_counter() - began,
    )


def _any_serial(criteria: Criteria) -> str:
    """A serial number to ask the unit route about when checking the base URL."""
    return criteria.serials[0] if criteria.serials else "-"


def _check_reachable(units: _Units, criteria: Criteria) -> None:
    """Serial numbers alone, and not one of them fetched: the service could not be asked."""
    states = [attrs["status"] for _, attrs in units.nodes.values()]
    if states and all(status == Status.ERROR for status in states) and not criteria.filtered:
        reasons = {attrs["reason"] for _, attrs in units.nodes.values()}
        raise StartUnreachable(
            f"Could not fetch the units asked for: {'; '.join(sorted(reasons))}."
        )


async def _matching(listing: ListSource, criteria: Criteria) -> list[tuple[str, ListOutcome]]:
    """Every unit the filters match, through every page, once each (by `fold(serial)`)."""
    http = listing.http
    assert http is not None, "checked by the caller"
    query = [("limit", str(PAGE_LIMIT)), *criteria.params()]
    items, failure = await every_page(http, UNITS_PATH, query)
    if failure is not None:
        if failure.status in MISSING_ENDPOINT and not items:
            raise StartUnreachable(f"{NO_LIST_ENDPOINT} (GET {UNITS_PATH}: {failure.reason}).")
        raise StartUnreachable(
            f"Could not list the units matching {criteria.described()}: {failure.reason}."
        )
    found: dict[str, tuple[str, ListOutcome]] = {}
    for raw in items:
        read = read_listed(raw)
        if read is not None and read[0]:  # an empty serial says nothing
            found.setdefault(fold(read[0]), read)
    return list(found.values())


def fetch_where_used_sync(
    criteria: Criteria, options: CrawlOptions, counters: Counters | None = None
) -> Found:
    """`fetch_where_used` from synchronous code (also inside a running event loop)."""
    return run_sync(lambda: fetch_where_used(criteria, options, counters))


def _prepare(
    batch: str | None,
    part: str | None,
    revision: str | None,
    serials: Iterable[str],
    options: dict[str, Any],
) -> tuple[Criteria, CrawlOptions]:
    from genealogy.api import crawl_options

    if isinstance(serials, str):
        serials = (serials,)
    criteria = Criteria(batch, part, revision, tuple(serials))
    unknown = set(options) - set(CONNECTION_OPTIONS)
    if unknown:
        raise UsageError(f"unknown where_used option: {', '.join(sorted(unknown))}")
    return criteria, crawl_options(**options, via="list", history=False)


CONNECTION_OPTIONS = (
    "base_url",
    "api_key",
    "concurrency",
    "retries",
    "timeout",
    "rate",
    "deadline",
)
"""The keyword options of `where_used` beyond what to look for (see `genealogy.crawl`)."""


def where_used(
    *,
    batch: str | None = None,
    part: str | None = None,
    revision: str | None = None,
    serials: Sequence[str] = (),
    **options: Any,
) -> WhereUsed:
    """Which top-level products contain the units of `batch` (and/or `part`, narrowed by
    `revision`), or the units `serials`; matched without regard to case, as the service does.

    Options, keyword-only: `base_url`, `api_key` (default: `TOFUPILOT_URL`,
    `TOFUPILOT_API_KEY`), `concurrency`, `retries`, `timeout`, `rate`, `deadline`. Returns a
    `WhereUsed` (`.products`, each with `.contains` and `.paths`; `.not_installed`;
    `.unresolved`; `.to_dict()`). Raises `UsageError` when nothing is asked for,
    `MissingApiKey`, `KeyRejected`, `Forbidden`, or `StartUnreachable`.
    """
    from genealogy.queries.where_used import where_used as where_used_query

    criteria, crawl = _prepare(batch, part, revision, serials, options)
    found = fetch_where_used_sync(criteria, crawl)
    return where_used_query(found.graph, found.matches, unknown=found.unknown)


async def awhere_used(
    *,
    batch: str | None = None,
    part: str | None = None,
    revision: str | None = None,
    serials: Sequence[str] = (),
    **options: Any,
) -> WhereUsed:
    """`where_used` for async code: the same arguments and result, on the running loop."""
    from genealogy.queries.where_used import where_used as where_used_query

    criteria, crawl = _prepare(batch, part, revision, serials, options)
    found = await fetch_where_used(criteria, crawl)
    return where_used_query(found.graph, found.matches, unknown=found.unknown)
