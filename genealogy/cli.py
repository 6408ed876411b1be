"""The `genealogy` command line: parses options, hands them to the library, reports the outcome.

No graph logic lives here; every command is crawl -> graph -> render/report -> exit code.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import secrets
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click
import httpx
import networkx as nx

from genealogy import __version__, render
from genealogy.crawler import CrawlResult, Direction, Limits
from genealogy.errors import ExitCode, GenealogyError, OutputError
from genealogy.graph import build_graph
from genealogy.output import write
from genealogy.progress import Progress
from genealogy.queries import (
    audit,
    filter_graph,
    format_audit,
    format_summary,
    format_trace,
    matches,
    summarise,
    trace,
    validate_selectors,
)
from genealogy.queries.filters import OUTCOME_FILTERS
from genealogy.redact import redact, secret_forms
from genealogy.render import RenderOptions
from genealogy.report import crawl_summary, exit_code_for
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Counters
from genealogy.sources.cache import default_cache_path
from genealogy.sources.http import DEFAULT_BASE_URL
from genealogy.text import printable

log = logging.getLogger("genealogy")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class DurationType(click.ParamType):  # type: ignore[type-arg]
    """`90`, `90s`, `15m`, `2h` or `7d`, in seconds."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, int | float):
            return float(value)
        match = _DURATION.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a duration like 90s, 15m, 2h or 7d", param, ctx)
        return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _base_url(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An http(s) URL with a host; a warning when the key would travel unencrypted."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise click.BadParameter(f"{printable(value)!r} is not a URL: {error}") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise click.BadParameter(
            f"{printable(value)!r} is not an http(s) URL like {DEFAULT_BASE_URL}"
        )
    if url.scheme == "http" and url.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("--base-url uses plain http: the API key would cross the network unencrypted")
    return value


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _stacked(command: Callable[..., Any], options: Sequence[Decorator]) -> Callable[..., Any]:
    """`command` with `options` applied as if written as decorators, first on top."""
    for option in reversed(options):
        command = option(command)
    return command


