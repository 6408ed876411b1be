"""`genealogy diff`: is this unit built like its golden sample, or like another unit?"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

import click

from genealogy.cli import signals
from genealogy.cli.commands import (
    as_json,
    as_lines,
    main,
    render_options,
    reports_errors,
    setup_logging,
    unknown_extension,
    write_output,
)
from genealogy.cli.params import CrawlArgs, crawl_arguments, output_option
from genealogy.errors import ExitCode
from genealogy.formats import FORMATS, format_for
from genealogy.text import printable

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.crawler import CrawlResult
    from genealogy.golden import Pair
    from genealogy.queries import Audit
    from genealogy.queries.audit import Severity
    from genealogy.queries.diff import Diff

REPORTS = ("text", "json")
DRAWINGS = ("dot", "svg", "png", "pdf", "html")
"""The graph formats that can show the compared unit's tree with the differing units marked."""


@main.command("diff")
@crawl_arguments
@click.option("--against", metavar="OTHER", help="Compare with this unit (serial, any case).")
@click.option(
    "--golden", is_flag=True, help="Compare with the newest golden sample of SERIAL's part."
)
@click.option(
    "--outcomes", is_flag=True, help="Also report aligned units whose latest outcome differs."
)
@click.option(
    "--unfetched", is_flag=True, help="Also report units that could not be fetched (not compared)."
)
@click.option(
    "--exit-code",
    "exit_code",
    is_flag=True,
    help="Exit with code 11 when there are differences (like `git diff --exit-code`), and 3 "
    "when none was found but some units could not be compared.",
)
@output_option
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice([*REPORTS, *DRAWINGS]),
    help="text or json: the differences; dot, svg, png, pdf, html: SERIAL's tree with the "
    "differing units marked  [default: from the file extension; text on stdout]",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text lines; auto: on a terminal, unless NO_COLOR is set.",
)
@reports_errors
def diff_command(
    crawl: CrawlArgs,
    against: str | None,
    golden: bool,
    outcomes: bool,
    unfetched: bool,
    exit_code: bool,
    output: str,
    fmt: str | None,
    color: str,
) -> None:
    """Compare the assembly of SERIAL with a reference: --golden (the newest golden sample of
    its part) or --against OTHER. Like `diff`: what the reference has and SERIAL lacks (-),
    what SERIAL has in addition (+), a part on another revision (~).

    \b
    Both trees are crawled down. From the two top units, the children of aligned units are
    matched by part number (any case), then on the same revision first, then in order of
    serial number. Each difference names the parts from the top down to where it occurs and
    SERIAL's units involved; identical ones are counted on one line. Serial numbers and
    batches are never differences.

    \b
    -f json: {"unit", "reference", "identical", "counts", "differences": [{"kind", "path",
    "part_number", "expected", "actual", "count", "serials", "reference_serials"}], ...}
    -o tree.svg (or .dot, .html, .png, .pdf): SERIAL's tree, the differing units marked.

    Exit code 0 with or without differences; with --exit-code, 11 when there are any (before
    3), and 3 when none was found but units could not be compared (an error, or a limit of
    the crawl). 4 when a unit, or a golden sample of the part, does not exist; 3 when units
    could not be fetched.
    """
    if (against is None) == (not golden):
        raise click.UsageError("Give one reference: --golden, or --against OTHER.")
    if against is not None and not against.strip():
        raise click.UsageError("--against is empty.")
    if crawl.shape.direction == "up":
        raise click.UsageError("diff compares what the units are made of: --up does not apply.")
    chosen = format_for(output, fmt) or unknown_extension(output)
    if chosen not in (*REPORTS, *DRAWINGS):
        shown = ", ".join((*REPORTS, *DRAWINGS))
        raise click.UsageError(f"diff writes {shown}, not {chosen}: choose another -o or -f.")
    if FORMATS[chosen].binary and output == "-" and sys.stdout.isatty():
        raise click.UsageError(f"{chosen.upper()} is binary: write it to a file with -o.")
    if FORMATS[chosen].needs_graphviz:
        from genealogy.renderers.svg import check_available

        check_available()
    began = time.perf_counter()
    pair = _fetch(crawl, against, golden)
    seconds = time.perf_counter() - began
    signals.hold()  # both crawls are in: from here until it is written, the output comes first
    from genealogy.golden import compare_pair, kinds_for

    result, graph = compare_pair(pair, kinds_for(outcomes, unfetched))
    _write_result(result, graph, chosen, output, color)
    wrote = None if output == "-" else f"{output} ({chosen})"
    _finish(pair, result, crawl, exit_code=exit_code, wrote=wrote, seconds=seconds)


