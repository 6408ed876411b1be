"""The commands: each one crawls, asks the library, writes the answer and picks the exit code."""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from genealogy import __version__
from genealogy.cli import signals
from genealogy.cli.params import (
    CrawlArgs,
    DiagramArgs,
    TreeArgs,
    ViewArgs,
    crawl_arguments,
    diagram_arguments,
    output_option,
    report_format_option,
    tree_arguments,
    view_arguments,
)
from genealogy.errors import (
    AuthError,
    DiagramTooLarge,
    ExitCode,
    GenealogyError,
    OutputError,
    StartNotFound,
    StartUnreachable,
    WrongBaseUrl,
)
from genealogy.formats import EXTENSIONS, FORMATS, format_for, help_table
from genealogy.redact import redact, secret_forms
from genealogy.text import printable, terminal_json

if TYPE_CHECKING:
    import networkx as nx

    from genealogy.crawler import CrawlResult
    from genealogy.queries import Audit
    from genealogy.renderers import RenderOptions

log = logging.getLogger("genealogy")

HINTS: tuple[tuple[type[GenealogyError], str], ...] = (
    (AuthError, "Set TOFUPILOT_API_KEY or pass --api-key."),
    (WrongBaseUrl, "Set --base-url (or TOFUPILOT_URL) to the TofuPilot API's address."),
    (StartUnreachable, "Check --base-url (or TOFUPILOT_URL) and the network, or try again."),
    (StartNotFound, "A serial number that starts with '-' goes after '--'."),
    (OutputError, "Choose another -o path, or another --format."),
    (
        DiagramTooLarge,
        "The HTML view (-o FILE.html) reads at any size; grouping of identical units is on "
        "unless --no-group; --depth N draws fewer levels; --force writes it anyway.",
    ),
)
"""What the user can do, in command-line words, after the library's own message."""


LIBRARY_WORDS = (("Check the base URL", "Check --base-url (or TOFUPILOT_URL)"),)
"""The library's advice in command-line words, so that it is not given twice."""


def fail(error: GenealogyError, api_key: str | None = None) -> NoReturn:
    message = printable(str(error))
    for library, command_line in LIBRARY_WORDS:
        message = message.replace(library, command_line)
    hint = next((text for kind, text in HINTS if isinstance(error, kind)), None)
    flags = re.findall(r"--[a-z-]+", hint or "")
    said = hint is None or hint in message or (flags and all(f in message for f in flags))
    if not said:
        message = f"{message} {hint}"
    click.echo(f"genealogy: {redact(message, secret_forms(api_key))}", err=True)
    sys.exit(error.exit_code)


Context = Callable[[dict[str, Any]], tuple[str | None, bool]]
"""From a command's keyword arguments: its API key (to redact) and whether --debug was given."""


def crawl_context(kwargs: dict[str, Any]) -> tuple[str | None, bool]:
    crawl: CrawlArgs | None = kwargs.get("crawl")
    return (crawl.connection.api_key, crawl.reporting.debug) if crawl else (None, False)


def errors_reported_by(context: Context) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Turn errors into one message and an exit code: a traceback only with --debug.

    Whatever is printed passes through redaction, so not even a bug can show the API key.
    `context` reads the key and --debug from the command's own option objects.
    """
    return functools.partial(_reporting_errors, context=context)


def _reporting_errors(command: Callable[..., None], context: Context) -> Callable[..., None]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        api_key, debug = context(kwargs)
        try:
            command(*args, **kwargs)
        except GenealogyError as error:
            fail(error, api_key)
        except KeyboardInterrupt:
            click.echo("genealogy: interrupted.", err=True)
            sys.exit(signals.exit_code(ExitCode.INTERRUPTED))
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # a bug: say so plainly
            if debug:
                detail = traceback.format_exc()
            else:
                detail = f"{type(error).__name__}: {error} (--debug shows the traceback)"
            detail = redact(detail, secret_forms(api_key))
            click.echo(f"genealogy: internal error, please report it: {detail}", err=True)
            sys.exit(ExitCode.INTERNAL)

    return wrapper


reports_errors = errors_reported_by(crawl_context)


EXIT_CODES = """\b
Exit codes:
  0  success
  1  internal error (a bug: please report it)
  2  bad command-line usage
  3  output written, but some units could not be fetched (or were not found, with --strict)
  4  the start serial number was not found (diff: nor the reference, nor a golden sample;
     trace: one of those given, the rest is traced and written)
  5  no usable API key (set TOFUPILOT_API_KEY or pass --api-key)
  6  the API rejected the key (401)
  7  the key may not read units (403)
  8  the start unit could not be fetched (network, server errors, offline cache miss)
  9  audit findings matched --fail-on
 10  the output could not be written (Graphviz missing, path not writable)
 11  diff --exit-code: the unit differs from its reference
 12  the base URL is not the TofuPilot API (an HTML page, or no route for units)
 13  the diagram would be unreadable, or over Mermaid's 50,000 characters: not written
     (the HTML view reads at any size; --depth, grouping, or --force)
