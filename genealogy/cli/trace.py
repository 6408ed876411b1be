"""`genealogy trace`: which products contain these units, and by which paths.

Up first: the units and their ancestors only, a whole level per request through the list
endpoint (a cell deep in a 5,000-unit product costs a few requests, not 5,000). `--problems`
then crawls the top-level assemblies reached in full, down and batched, to list what is wrong
inside them. Several serial numbers are crawled up together, level by level.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from genealogy.cli import signals
from genealogy.cli.commands import (
    as_json,
    as_lines,
    crawl_context,
    errors_reported_by,
    filtered_view,
    finish,
    import_ahead,
    main,
    setup_logging,
    write_output,
)
from genealogy.cli.params import (
    CONNECTION_OPTIONS,
    CRAWL_OPTIONS,
    CrawlArgs,
    ViewArgs,
    grouped,
    make_crawl_args,
    output_option,
    report_format_option,
    view_arguments,
)
from genealogy.errors import ExitCode
from genealogy.text import clip, printable

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.crawler import CrawlResult
    from genealogy.queries import Trace, Traces
    from genealogy.sources import Counters


@dataclass(frozen=True)
class TraceArgs:
    """The serial numbers to trace, and how to crawl (`crawl.serial` is the first of them)."""

    serials: tuple[str, ...]
    crawl: CrawlArgs
    problems: bool


def _serials_in(path: str) -> list[str]:
    """One serial number a line; blank lines and `#` comments skipped; `-` is stdin."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise click.UsageError(f"--from-file {printable(path)}: cannot read it: {why}") from error
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _trace_args(**values: Any) -> TraceArgs:
    serials = list(values.pop("serials"))
    from_file = values.pop("from_file")
    if from_file is not None:
        serials.extend(_serials_in(from_file))
    if not serials:
        raise click.UsageError("Nothing to trace: give serial numbers, or --from-file FILE.")
    if any(not serial.strip() for serial in serials):
        raise click.UsageError("An empty serial number was given.")
    unique = _once_each(serials)
    _refuse_unrequestable(unique, values["base_url"])
    up, down = values.pop("up"), values.pop("down")
    if up and down:
        raise click.UsageError("--up and --down exclude each other: --down crawls both ways.")
    problems = values.pop("problems")
    crawl = make_crawl_args(serial=serials[0], up=False, down=False, **values)
    shape = dataclasses.replace(crawl.shape, direction="both" if down else "up")
    crawl = dataclasses.replace(crawl, shape=shape)
    return TraceArgs(unique, crawl, problems)


def _once_each(serials: list[str]) -> tuple[str, ...]:
    """Each serial once, as the crawl matches them (case folded), in the first spelling."""
    from genealogy.matching import fold

    first: dict[str, str] = {}
    for serial in serials:
        first.setdefault(fold(serial), serial)
    return tuple(first.values())


def _refuse_unrequestable(serials: Sequence[str], base_url: str) -> None:
    """A usage error naming every serial no request can carry (too long for a URL, not
    Unicode text), whether given alone or among others: never crawled, never a 'top'."""
    from genealogy.sources.listing import refusal

    refused = [(serial, why) for serial in serials if (why := refusal(serial, base_url))]
    if not refused:
        return
    lines = [f"  {printable(clip(serial, 40))}: {why}" for serial, why in refused[:5]]
    if len(refused) > 5:
        lines.append(f"  and {len(refused) - 5:,} more")
    noun = "serial number" if len(refused) == 1 else f"{len(refused):,} serial numbers"
    raise click.UsageError(
        f"{noun.capitalize()} cannot be requested; correct or remove "
        f"{'it' if len(refused) == 1 else 'them'}:\n" + "\n".join(lines)
    )


trace_arguments = grouped(
    "trace",
    _trace_args,
    [
        click.argument("serials", nargs=-1, metavar="[SERIAL]..."),
        click.option(
            "--from-file",
            metavar="FILE",
            help="Serial numbers to trace, one a line ('-': stdin); blank lines and lines "
            "starting with # are skipped.",
        ),
        click.option(
            "--problems",
            is_flag=True,
            help="Also crawl the top-level assemblies reached in full (down, batched) and list "
            "the failed, errored and missing units inside them, grouped by kind.",
        ),
        *CONNECTION_OPTIONS,
        click.option(
            "--up", is_flag=True, help="Crawl only up from the units (the default)."
        ),
        click.option(
            "--down",
            is_flag=True,
            help="Crawl both ways from the units, as a tree export does: more paths when "
            "records contradict each other, at the cost of the whole assembly.",
        ),
        *CRAWL_OPTIONS,
    ],
)


