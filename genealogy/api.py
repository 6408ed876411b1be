"""The library's public functions, re-exported by `genealogy` (see its `__all__`).

A crawl gives a `networkx.DiGraph` (edge parent -> child, node key = serial number, node
attributes as `genealogy.nodes.NodeAttrs` describes); queries read the graph and return frozen
results with `.to_dict()`; renderers turn it into text, DOT, SVG, JSON, HTML and more.

>>> import genealogy
>>> graph = genealogy.from_records(genealogy.demo_records(), "cell-21700-c-0142")
>>> graph.graph["start"], graph.number_of_nodes()
('CELL-21700-C-0142', 80)
>>> [path.serials for path in genealogy.trace(graph, "CELL-21700-C-0142").paths]
[('CELL-21700-C-0142', 'MOD-16S-0313', 'ESS-R48-0007')]
>>> sorted({finding.severity for finding in genealogy.audit(graph).findings})
['error', 'info', 'warning']
>>> genealogy.summary(graph).units
80
>>> print(genealogy.render(graph, "text", depth=1))
ESS-R48-0007 ESS-R48 rev B PASS
├── BMS-R48-0031 BMS-ASSY rev C PASS
├── MOD-16S-0311 MOD-16S rev C PASS
├── MOD-16S-0312 MOD-16S rev C PASS
├── MOD-16S-0313 MOD-16S rev C PASS
├── MOD-16S-0314 MOD-16S rev C PASS
└── PDU-R48-0019 PDU-80A rev A PASS
<BLANKLINE>
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from genealogy.config import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_UNITS,
    default_cache_path,
)
from genealogy.errors import OutputError, UsageError
from genealogy.loop import run_sync

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.localserver import LocalTofuPilot
    from genealogy.queries import Audit, Summary, Trace, Traces
    from genealogy.runner import CrawlOptions

DirectionName = Literal["both", "up", "down"]


def crawl_options(
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    direction: DirectionName = "both",
    max_depth: int | None = None,
    max_units: int | None = DEFAULT_MAX_UNITS,
    concurrency: int = DEFAULT_CONCURRENCY,
    cache: bool | str | Path | None = None,
    max_age: float | None = 3600.0,
    refresh: bool = False,
    offline: bool = False,
    retries: int = 4,
    timeout: float = 30.0,
    rate: float | None = None,
    deadline: float | None = None,
    via: Literal["auto", "list", "get"] = "auto",
    history: bool = True,
) -> CrawlOptions:
    """The library's options as one object; the key and base URL default to the environment
    (`TOFUPILOT_API_KEY`, `TOFUPILOT_URL`) as in the official client."""
    from genealogy.crawler import Direction, Limits
    from genealogy.runner import CrawlOptions

    if direction not in ("both", "up", "down"):
        raise UsageError(f"direction must be 'both', 'up' or 'down', not {direction!r}")
    if cache is True:
        cache_path: Path | None = default_cache_path()
    elif cache is None or cache is False:
        cache_path = None
    else:
        cache_path = Path(cache)
    if offline and cache_path is None:
        raise UsageError("an offline crawl reads the cache: give cache=True or a cache path")
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    return CrawlOptions(
        base_url=base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL,
        api_key=key.strip() if key else None,
        direction=Direction(direction),
        limits=Limits(max_depth, max_units or None),  # 0: no limit, as on the command line
        concurrency=concurrency,
        retries=retries,
        timeout=timeout,
        rate=rate,
        deadline=deadline,
        via=via,
        history=history,
        cache_path=cache_path,
        max_age=max_age,
        refresh=refresh,
        offline=offline,
    )


def crawl(serial: str | Sequence[str], **options: Any) -> nx.DiGraph:
    """Crawl the assembly around `serial` from the TofuPilot API and return its graph; given
    several serial numbers, around all of them at once (each one's node has `start` set).

    Options (all keyword-only, see `crawl_options`): `base_url`, `api_key` (default: the
    `TOFUPILOT_URL` and `TOFUPILOT_API_KEY` environment variables), `direction` ("both",
    "up": what contains the unit, "down": what it is made of), `max_depth`, `max_units`
    (default 500,000), `concurrency` (16), `cache` (None: no cache; True: the user cache
    folder; or a file path), `max_age`, `refresh`, `offline`, `retries`, `timeout`, `rate`,
    `deadline` (seconds for the whole crawl), `via` ("auto": whole levels through the list
    endpoint, or one unit per request when the server has none; "list"; "get": one unit per
    request, which alone gives each unit's creating run) and `history` (fetch every unit's
    run history: `runs`, `run_count`, `latest_outcome`; default True).

    Works where an event loop already runs (Jupyter). Units that cannot be fetched are in
    the graph with `status` and `reason`; raises `StartNotFound`, `StartUnreachable`,
    `MissingApiKey`, `KeyRejected` or `Forbidden` when there is nothing to crawl.
    """
    from genealogy.graph import build_graph
    from genealogy.runner import run_crawl

    return build_graph(run_crawl(serial, _options(options)))


def _options(options: dict[str, Any]) -> CrawlOptions:
    try:
        return crawl_options(**options)
    except TypeError as exc:  # an option that does not exist
        raise UsageError(f"unknown crawl option: {exc}") from exc


async def acrawl(serial: str | Sequence[str], **options: Any) -> nx.DiGraph:
    """`crawl` for async code: the same options and result, on the running event loop."""
    from genealogy.graph import build_graph
    from genealogy.runner import crawl_async

    return build_graph(await crawl_async(serial, _options(options)))


def from_records(
    records: Iterable[Mapping[str, Any]],
    start: str,
    *,
    direction: DirectionName = "both",
    max_depth: int | None = None,
    max_units: int | None = DEFAULT_MAX_UNITS,
) -> nx.DiGraph:
    """The graph a crawl from `start` would give, built from unit records held in memory
    (each in the `GET /v2/units/{serial}` shape): for notebooks, tests and benchmarks.

    A serial no record has is `not_found`; a record that cannot be read is `error`.
    """
    from genealogy.crawler import Crawler, Direction, Limits
    from genealogy.graph import build_graph
    from genealogy.sources.memory import MemorySource

    if direction not in ("both", "up", "down"):
        raise UsageError(f"direction must be 'both', 'up' or 'down', not {direction!r}")
    source = MemorySource(records)
    crawler = Crawler(
        source, direction=Direction(direction), limits=Limits(max_depth, max_units or None)
    )
    return build_graph(run_sync(lambda: crawler.crawl(start)))


def trace(graph: nx.DiGraph, serial: str, *, problems: bool = False) -> Trace:
    """Every path from `serial` up to the top-level assemblies that contain it, with the
    cycles, self-parents and contradicting parent records on them; with `problems`, also the
    failed, errored and missing units inside those assemblies, grouped by kind (as far as
    `graph` holds them: `.problems.unexplored` counts what it does not). Raises
    `UnknownSerial` if `serial` is not in `graph`."""
    from genealogy.queries import trace as trace_query

    return trace_query(graph, _node_of(graph, serial), problems=problems)


def trace_many(graph: nx.DiGraph, serials: Iterable[str], *, problems: bool = False) -> Traces:
    """`trace` for several units at once (`.traces`, one per serial found; `.not_found`),
    and the top-level assemblies that contain several of them (`.shared`). Crawl them
    together first: `crawl([sn1, sn2], direction="up")`."""
    from genealogy.queries import trace_many as trace_many_query

    if isinstance(serials, str):
        serials = (serials,)
    return trace_many_query(graph, [_node_of(graph, s) for s in serials], problems=problems)


def _node_of(graph: nx.DiGraph, serial: str) -> str:
    """The node for `serial`: the service matches serials case-insensitively, so do we."""
    from genealogy.matching import fold

    if serial in graph:
        return serial
    return next((node for node in graph if fold(node) == fold(serial)), serial)


def audit(graph: nx.DiGraph) -> Audit:
    """The creation timeline and the traceability findings (`.findings`, each with `.code`,
    `.severity`, `.serials` and `.message`)."""
    from genealogy.queries import audit as audit_query

    return audit_query(graph)


def summary(graph: nx.DiGraph) -> Summary:
    """Counts by part, revision, outcome and status; depth; widest fan-out; findings."""
    from genealogy.queries import audit as audit_query
    from genealogy.queries import summarise

    return summarise(graph, len(audit_query(graph).findings))


def render(graph: nx.DiGraph, fmt: str = "text", **options: Any) -> str | bytes:
    """The graph in format `fmt` (`genealogy.formats.FORMATS`: text, json, dot, svg, png,
    pdf, mermaid, graphml, csv, html). Options: `charset` ("unicode" or "ascii"), `depth`
    (levels below the top-level assemblies, every format), `color`, for html `audit`
    (default: `audit(graph)`), and for diagrams `group` (default True: identical sibling
    leaves as one box, above 100 units) and `force` (default False: an unreadable drawing,
    or a Mermaid source over 50,000 characters, raises `DiagramTooLarge`)."""
    from genealogy.renderers import RenderOptions
    from genealogy.renderers import render as render_format

    if fmt == "html" and options.get("audit") is None:
        options["audit"] = audit(graph)
    try:
        render_options = RenderOptions(**options)
    except TypeError as exc:
        raise UsageError(f"unknown render option: {exc}") from exc
    return render_format(graph, fmt, render_options)


def write(graph: nx.DiGraph, path: str | Path, fmt: str | None = None, **options: Any) -> None:
    """Render the graph into `path` ("-" is stdout), in `fmt` or the one its extension names;
    a regular file is replaced whole or not at all. Raises `OutputError`."""
    from genealogy.formats import format_for
    from genealogy.output import write as write_output

    chosen = format_for(str(path), fmt)
    if chosen is None:
        raise UsageError(f"cannot tell the format from {str(path)!r}: pass fmt")
    write_output(render(graph, chosen, **options), str(path))


def load(path: str | Path) -> nx.DiGraph:
    """A graph written as JSON (`write(graph, "x.json")`), with every attribute."""
    from genealogy.renderers.json import load as load_json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # not UTF-8: not a JSON export
        raise UsageError(f"{path} is not a genealogy JSON export: {exc}") from exc
    try:
        return load_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not a genealogy JSON export: {exc}") from exc


def demo_records() -> list[dict[str, Any]]:
    """The bundled demo factory's unit records: a 48 V battery rack of 79 units."""
    from genealogy.datasets import factory

    return factory()


def _demo_data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from genealogy.datasets import demo_data

    units, runs = demo_data()
    return units, runs


@contextlib.contextmanager
def local_server(
    records: Iterable[Mapping[str, Any]] | None = None,
    *,
    runs: Iterable[Mapping[str, Any]] | None = None,
    api_key: str = "demo-key",
    port: int = 0,
    latency: float = 0.0,
) -> Iterator[LocalTofuPilot]:
    """A local TofuPilot-compatible server on 127.0.0.1 serving unit `records` and `runs`
    (`GET /v2/runs` items; default: each unit's creating run) — by default the demo factory
    and its run histories — for trying the library without an account; `.url` and
    `.api_key` to crawl it."""
    from genealogy.localserver import LocalTofuPilot

    if records is None:
        records, runs = _demo_data()
    with LocalTofuPilot(records, runs=runs, api_key=api_key, port=port, latency=latency) as s:
        yield s