def crawl_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every crawling command shares: connection, crawl shape, cache, verbosity."""
    options = [
        click.argument("serial"),
        click.option(
            "--base-url",
            envvar="TOFUPILOT_URL",
            default=DEFAULT_BASE_URL,
            show_default=True,
            show_envvar=True,
            callback=_base_url,
            help="TofuPilot API base URL.",
        ),
        click.option(
            "--api-key",
            envvar="TOFUPILOT_API_KEY",
            show_envvar=True,
            help="TofuPilot API key (prefer the environment variable: "
            "command lines are visible to other users).",
        ),
        click.option("--up", is_flag=True, help="Only the ancestors: what contains SERIAL."),
        click.option("--down", is_flag=True, help="Only the descendants: what SERIAL is made of."),
        click.option(
            "--max-depth",
            type=click.IntRange(min=0),
            help="Do not fetch units more than N links away from SERIAL.",
        ),
        click.option(
            "--max-units",
            type=click.IntRange(min=1),
            help="Fetch at most N units; the rest are kept as unexplored.",
        ),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 256),
            default=16,
            show_default=True,
            help="Requests in flight at once.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(0, 20),
            default=4,
            show_default=True,
            help="Retries per unit after 429, 5xx, timeouts and network errors.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds one request may take.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(min=0.01),
            help="At most N requests per second (stay under your account's quota).",
        ),
        click.option(
            "--cache",
            "cache_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"SQLite cache file  [default: {default_cache_path()}]",
        ),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
        click.option(
            "--max-age",
            type=DurationType(),
            default="1h",
            show_default=True,
            help="Use cached units younger than this (90s, 15m, 2h, 7d).",
        ),
        click.option("--refresh", is_flag=True, help="Fetch every unit again; update the cache."),
        click.option(
            "--offline",
            is_flag=True,
            help="Use the cache alone, whatever its age; make no request.",
        ),
        click.option(
            "--strict",
            is_flag=True,
            help="Count units that were not found as failures (exit code 3).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="No progress line and no summary."),
        click.option("-v", "--verbose", count=True, help="More detail on stderr (-vv: debug)."),
        click.option(
            "--debug", is_flag=True, help="Like -vv, and show the traceback of an internal error."
        ),
    ]
    return _stacked(command, options)


def _options_from(params: dict[str, Any]) -> CrawlOptions:
    if params["offline"] and params["no_cache"]:
        raise click.UsageError("--offline reads the cache, so it cannot go with --no-cache.")
    if params["offline"] and params["refresh"]:
        raise click.UsageError("--refresh fetches again, so it cannot go with --offline.")
    if params["up"] and params["down"]:
        raise click.UsageError("--up and --down exclude each other; give neither for both.")
    return CrawlOptions(
        base_url=params["base_url"],
        api_key=params["api_key"].strip() if params["api_key"] else None,
        direction=_direction(params),
        limits=Limits(params["max_depth"], params["max_units"]),
        concurrency=params["concurrency"],
        retries=params["retries"],
        timeout=params["timeout"],
        rate=params["rate"],
        cache_path=None if params["no_cache"] else (params["cache_path"] or default_cache_path()),
        max_age=params["max_age"],
        refresh=params["refresh"],
        offline=params["offline"],
    )


def _direction(params: dict[str, Any]) -> Direction:
    if params["up"]:
        return Direction.UP
    return Direction.DOWN if params["down"] else Direction.BOTH


def _setup_logging(verbosity: int, debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)


def _crawl(params: dict[str, Any]) -> tuple[CrawlResult, nx.DiGraph]:
    """Crawl as the options say and build the graph; errors propagate as GenealogyError."""
    _setup_logging(params["verbose"], params["debug"])
    options = _options_from(params)
    counters = Counters()
    progress = Progress(counters, enabled=None if not params["quiet"] else False)
    try:
        result = run_crawl(params["serial"], options, progress.update, counters)
    finally:
        progress.finish()
    return result, build_graph(result)


def _fail(error: GenealogyError, api_key: str | None = None) -> NoReturn:
    message = redact(printable(str(error)), secret_forms(api_key))
    click.echo(f"genealogy: {message}", err=True)
    sys.exit(error.exit_code)


def reports_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Turn errors into one message and an exit code: a traceback only with --debug.

    Whatever is printed passes through redaction, so not even a bug can show the API key.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except GenealogyError as error:
            _fail(error, kwargs.get("api_key"))
        except KeyboardInterrupt:
            click.echo("genealogy: interrupted.", err=True)
            sys.exit(ExitCode.INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:  # a bug: say so plainly
            if kwargs.get("debug"):
                detail = traceback.format_exc()
            else:
                detail = f"{type(error).__name__}: {error} (--debug shows the traceback)"
            detail = redact(detail, secret_forms(kwargs.get("api_key")))
            click.echo(f"genealogy: internal error, please report it: {detail}", err=True)
            sys.exit(ExitCode.INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="genealogy")
def main() -> None:
    """Crawl a TofuPilot unit's assembly tree and export it.

    \b
    Exit codes:
      0  success
      1  internal error (a bug: please report it)
      2  bad command-line usage
      3  output written, but some units could not be fetched (or were not found, with --strict)
      4  the start serial number was not found
      5  no usable API key (set TOFUPILOT_API_KEY or pass --api-key)
      6  the API rejected the key (401)
      7  the key may not read units (403)
      8  the start unit could not be fetched (network, server errors, offline cache miss)
      9  audit findings matched --fail-on
     10  the output could not be written (Graphviz missing, path not writable)
    130  interrupted by Ctrl-C (what was crawled is still written)
    """


def view_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Filters every view shares: keep the matching units and the paths above them."""
    options = [
        click.option(
            "--outcome",
            "outcomes",
            multiple=True,
            callback=_outcomes,
            help="Only units with this outcome, and the assemblies above them: pass, fail, "
            "error, timeout, aborted, unknown, not_found, not_fetched. Repeat or comma-separate.",
        ),
        click.option(
            "--part",
            "parts",
            multiple=True,
            callback=_split,
            help="Only units of this part number, and the assemblies above them.",
        ),
    ]
    return _stacked(command, options)