def _trace_context(kwargs: dict[str, Any]) -> tuple[str | None, bool]:
    args: TraceArgs | None = kwargs.get("trace")
    return crawl_context({"crawl": args.crawl if args else None})


@main.command("trace")
@trace_arguments
@view_arguments
@output_option
@report_format_option
@click.option(
    "--charset",
    type=click.Choice(["unicode", "ascii"]),
    default="unicode",
    show_default=True,
    help="Drawing characters of the text output.",
)
@errors_reported_by(_trace_context)
def trace_command(
    trace: TraceArgs, view: ViewArgs, output: str, fmt: str, charset: str
) -> None:
    """Every path from each SERIAL up to the top-level assemblies that contain it, like
    `npm explain`; several serial numbers at once, and the products they share.

    \b
    Crawls up only: each unit and its ancestors, a whole level per request, then one
    request for all their run histories (a cell five levels deep takes six requests,
    however large its product). Each step shows part, revision,
    batch, outcome (the latest run's), and the procedure, station and date of the latest
    run (of the creating run without a run history), as far as they are known.

    \b
    Flags on the paths what is wrong with the structure: a cycle (units containing each
    other), a self-parent (a unit naming itself as its parent: not a top-level assembly),
    and parent records that contradict each other (two units claim it, or its record names
    a parent that does not list it). A unit that lists it while its record names another
    parent is seen only when that unit is crawled: --problems or --down.

    \b
    --problems crawls the top-level assemblies reached in full (down, batched; --max-units
    applies) and lists their failed, errored, missing and unfetched units grouped by kind
    with counts, the worst first, and how many units were not looked at; -v lists every
    unit with its path. --outcome and --part narrow that list (they need --problems).
    Without --problems, no problem list: a line says --problems exists.

    \b
    -f json: one SERIAL gives {"serial", "tops", "reached", "paths": [{"end", "steps",
    "flags"}], "flags", "problems"}; several give {"serials", "tops", "traces": [...],
    "not_found",
    "shared": [{"top", "contains"}], "problems"}. "problems" is null without --problems
    (and when the run was interrupted before they were looked at: "problems_interrupted"
    is then true), else {"tops", "count", "by_kind", "groups": [{"kind", "count", "units"}],
    "units_looked_at", "unexplored", "omitted_paths"}.

    \b
    Exit codes: 0 traced; 2 a serial number no request can carry (too long for a URL), named
    before anything is crawled; 3 some units could not be fetched; 4 a serial number given
    was not found (the others are still traced and written; only one serial, or none found:
    nothing is written, and the error names each); 8 not one of them could be fetched.
    Serials differing only in case are traced once, as first spelled.
    """
    from genealogy.queries import trace_many

    if view.active and not trace.problems:
        raise click.UsageError(
            f"{view.described()} narrows the problem list: add --problems to list them."
        )
    crawl = trace.crawl
    up_result, up_graph, counters, prefetch = _crawl_up(trace)
    found = trace_many(up_graph, up_result.starts or trace.serials)
    result, graph = up_result, up_graph
    if trace.problems and not up_result.interrupted:
        result, graph, found = _look_inside(trace, view, found, up_result, up_graph, counters)
    elif trace.problems:  # Ctrl-C or SIGTERM during the crawl up: no crawl down
        found = dataclasses.replace(found, problems_interrupted=True)
    signals.hold()  # the crawl is over: from here until it is written, the output comes first
    prefetch.join()
    _write_report(found, output, fmt, charset, verbose=crawl.reporting.verbose > 0)
    why = _not_found(found.not_found)
    finish(result, graph, crawl, failing=why, failing_code=ExitCode.START_NOT_FOUND)


def _look_inside(
    trace: TraceArgs,
    view: ViewArgs,
    found: Traces,
    up_result: CrawlResult,
    up_graph: nx.DiGraph,
    counters: Counters,
) -> tuple[CrawlResult, nx.DiGraph, Traces]:
    """--problems: crawl down from the units the paths reached, then trace again over both
    crawls (a unit listing a traced one is now known) and list the problems under them."""
    from genealogy.queries import trace_many
    from genealogy.queries.trace import problems_under, tops_to_crawl

    tops = tops_to_crawl(found)
    if not tops:  # no path reached a unit that was fetched: nothing to crawl down from
        return up_result, up_graph, dataclasses.replace(
            found, problems=problems_under(up_graph, found.reached)
        )
    down_result, down_graph = _crawl_down(trace, tops, counters)
    result = _combined(up_result, down_result)
    graph = _merged(up_graph, down_graph)
    graph.graph["stats"] = {
        "units": graph.number_of_nodes(),
        "requests": counters.requests,
        "retries": counters.retries,
        "cache_hits": counters.cache_hits,
        "seconds": round(result.seconds, 3),
    }
    only = None
    if view.active:
        only = frozenset(filtered_view(down_graph, view, trace.crawl).graph["filter"]["matched"])
    found = trace_many(graph, found.serials)
    report = problems_under(graph, found.reached, only=only)
    return result, graph, dataclasses.replace(found, problems=report)


