"""The commands that run the bundled local TofuPilot-compatible server: `demo` and `serve`."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path

import click

from genealogy.cli.commands import as_json, as_lines, fail, main
from genealogy.errors import GenealogyError, OutputError

DEMO_FILES = {
    "json": "genealogy.json",
    "dot": "genealogy.dot",
    "svg": "genealogy.svg",
    "mermaid": "genealogy.mmd",
    "graphml": "genealogy.graphml",
    "csv": "genealogy.csv",
    "html": "genealogy.html",
}
"""The formats the demo writes, each under its usual name (`genealogy.formats` has them all)."""


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
    of the start unit up to its product, and the audit. It crawls as the commands do by
    default, so that what it writes is what they print on the same data.
    """
    import secrets  # 6 ms, for this command alone

    from genealogy.cli.report import crawl_summary
    from genealogy.datasets import DEMO_START, demo_data
    from genealogy.graph import build_graph
    from genealogy.localserver import LocalTofuPilot
    from genealogy.output import write
    from genealogy.queries import audit, format_audit, format_summary, format_trace, summarise
    from genealogy.queries import trace as trace_query
    from genealogy.renderers import RenderOptions, render
    from genealogy.runner import CrawlOptions, run_crawl

    key = secrets.token_urlsafe(16)
    serial = start or DEMO_START
    units, runs = demo_data()
    with LocalTofuPilot(units, runs=runs, api_key=key) as server:
        click.echo(
            f"Local TofuPilot-compatible server on {server.url} "
            f"({len(units)} demo units, {len(runs)} runs)"
        )
        click.echo(f"Crawling the assembly around {serial} ...")
        # as the commands crawl by default: a whole level per list request, then the run histories
        crawl = CrawlOptions(base_url=server.url, api_key=key, via="auto", history=True)
        try:
            result = run_crawl(serial, crawl)
        except GenealogyError as error:
            fail(error)
    graph = build_graph(result)
    report = audit(graph)
    summary = summarise(graph, len(report.findings))
    click.echo(crawl_summary(result, strict=False, findings=len(report.findings)))
    click.echo(format_summary(summary))
    options = RenderOptions(audit=report)
    outputs: dict[str, Callable[[], str | bytes]] = {
        name: functools.partial(render, graph, fmt, options) for fmt, name in DEMO_FILES.items()
    }
    outputs["tree.txt"] = lambda: render(graph, "text")
    # the whole assembly was crawled: the trace lists the problems inside it too
    outputs["trace.txt"] = lambda: as_lines(
        format_trace(trace_query(graph, result.start, problems=True))
    )
    outputs["audit.txt"] = lambda: as_lines(format_audit(report, timeline=True))
    outputs["audit.json"] = lambda: as_json({"summary": summary.to_dict(), **report.to_dict()})
    click.echo(f"Wrote to {out_dir}/:")
    for name, content in outputs.items():
        try:
            write(content(), str(out_dir / name))
        except OutputError as error:
            fail(error)
        click.echo(f"  {out_dir / name}")
    page = (out_dir / "genealogy.html").resolve().as_uri()
    click.echo(f"Open {page} in a browser to explore the assembly (search, details, findings).")


@main.command()
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON file: a list of unit records, or {\"units\": [...], \"runs\": [...]}  "
    "[default: the demo factory]",
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
    from genealogy.datasets import demo_data
    from genealogy.localserver import LocalTofuPilot, load_data

    try:
        units, runs = load_data(data) if data else demo_data()
    except (ValueError, KeyError, TypeError) as error:
        raise click.BadParameter(
            f"not a list of unit records, nor {{\"units\": [...], \"runs\": [...]}}: {error}",
            param_hint="--data",
        ) from error
    try:
        server = LocalTofuPilot(
            units, runs=runs, api_key=api_key, latency=latency, rate_limit=rate_limit, port=port
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