def tree_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Presentation of the text tree."""
    options = [
        click.option(
            "--charset",
            type=click.Choice(["unicode", "ascii"]),
            default="unicode",
            show_default=True,
            help="Tree drawing characters.",
        ),
        click.option(
            "--depth",
            type=click.IntRange(min=0),
            help="Show at most N levels below the top-level assemblies.",
        ),
        click.option(
            "--color",
            type=click.Choice(["auto", "always", "never"]),
            default="auto",
            show_default=True,
            help="Colour by outcome; auto: on a terminal, unless NO_COLOR is set.",
        ),
    ]
    return _stacked(command, options)


def _split(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(item.strip() for value in values for item in value.split(",") if item.strip())


def _outcomes(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...]:
    outcomes = tuple(item.lower() for item in _split(ctx, param, values))
    unknown = [item for item in outcomes if item not in OUTCOME_FILTERS]
    if unknown:
        raise click.BadParameter(
            f"{', '.join(map(repr, unknown))}: choose from {', '.join(OUTCOME_FILTERS)}"
        )
    return outcomes


def _filtered(graph: nx.DiGraph, params: dict[str, Any], keep: tuple[str, ...] = ()) -> nx.DiGraph:
    """The graph narrowed by --outcome/--part, or the graph itself when neither is given."""
    if not params["outcomes"] and not params["parts"]:
        return graph
    return filter_graph(graph, params["outcomes"] or None, params["parts"] or None, keep=keep)


def _render_options(params: dict[str, Any], output: str) -> RenderOptions:
    colour = params.get("color", "never")
    if colour == "auto":
        terminal = output == "-" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        colour = "always" if terminal else "never"
    return RenderOptions(
        charset="ascii" if params.get("charset") == "ascii" else "unicode",
        depth=params.get("depth"),
        color=colour == "always",
    )


output_option = click.option(
    "-o",
    "--output",
    default="-",
    show_default=True,
    help="Output file ('-' is stdout).",
)
report_format_option = click.option(
    "-f", "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)


@main.command("export")
@crawl_options
@view_options
@output_option
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(sorted(render.FORMATS)),
    help="Output format  [default: from the file extension; text on stdout]",
)
@tree_options
@reports_errors
def export_command(output: str, fmt: str | None, **params: Any) -> None:
    """Crawl the assembly around SERIAL and write it in any format.

    \b
    The output file's extension picks the format, or --format does:
      text     .txt      an indented tree (the default on stdout)
      json     .json     networkx node-link data, loads back into an equal graph
      dot      .dot .gv  Graphviz source
      svg png pdf        drawn by Graphviz
      mermaid  .mmd      renders in GitHub and GitLab markdown
      graphml  .graphml  opens in Gephi, yEd, Cytoscape
      csv      .csv      one row per unit
      html     .html     one interactive page: tree, search, details, findings
    """
    fmt = render.format_for(output, fmt) or _unknown_extension(output)
    if fmt in render.BINARY_FORMATS and output == "-" and sys.stdout.isatty():
        raise click.UsageError(f"{fmt.upper()} is binary: write it to a file with -o.")
    if render.FORMATS[fmt] == "genealogy.render.svg":
        from genealogy.render.svg import check_available

        check_available()
    result, graph = _crawl(params)
    view = _filtered(graph, params)
    write(render.render(view, fmt, _render_options(params, output)), output)
    _finish(result, graph, params, wrote=None if output == "-" else f"{output} ({fmt})")


@main.command("tree")
@crawl_options
@view_options
@output_option
@tree_options
@reports_errors
def tree_command(output: str, **params: Any) -> None:
    """Print the assembly around SERIAL as an indented tree, like `cargo tree`.

    One line per unit: serial, part number, revision, outcome. The start unit is marked; a
    subtree already shown (a unit reachable twice) is printed once, then marked (*).
    """
    result, graph = _crawl(params)
    view = _filtered(graph, params, keep=(params["serial"],))
    write(render.render(view, "text", _render_options(params, output)), output)
    _finish(result, graph, params)


@main.command("trace")
@crawl_options
@view_options
@output_option
@report_format_option
@click.option(
    "--charset",
    type=click.Choice(["unicode", "ascii"]),
    default="unicode",
    show_default=True,
    help="Drawing characters of the text output.",
)
@reports_errors
def trace_command(output: str, fmt: str, charset: str, **params: Any) -> None:
    """Every path from SERIAL up to its top-level assemblies, like `npm explain`.

    Each step shows part, revision, batch and outcome; then the failed, errored and missing
    units inside the same assemblies (--outcome and --part narrow that list).
    """
    result, graph = _crawl(params)
    found = trace(_filtered(graph, params, keep=(params["serial"],)), params["serial"])
    if fmt == "json":
        write(_json(found.to_dict()), output)
    else:
        text = format_trace(found, charset="ascii" if charset == "ascii" else "unicode")
        write(_lines(text), output)
    _finish(result, graph, params)


def _fail_on_selectors(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return validate_selectors(item for item in value.split(",") if item.strip())
    except ValueError as error:
        raise click.BadParameter(str(error)) from error


@main.command("audit")
@crawl_options
@view_options
@output_option
@report_format_option
@click.option(
    "--fail-on",
    "fail_on",
    callback=_fail_on_selectors,
    default="",
    metavar="CODE,...",
    help="Exit with code 9 when a finding matches: finding codes, a severity (error, warning, "
    "info: that severe or worse), or 'any'.",
)
@reports_errors
def audit_command(output: str, fmt: str, fail_on: tuple[str, ...], **params: Any) -> None:
    """The build history of the assembly around SERIAL, and its traceability findings.

    \b
    Timeline: when each unit was created, by which run and procedure, at which station or by
    whom, with outcome and duration. Findings, each with a stable code:
      error    cycle, self-parent, dangling-reference, failed-run-installed
      warning  inconsistent-link, fetch-error, child-after-parent-assembly, mixed-revisions,
               serial-mismatch
      info     repaired-record, no-run, unexplored
    """
    result, graph = _crawl(params)
    view = _filtered(graph, params)
    report = audit(graph).restricted_to(view)
    if fmt == "json":
        summary = summarise(view, len(report.findings))
        write(_json({"summary": summary.to_dict(), **report.to_dict()}), output)
    else:
        write(_lines(format_audit(report)), output)
    failing = [finding for finding in report.findings if fail_on and matches(finding, fail_on)]
    if failing and not params["quiet"]:
        click.echo(f"{len(failing)} finding(s) match --fail-on {','.join(fail_on)}", err=True)
    _finish(result, graph, params, findings=len(report.findings), fail=bool(failing))


@main.command("summary")
@crawl_options
@view_options
@output_option
@report_format_option
@reports_errors
def summary_command(output: str, fmt: str, **params: Any) -> None:
    """Counts by part, revision, outcome and status; depth; widest fan-out; findings."""
    result, graph = _crawl(params)
    view = _filtered(graph, params)
    summary = summarise(view, len(audit(graph).restricted_to(view).findings))
    write(_json(summary.to_dict()) if fmt == "json" else _lines(format_summary(summary)), output)
    _finish(result, graph, params, show_summary=False)


def _lines(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _json(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _unknown_extension(output: str) -> str:
    if output == "-":
        return "text"
    known = ", ".join(sorted(render.EXTENSIONS))
    raise click.UsageError(
        f"Cannot tell the format from {output!r}: name the file {known}, or pass --format."
    )


def _finish(
    result: CrawlResult,
    graph: nx.DiGraph,
    params: dict[str, Any],
    wrote: str | None = None,
    findings: int | None = None,
    fail: bool = False,
    show_summary: bool = True,
) -> NoReturn:
    """The summary on stderr (unless --quiet), then the exit code the outcome deserves."""
    if not params["quiet"]:
        click.echo(crawl_summary(result, params["strict"]), err=True)
        if show_summary:
            click.echo(format_summary(summarise(graph, findings)), err=True)
        if wrote:
            click.echo(f"wrote {wrote}", err=True)
    code = exit_code_for(result, params["strict"])
    if fail and code is not ExitCode.INTERRUPTED:
        code = ExitCode.FINDINGS
    sys.exit(code)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="demo-output",
    show_default=True,
    help="Folder for the exports.",
)
@click.option("--start", default=None, help="Serial number to start from  [default: a failed cell]")
def demo(out_dir: Path, start: str | None) -> None:
    """Run the whole job on bundled demo data, against a local TofuPilot-compatible server.

    Writes the assembly in every format, and the three jobs' reports: the tree, the trace
    of the start unit up to its product, and the audit.
    """
    from genealogy.datasets import DEMO_START, factory
    from genealogy.localserver import LocalTofuPilot

    key = secrets.token_urlsafe(16)
    serial = start or DEMO_START
    units = factory()
    with LocalTofuPilot(units, api_key=key) as server:
        click.echo(f"Local TofuPilot-compatible server on {server.url} ({len(units)} demo units)")
        click.echo(f"Crawling the assembly around {serial} ...")
        try:
            result = run_crawl(serial, CrawlOptions(base_url=server.url, api_key=key))
        except GenealogyError as error:
            _fail(error)
    graph = build_graph(result)
    report = audit(graph)
    click.echo(crawl_summary(result, strict=False))
    summary = summarise(graph, len(report.findings))
    click.echo(format_summary(summary))
    outputs: dict[str, Callable[[], str | bytes]] = {
        f"genealogy.{extension}": functools.partial(render.render, graph, fmt)
        for fmt, extension in DEMO_FORMATS.items()
    }
    outputs["tree.txt"] = lambda: render.render(graph, "text")
    outputs["trace.txt"] = lambda: _lines(format_trace(trace(graph, serial)))
    outputs["audit.txt"] = lambda: _lines(format_audit(report))
    outputs["audit.json"] = lambda: _json({"summary": summary.to_dict(), **report.to_dict()})
    click.echo(f"Wrote to {out_dir}/:")
    for name, content in outputs.items():
        try:
            write(content(), str(out_dir / name))
        except OutputError as error:
            _fail(error)
        click.echo(f"  {out_dir / name}")
    page = (out_dir / "genealogy.html").resolve().as_uri()
    click.echo(f"Open {page} in a browser to explore the assembly (search, details, findings).")


DEMO_FORMATS = {
    "json": "json",
    "dot": "dot",
    "svg": "svg",
    "mermaid": "mmd",
    "graphml": "graphml",
    "csv": "csv",
    "html": "html",
}


@main.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file of unit records  [default: the demo factory]",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--api-key",
    default="demo-key",
    show_default=True,
    help="The key clients must send (not your TofuPilot key).",
)
@click.option(
    "--latency", type=click.FloatRange(min=0), default=0.0, help="Seconds added to every answer."
)
@click.option(
    "--rate-limit", type=click.FloatRange(min=1), help="Answer 429 above N requests per second."
)
def serve(
    data: str | None, port: int, api_key: str, latency: float, rate_limit: float | None
) -> None:
    """Serve unit records on 127.0.0.1 as a TofuPilot-compatible API, until Ctrl-C."""
    from genealogy.datasets import factory
    from genealogy.localserver import LocalTofuPilot, load_units

    try:
        units = load_units(data) if data else factory()
    except (ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(
            f"not a JSON list of unit records: {error}", param_hint="--data"
        ) from error
    try:
        server = LocalTofuPilot(
            units, api_key=api_key, latency=latency, rate_limit=rate_limit, port=port
        )
    except OSError as error:
        raise click.UsageError(
            f"Cannot listen on 127.0.0.1:{port} ({error.strerror}): choose another --port."
        ) from error
    click.echo(f"Serving {len(units)} units on {server.url} (Ctrl-C to stop)")
    click.echo(
        f"Try: TOFUPILOT_URL={server.url} TOFUPILOT_API_KEY={api_key} "
        "genealogy tree <SERIAL> --no-cache"
    )
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
