"""`genealogy audit`: the findings that matter first, and the exit code CI acts on.

The findings left after `--ignore` and `--baseline` are what the text shows first, what the
counts count and what `--fail-on` reads; JSON also holds the ones set aside (`ignored`,
`accepted`) and the baseline's entries no longer found (`fixed`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import click

from genealogy.cli.commands import (
    as_json,
    as_lines,
    audit_of,
    crawl_and_build,
    filtered_view,
    finish,
    main,
    reports_errors,
    write_output,
)
from genealogy.cli.params import (
    CrawlArgs,
    ViewArgs,
    crawl_arguments,
    output_option,
    report_format_option,
    view_arguments,
)
from genealogy.finding_codes import help_text
from genealogy.text import counted, printable

if TYPE_CHECKING:
    from genealogy.queries import Audit, Baseline, Finding


def _split(values: tuple[str, ...] | str) -> list[str]:
    items = (values,) if isinstance(values, str) else values
    return [item for value in items for item in value.split(",") if item.strip()]


def _fail_on_selectors(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from genealogy.queries import validate_selectors

    try:
        return validate_selectors(_split(value))
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def _ignored_codes(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    from genealogy.queries import validate_codes

    try:
        return validate_codes(_split(values))
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


def _baseline(ctx: click.Context, param: click.Parameter, value: str | None) -> Baseline | None:
    """The baseline read before the crawl: a file that cannot be used is a usage error that
    names it, and costs no request."""
    if value is None:
        return None
    from genealogy.queries import Baseline, BaselineError

    try:
        return Baseline.load(value)
    except BaselineError as error:
        hint = f"Write one with --write-baseline {printable(value)}."
        raise click.BadParameter(f"{error}. {hint}") from error


@main.command("audit", epilog=help_text())
@crawl_arguments
@view_arguments
@output_option
@report_format_option
@click.option(
    "--fail-on",
    "fail_on",
    callback=_fail_on_selectors,
    default="",
    metavar="CODE,...",
    help="Exit with code 9 when a finding left after --ignore and --baseline matches: finding "
    "codes, a severity (error, warning, info: that severe or worse), or 'any'.",
)
@click.option(
    "--ignore",
    "ignore",
    multiple=True,
    callback=_ignored_codes,
    metavar="CODE,...",
    help="Set aside the findings of these codes: not shown, not counted, not failing "
    "(the count of them is shown; -f json lists them under 'ignored'). Repeatable.",
)
@click.option(
    "--baseline",
    "baseline",
    callback=_baseline,
    metavar="FILE",
    help="Findings accepted earlier (a file written by --write-baseline): only findings "
    "not in it are shown and can fail the run.",
)
@click.option(
    "--write-baseline",
    "write_baseline",
    metavar="FILE",
    help="Write every finding left after --ignore to FILE, as a baseline to accept them. "
    "What this run reports and its exit code do not change.",
)
@click.option(
    "--timeline",
    is_flag=True,
    help="Also print the timeline: when each unit was made, by which run, procedure and "
    "station, with outcome and duration (always in -f json).",
)
@reports_errors
def audit_command(
    crawl: CrawlArgs,
    view: ViewArgs,
    output: str,
    fmt: str,
    fail_on: tuple[str, ...],
    ignore: tuple[str, ...],
    baseline: Baseline | None,
    write_baseline: str | None,
    timeline: bool,
) -> None:
    """The traceability findings of the assembly around SERIAL, grouped by code with counts,
    the most severe first; its build history with --timeline.

    Each code shows a few of its findings (-v: all of them; -f json: all of them, and the
    timeline). For CI: --fail-on picks what fails the run (exit code 9), --ignore sets codes
    aside, and --baseline FILE accepts the findings a --write-baseline FILE run recorded, so
    that only new findings fail it (-v lists the baseline's entries no longer found).
    """
    result, graph = crawl_and_build(crawl, "genealogy.queries")
    from genealogy.queries import Baseline, format_audit, matches, summarise

    shown = filtered_view(graph, view, crawl)
    report = audit_of(graph, shown).without(ignore)
    if baseline is not None:
        report = baseline.compare(report)
    if fmt == "json":
        summary = summarise(shown, len(report.findings))
        data = {"summary": summary.to_dict(), **report.to_dict()}
        write_output(as_json(data), output, is_json=True)
    else:
        verbose = crawl.reporting.verbose > 0
        write_output(as_lines(format_audit(report, verbose=verbose, timeline=timeline)), output)
    wrote = None
    if write_baseline is not None:
        kept = Baseline.of(report)
        kept.save(write_baseline)
        wrote = f"baseline {printable(write_baseline)} ({counted(len(kept.keys), 'finding')})"
    failing = [finding for finding in report.findings if fail_on and matches(finding, fail_on)]
    why = _why(report, failing, fail_on, baseline is not None) if failing else None
    finish(result, graph, crawl, wrote=wrote, findings=len(report.findings), failing=why)


def _why(report: Audit, failing: list[Finding], fail_on: tuple[str, ...], compared: bool) -> str:
    """One line: how many findings fail the run, of which codes, and what was set aside."""
    codes = Counter(finding.code for finding in failing)
    which = ", ".join(f"{code} ×{count}" for code, count in codes.items())
    count = counted(len(failing), "finding").replace(" ", " new " if compared else " ", 1)
    verb = "matches" if len(failing) == 1 else "match"
    line = f"{count} {verb} --fail-on {','.join(fail_on)} ({which})"
    aside = []
    if report.ignored:
        aside.append(f"{len(report.ignored)} ignored")
    if report.accepted:
        aside.append(f"{len(report.accepted)} accepted by the baseline")
    return f"{line}; {', '.join(aside)}" if aside else line