def _fetch(crawl: CrawlArgs, against: str | None, golden: bool) -> Pair:
    from genealogy.golden import fetch_pair
    from genealogy.loop import run_sync
    from genealogy.progress import Progress
    from genealogy.sources import Counters

    setup_logging(crawl.reporting.verbose, crawl.reporting.debug)
    signals.install()
    counters = Counters()
    progress = Progress(counters, enabled=None if not crawl.reporting.quiet else False)
    try:
        return run_sync(
            lambda: fetch_pair(
                crawl.serial,
                crawl.options(),
                against=against,
                golden=golden,
                counters=counters,
                on_progress=progress.update,
            )
        )
    finally:
        progress.finish()


def _write_result(result: Diff, graph: nx.DiGraph, fmt: str, output: str, color: str) -> None:
    from genealogy.queries.diff import format_text, marked

    if fmt == "json":
        write_output(as_json(result.to_dict()), output, is_json=True)
        return
    if fmt == "text":
        terminal = output == "-" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        colour = color == "always" or (color == "auto" and terminal)
        write_output(as_lines(format_text(result, color=colour)), output)
        return
    from genealogy.renderers import render

    shown = marked(graph, result)
    extra = {"audit": _as_findings(result)} if fmt == "html" else {}
    write_output(render(shown, fmt, render_options(output, None, **extra)), output)


def _as_findings(result: Diff) -> Audit:
    """The differences as the HTML page's list of findings: clicking one selects its units.
    Outcomes and units not fetched are `info`; what is built otherwise is a `warning`."""
    from genealogy.queries import Audit, Finding
    from genealogy.queries.diff import line

    findings = []
    for difference in result.differences:
        severity: Severity = "info" if difference.kind in ("outcome", "unfetched") else "warning"
        findings.append(Finding(difference.kind, severity, difference.serials, line(difference)))
    return Audit(timeline=(), findings=tuple(findings))


def _units(result: CrawlResult) -> str:
    """`ESS-R48-0007: 80 units (79 ok, 1 not found)`."""
    statuses = Counter(str(state.status) for state in result.units.values())
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(statuses.items()))
    return f"{printable(result.start)}: {len(result.units)} units ({counts})"


def _finish(
    pair: Pair,
    result: Diff,
    crawl: CrawlArgs,
    *,
    exit_code: bool,
    wrote: str | None,
    seconds: float,
) -> None:
    """The two crawls' summaries on stderr (with -q only why the exit code is not 0), then
    exit: 11 for differences with --exit-code, else 3 when units could not be fetched."""
    from genealogy.cli.report import crawl_summary, exit_code_for

    reporting = crawl.reporting
    codes = [exit_code_for(part, reporting.strict) for part in (pair.unit, pair.reference)]
    code = ExitCode.INCOMPLETE if ExitCode.INCOMPLETE in codes else ExitCode.OK
    count = len(result.differences)
    why = None
    if exit_code and count:
        code = ExitCode.DIFFERENCES
        why = f"{count} {'difference' if count == 1 else 'differences'} from " + printable(
            result.reference.serial_number
        )
    elif exit_code and result.unfetched:  # a gate never passes what it could not compare
        code = ExitCode.INCOMPLETE
        unseen = len(result.unfetched)
        why = (
            f"no difference found, but {unseen} {'unit was' if unseen == 1 else 'units were'} "
            "not fetched, so not compared"
        )
    if signals.received:
        code = signals.exit_code(ExitCode.INTERRUPTED)
    if reporting.quiet:
        if code is ExitCode.INCOMPLETE and why is None:
            why = "some units could not be fetched (see without -q)"
        if why and code is not ExitCode.OK:
            click.echo(f"genealogy: exit {int(code)}: {why}", err=True)
        sys.exit(code)
    verbose = reporting.verbose > 0 or reporting.debug
    reference = printable(result.reference.serial_number)
    if pair.golden:
        part = printable(result.reference.part_number or "?")
        click.echo(f"reference: {reference}, the newest golden sample of part {part}", err=True)
    c = pair.unit.counters  # the two crawls count together
    click.echo(
        f"{_units(pair.unit)}; reference {_units(pair.reference)}; in {seconds:.2f} s: "
        f"{c.requests} requests, {c.retries} retries, {c.cache_hits} from cache",
        err=True,
    )
    for crawled in (pair.unit, pair.reference):  # the units not fetched, and why
        for detail in crawl_summary(crawled, reporting.strict, verbose=verbose).splitlines()[1:]:
            click.echo(detail, err=True)
    if code is ExitCode.INCOMPLETE and why:
        click.echo(f"genealogy: {why}", err=True)
    if wrote:
        click.echo(f"wrote {wrote}", err=True)
    sys.exit(code)
