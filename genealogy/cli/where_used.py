"""`genealogy where-used`: which products contain a bad lot, part or unit (the recall list)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from genealogy.cli import signals
from genealogy.cli.commands import (
    as_json,
    as_lines,
    errors_reported_by,
    main,
    setup_logging,
    write_output,
)
from genealogy.cli.params import CONNECTION_OPTIONS, grouped, output_option
from genealogy.errors import ExitCode
from genealogy.text import printable

if TYPE_CHECKING:
    from genealogy.queries.where_used import WhereUsed
    from genealogy.recall import Criteria, Found
    from genealogy.runner import CrawlOptions


@dataclass(frozen=True)
class Connection:
    """Where and how to ask: the few options a where-used query takes."""

    base_url: str
    api_key: str | None = field(repr=False)
    concurrency: int
    retries: int
    timeout: float
    quiet: bool
    debug: bool

    def options(self) -> CrawlOptions:
        from genealogy.runner import CrawlOptions

        return CrawlOptions(
            base_url=self.base_url,
            api_key=self.api_key,
            concurrency=self.concurrency,
            retries=self.retries,
            timeout=self.timeout,
            via="list",
            history=False,
        )


def _connection(**values: Any) -> Connection:
    key = values["api_key"]
    return Connection(
        base_url=values["base_url"],
        api_key=key.strip() if key else None,
        concurrency=values["concurrency"],
        retries=values["retries"],
        timeout=values["timeout"],
        quiet=values["quiet"],
        debug=values["debug"],
    )


connection_arguments = grouped(
    "connection",
    _connection,
    [
        *CONNECTION_OPTIONS,
        click.option("-q", "--quiet", is_flag=True, help="Nothing on stderr but errors."),
        click.option("--debug", is_flag=True, help="Show the traceback of an internal error."),
    ],
)


def _connection_context(kwargs: dict[str, Any]) -> tuple[str | None, bool]:
    connection: Connection | None = kwargs.get("connection")
    return (connection.api_key, connection.debug) if connection else (None, False)


def _criteria(
    batch: str | None, part: str | None, revision: str | None, serials: tuple[str, ...]
) -> Criteria:
    from genealogy.recall import Criteria

    if batch is None and part is None and not serials:
        raise click.UsageError("Nothing to look for: give --batch, --part or serial numbers.")
    if revision is not None and part is None:
        raise click.UsageError("--revision narrows --part: give the part number too.")
    for flag, value in (("--batch", batch), ("--part", part), ("--revision", revision)):
        if value is not None and not value.strip():
            raise click.UsageError(f"{flag} is empty.")
    if any(not serial.strip() for serial in serials):
        raise click.UsageError("An empty serial number was given.")
    return Criteria(batch, part, revision, serials)


@main.command("where-used")
@click.argument("serials", nargs=-1, metavar="[SERIAL]...")
@click.option("--batch", help="Units of this batch (lot) number, in any case.")
@click.option("--part", help="Units of this part number, in any case.")
@click.option("--revision", help="With --part: only that revision of it, in any case.")
@connection_arguments
@output_option
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
@errors_reported_by(_connection_context)
def where_used_command(
    serials: tuple[str, ...],
    batch: str | None,
    part: str | None,
    revision: str | None,
    connection: Connection,
    output: str,
    fmt: str,
) -> None:
    """Which top-level products contain the units of a batch, a part or given serial numbers:
    the recall scope of a bad supplier lot.

    \b
    Finds every matching unit through the list endpoint: --batch and --part (narrowed by
    --revision) filter together (AND), matched in any case; SERIAL arguments add those units
    (OR). Then follows their parents up, a whole level per request, to the units installed in
    nothing. Lists each product (serial, part, revision, latest outcome) with the matching
    units it contains and the path down to each; then the matching units installed in nothing
    ("not installed"), and paths that could not be followed up.

    \b
    -f json: {"products": [{"serial_number", "part_number", "revision", "latest_outcome",
    "contains", "paths"}], "not_installed": [...], "unresolved": [...], ...}
    -f csv: one row per product, the matching serials joined with ';'.

    Exit code 0 when it ran, also when no unit matches (said on stderr); 3 when a unit above
    could not be fetched (its paths are listed as not followed up).
    """
    from genealogy.queries.where_used import format_csv, format_text, where_used
    from genealogy.recall import fetch_where_used_sync

    criteria = _criteria(batch, part, revision, serials)
    setup_logging(0, connection.debug)
    signals.install()
    found = fetch_where_used_sync(criteria, connection.options())
    signals.hold()  # the answer is in: from here until it is written, the output comes first
    result = where_used(found.graph, found.matches, unknown=found.unknown)
    if fmt == "json":
        write_output(as_json(result.to_dict()), output, is_json=True)
    elif fmt == "csv":
        write_output(format_csv(result), output)
    else:
        write_output(as_lines(format_text(result, criteria=criteria.described())), output)
    finish(found, result, criteria, connection, fmt, output)


def finish(
    found: Found,
    result: WhereUsed,
    criteria: Criteria,
    connection: Connection,
    fmt: str,
    output: str,
) -> None:
    """The summary and notes on stderr (with -q only why the exit code is not 0), then exit:
    3 when a unit could not be fetched, 0 otherwise (also when nothing matches)."""
    failed = found.failed
    loose = len(result.not_installed)
    code = ExitCode.INCOMPLETE if failed else ExitCode.OK
    if signals.received:
        code = signals.exit_code(ExitCode.INTERRUPTED)
    notes = []
    if not found.matches:
        notes.append(f"no unit matches {printable(criteria.described())}")
    if found.unknown:
        unknown = ", ".join(printable(serial) for serial in found.unknown[:5])
        more = f" and {len(found.unknown) - 5} more" if len(found.unknown) > 5 else ""
        notes.append(f"no unit has the serial number {unknown}{more}")
    why = None
    if failed:
        names = ", ".join(printable(serial) for serial in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        why = f"could not fetch {names}{more}: their paths are not followed up"
        notes.append(why)
    stopped = len({item.serial_number for item in result.unresolved})
    if stopped:
        units_are = "1 matching unit was" if stopped == 1 else f"{stopped} matching units were"
        where = (
            "not in the CSV; -f text or json says why" if fmt == "csv" else "the output says why"
        )
        notes.append(f"{units_are} not followed up to a top-level unit: {where}")
    if fmt == "csv" and loose:
        units_are = "1 matching unit is" if loose == 1 else f"{loose} matching units are"
        notes.append(f"{units_are} installed in nothing: the CSV lists products only")
    if connection.quiet:
        if code is not ExitCode.OK:
            reason = why if code is ExitCode.INCOMPLETE else "interrupted"
            click.echo(f"genealogy: exit {int(code)}: {reason}", err=True)
        sys.exit(code)
    units = found.graph.number_of_nodes()
    click.echo(
        f"{len(found.matches)} matching units, {units} units in all, in {found.seconds:.2f} s: "
        f"{found.requests} requests, {found.retries} retries",
        err=True,
    )
    for note in notes:
        click.echo(f"genealogy: {note}", err=True)
    if output != "-":
        click.echo(f"wrote {output} ({fmt})", err=True)
    sys.exit(code)