130  interrupted by Ctrl-C (what was crawled is still written and marked interrupted)
129  ended by SIGHUP, 143 by SIGTERM (likewise)

A serial number that starts with '-' goes after '--':  genealogy tree -- -SN-1
"""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.version_option(__version__, prog_name="genealogy")
def main() -> None:
    """Crawl a TofuPilot unit's assembly tree and export it."""


# -- shared steps ------------------------------------------------------------------------------


def setup_logging(verbosity: int, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler(sys.stderr)
    plain = verbosity == 0 and not debug  # warnings as sentences; details name their source
    pattern = "genealogy: %(message)s" if plain else "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(_PlainWarnings(pattern))
    log.handlers[:] = [handler]
    log.setLevel(level)


class _PlainWarnings(logging.Formatter):
    """Warnings and errors as sentences (`genealogy: ...`) at every verbosity; the details
    that -v and --debug add name their level and source."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return f"genealogy: {record.getMessage()}"
        return super().format(record)


def crawl_and_build(crawl: CrawlArgs, *later: str) -> tuple[CrawlResult, nx.DiGraph]:
    """Crawl as the options say and build the graph; errors propagate as GenealogyError.

    What is needed after the crawl (networkx, and the modules named in `later`: a renderer,
    the queries) is imported in a thread while the crawl waits for the network."""
    from genealogy.progress import Progress
    from genealogy.runner import run_crawl
    from genealogy.sources import Counters

    # started once the crawl's own imports are done: both at once share one GIL, so the first
    # request would wait for networkx as well
    modules = ("genealogy.graph", *later)
    prefetch = threading.Thread(target=import_ahead, args=modules, daemon=True)
    prefetch.start()

    setup_logging(crawl.reporting.verbose, crawl.reporting.debug)
    signals.install()
    counters = Counters()
    progress = Progress(counters, enabled=None if not crawl.reporting.quiet else False)
    try:
        result = run_crawl(crawl.serial, crawl.options(), progress.update, counters)
    finally:
        progress.finish()
    signals.hold()  # the crawl is over: from here until it is written, the output comes first
    prefetch.join()
    from genealogy.graph import build_graph

    return result, build_graph(result)


def import_ahead(*modules: str) -> None:
    """Import ahead; a module that fails here fails again, with its message, where used."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:
            return


def filtered_view(
    graph: nx.DiGraph, view: ViewArgs, crawl: CrawlArgs, keep: tuple[str, ...] = ()
) -> nx.DiGraph:
    """The graph narrowed by --outcome/--part (saying so when nothing matched), or itself."""
    if not view.active:
        return graph
    from genealogy.queries import filter_graph

    narrowed = filter_graph(graph, view.outcomes or None, view.parts or None, keep=keep)
    if not narrowed.graph["filter"]["matched"] and not crawl.reporting.quiet:
        click.echo(f"genealogy: no unit matches {view.described()}", err=True)
    return narrowed


def render_options(output: str, tree: TreeArgs | None = None, **extra: Any) -> RenderOptions:
    from genealogy.renderers import RenderOptions

    colour = tree.color if tree else "never"
    if colour == "auto":
        terminal = output == "-" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        colour = "always" if terminal else "never"
    return RenderOptions(
        charset=tree.charset if tree else "unicode",
        depth=tree.depth if tree else None,
        color=colour == "always",
        **extra,
    )


def write_output(content: str | bytes, output: str, *, is_json: bool = False) -> None:
    """Write the output whole: Ctrl-C, SIGTERM and SIGHUP wait until it is written. JSON bound
    for a terminal has its invisible, bidi and C1 characters as JSON escapes."""
    from genealogy.output import write

    if is_json and isinstance(content, str) and output == "-" and sys.stdout.isatty():
        content = terminal_json(content)
    signals.hold()  # also when no crawl came before
    try:
        write(content, output)
    finally:
        signals.release()  # what came meanwhile sets the exit code in finish


def as_lines(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def as_json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def finish(
    result: CrawlResult,
    graph: nx.DiGraph,
    crawl: CrawlArgs,
    *,
    wrote: str | None = None,
    findings: int | None = None,
    failing: str | None = None,
    failing_code: ExitCode = ExitCode.FINDINGS,
) -> NoReturn:
    """One summary line on stderr (the details with -v; with -q only why the exit code is not
    0), then the exit code the outcome deserves. `failing`: why the run fails with
    `failing_code` (audit findings; serial numbers `trace` was given that do not exist)."""
    from genealogy.cli.report import crawl_summary, exit_code_for, failure_line, limit_notes

    reporting = crawl.reporting
    code = exit_code_for(result, reporting.strict)
    if failing and code is not ExitCode.INTERRUPTED:
        code = failing_code
    if signals.received:  # Ctrl-C, SIGTERM or SIGHUP: during the crawl, or after it
        code = signals.exit_code(ExitCode.INTERRUPTED)
    if reporting.quiet:
        why = failure_line(result, reporting.strict)
        if failing and code is failing_code:
            why = failing
        if why:
            click.echo(f"genealogy: exit {int(code)}: {why}", err=True)
        sys.exit(code)
    verbose = reporting.verbose > 0 or reporting.debug
    summary = crawl_summary(result, reporting.strict, verbose=verbose, findings=findings)
    click.echo(summary, err=True)
    for note in limit_notes(result):
        click.echo(f"genealogy: {note}", err=True)
    if verbose:
        from genealogy.queries import format_summary, summarise

        click.echo(format_summary(summarise(graph, findings)), err=True)
    if failing:
        click.echo(f"genealogy: {failing}", err=True)
    if wrote:
        click.echo(f"wrote {wrote}", err=True)
    sys.exit(code)


# -- the commands ------------------------------------------------------------------------------

_FORMAT_HELP = "\b\nThe file's extension picks the format, or --format does:\n" + help_table()


@main.command("export", epilog=_FORMAT_HELP)
@crawl_arguments
@view_arguments
@output_option
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="Output format  [default: from the file extension; text on stdout]",
)
@tree_arguments
@diagram_arguments
@reports_errors
def export_command(
    crawl: CrawlArgs,
    view: ViewArgs,
    output: str,
    fmt: str | None,
    tree: TreeArgs,
    diagram: DiagramArgs,
) -> None:
    """Crawl the assembly around SERIAL and write it in any format.

    Diagrams (DOT, SVG, PNG, PDF, Mermaid) are drawn top down from the top-level assembly;
    in assemblies of more than 100 units, identical sibling leaves are one box (--no-group:
    every unit). A diagram whose text would be unreadable, or a Mermaid source over 50,000
    characters, is not written (exit code 13; --force writes it). --depth applies to every
    format.
    """
    chosen = FORMATS[format_for(output, fmt) or unknown_extension(output)]
    if chosen.binary and output == "-" and sys.stdout.isatty():
        raise click.UsageError(f"{chosen.name.upper()} is binary: write it to a file with -o.")
    if chosen.needs_graphviz:
        from genealogy.renderers.svg import check_available

        check_available()
    page = ("genealogy.queries",) if chosen.name == "html" else ()  # the page's findings
    result, graph = crawl_and_build(crawl, chosen.module, *view.modules, *page)
    shown = filtered_view(graph, view, crawl)
    extra: dict[str, Any] = {}
    if chosen.name == "html":  # the page lists what `audit` reports for the units it shows
        from genealogy.grouping import limit_depth

        extra["audit"] = audit_of(graph, limit_depth(shown, tree.depth))
    from genealogy.renderers import render

    extra.update(group=diagram.group, force=diagram.force)
    rendered = render(shown, chosen.name, render_options(output, tree, **extra))
    write_output(rendered, output, is_json=chosen.name == "json")
    wrote = None if output == "-" else f"{output} ({chosen.name})"
    finish(result, graph, crawl, wrote=wrote)


def audit_of(graph: nx.DiGraph, shown: nx.DiGraph) -> Audit:
    from genealogy.queries import audit

    return audit(graph).restricted_to(shown)


def unknown_extension(output: str) -> str:
    if output == "-" or output.startswith(("/dev/", "/proc/self/fd/")):
        return "text"  # stdout, a terminal, a descriptor: as on stdout
    known = ", ".join(sorted(EXTENSIONS))
    raise click.UsageError(
        f"Cannot tell the format from {output!r}: name the file {known}, or pass --format."
    )


@main.command("tree")
@crawl_arguments
@view_arguments
@output_option
@tree_arguments
@reports_errors
def tree_command(crawl: CrawlArgs, view: ViewArgs, output: str, tree: TreeArgs) -> None:
    """Print the assembly around SERIAL as an indented tree, like `cargo tree`.

    One line per unit: serial, part number, revision, outcome. The start unit is marked; a
    subtree already shown (a unit reachable twice) is printed once, then marked (*).
    """
    from genealogy.renderers import render

    result, graph = crawl_and_build(crawl, "genealogy.renderers.text", *view.modules)
    shown = filtered_view(graph, view, crawl, keep=(result.start,))
    write_output(render(shown, "text", render_options(output, tree)), output)
    finish(result, graph, crawl)


@main.command("summary")
@crawl_arguments
@view_arguments
@output_option
@report_format_option
@reports_errors
def summary_command(crawl: CrawlArgs, view: ViewArgs, output: str, fmt: str) -> None:
    """Counts by part, revision, outcome and status; depth; widest fan-out; findings."""
    result, graph = crawl_and_build(crawl, "genealogy.queries")
    from genealogy.queries import format_summary, summarise

    shown = filtered_view(graph, view, crawl)
    findings = len(audit_of(graph, shown).findings)
    summary = summarise(shown, findings)
    if fmt == "json":
        write_output(as_json(summary.to_dict()), output, is_json=True)
    else:
        write_output(as_lines(format_summary(summary)), output)
    finish(result, graph, crawl, findings=findings)