def _not_found(missing: tuple[str, ...]) -> str | None:
    """Why the exit code is 4 although the others were traced, or None."""
    if not missing:
        return None
    names = ", ".join(printable(serial) for serial in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    noun = "serial number was" if len(missing) == 1 else "serial numbers were"
    return f"{len(missing)} {noun} not found: {names}{more}; check them"


def _write_report(found: Traces, output: str, fmt: str, charset: str, *, verbose: bool) -> None:
    from genealogy.queries import format_trace

    report: Trace | Traces = found
    if len(found.serials) == 1 and found.traces:
        report = dataclasses.replace(
            found.traces[0],
            problems=found.problems,
            problems_interrupted=found.problems_interrupted,
        )
    if fmt == "json":
        write_output(as_json(report.to_dict()), output, is_json=True)
    else:
        text = format_trace(
            report, charset="ascii" if charset == "ascii" else "unicode", verbose=verbose
        )
        write_output(as_lines(text), output)


def _crawl_up(
    trace: TraceArgs,
) -> tuple[CrawlResult, nx.DiGraph, Counters, threading.Thread]:
    """The first crawl: up from every serial at once. Errors propagate (GenealogyError)."""
    from genealogy.progress import Progress
    from genealogy.runner import run_crawl
    from genealogy.sources import Counters

    modules = ("genealogy.graph", "genealogy.queries", "genealogy.queries.trace_text")
    prefetch = threading.Thread(target=import_ahead, args=modules, daemon=True)
    prefetch.start()
    reporting = trace.crawl.reporting
    setup_logging(reporting.verbose, reporting.debug)
    signals.install()
    counters = Counters()
    progress = Progress(counters, enabled=None if not reporting.quiet else False)
    try:
        result = run_crawl(trace.serials, trace.crawl.options(), progress.update, counters)
    finally:
        progress.finish()
    from genealogy.graph import build_graph

    return result, build_graph(result), counters, prefetch


def _crawl_down(
    trace: TraceArgs, tops: list[str], counters: Counters
) -> tuple[CrawlResult, nx.DiGraph]:
    """The second crawl, for --problems: down from the tops found, all at once, without run
    histories (the list gives each unit's latest outcome); --max-units applies, the depth
    limit (counted from the traced units) does not."""
    from genealogy.crawler import Direction, Limits
    from genealogy.graph import build_graph
    from genealogy.progress import Progress
    from genealogy.runner import run_crawl

    options = dataclasses.replace(
        trace.crawl.options(),
        direction=Direction.DOWN,
        limits=Limits(None, trace.crawl.shape.max_units),
        history=False,
    )
    progress = Progress(counters, enabled=None if not trace.crawl.reporting.quiet else False)
    try:
        result = run_crawl(tops, options, progress.update, counters)
    finally:
        progress.finish()
    return result, build_graph(result)


def _combined(up: CrawlResult, down: CrawlResult) -> CrawlResult:
    """Both crawls as one, for the summary and the exit code (their counters are shared)."""
    from genealogy.crawler import CrawlResult

    return CrawlResult(
        up.start,
        up.direction,
        {**down.units, **up.units},
        up.counters,
        seconds=up.seconds + down.seconds,
        interrupted=up.interrupted or down.interrupted,
        limits=down.limits,
        starts=up.starts,
    )


def _merged(up: nx.DiGraph, down: nx.DiGraph) -> nx.DiGraph:
    """The units of both crawls; a unit in both keeps what the crawl up learned (its run
    history, `start`) unless only the crawl down fetched it, and gains the links the crawl
    down found."""
    import networkx as nx

    merged = nx.compose(down, up)
    merged.graph.update(up.graph, direction="both")  # the units under the tops were read too
    for node, attrs in down.nodes(data=True):
        if attrs.get("status") == "ok" and up.nodes.get(node, attrs).get("status") != "ok":
            merged.nodes[node].clear()
            merged.nodes[node].update(attrs)
    return merged

