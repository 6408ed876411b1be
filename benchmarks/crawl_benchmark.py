"""Crawl benchmark: the concurrent crawl, the warm cache, and a 100,000-unit graph export.

Run from the repository root:

    .venv/bin/python benchmarks/crawl_benchmark.py [--units 1000] [--levels 6] [--latency 0.02]
        [--concurrency 16] [--big 100000] [--repeat 3] [--server process|thread]

Every figure is printed with its target and PASS/FAIL. Exit status: 0 all targets met,
1 a target failed, 2 a crawl or the export produced the wrong number of units.
benchmarks/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import multiprocessing
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from genealogy.crawler import Crawler, CrawlResult
from genealogy.datasets import synthetic_tree
from genealogy.graph import build_graph
from genealogy.localserver import LocalTofuPilot
from genealogy.models import Unit
from genealogy.nodes import Status
from genealogy.perf import paused_gc
from genealogy.renderers import render
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Fetched, FetchOutcome, NotFound

API_KEY = "benchmark-key"
MB = 1024 * 1024

SPEEDUP_TARGET = 10.0  # plain sequential crawl / our crawl: at least
IDEAL_TARGET = 1.5  # our crawl / ideal time: at most
SERVER_TARGET = 1.2  # raw-socket probe / ideal time: at most, else the server is the bottleneck
BIG_SECONDS_TARGET = 10.0
GENEALOGY = str(Path(sys.executable).with_name("genealogy"))
BIG_MEMORY_TARGET = 1024 * MB


@dataclass
class Check:
    name: str
    value: str
    target: str
    passed: bool


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def check(self, name: str, value: str, target: str, passed: bool) -> str:
        self.checks.append(Check(name, value, target, passed))
        return "PASS" if passed else "FAIL"

    def expect(self, what: str, got: int, expected: int) -> None:
        if got != expected:
            self.wrong.append(f"{what}: {got}, expected {expected}")


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def line(label: str, value: str) -> None:
    print(f"  {label:<47} {value}", flush=True)


def calibrate() -> float:
    """CPU seconds of a fixed pure-Python loop: compares machines and busy periods."""
    began = time.process_time()
    total = 0
    for number in range(5_000_000):
        total += number
    return time.process_time() - began


def cpu_pressure() -> str:
    """Linux PSI: share of the last 10 s in which some runnable task waited for a CPU."""
    try:
        with open("/proc/pressure/cpu") as file:
            return file.readline().split()[1].removeprefix("avg10=") + "%"
    except (OSError, IndexError):
        return "n/a"


# --------------------------------------------------------------------------- the server


class Server:
    """LocalTofuPilot in a child process (default) or in a thread of this process.

    In a child process the server's Python code does not compete with the crawler for this
    process's GIL, as with the real service; `--server thread` shows what sharing it costs.
    """

    def __init__(self, records: list[dict[str, Any]], latency: float, mode: str) -> None:
        self._local: LocalTofuPilot | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        if mode == "thread":
            self._local = LocalTofuPilot(records, api_key=API_KEY, latency=latency).start()
            self.url = self._local.url
            return
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(records, latency, child), name="LocalTofuPilot", daemon=True
        )
        self._process.start()
        child.close()
        self.url = str(self._conn.recv())

    def total_requests(self) -> int:
        if self._local is not None:
            return self._local.total_requests
        self._conn.send("count")
        count: int = self._conn.recv()
        return count

    def close(self) -> None:
        if self._local is not None:
            self._local.stop()
        elif self._process is not None:
            self._conn.send("stop")
            self._process.join(10)


def _serve(records: list[dict[str, Any]], latency: float, conn: Connection) -> None:
    with LocalTofuPilot(records, api_key=API_KEY, latency=latency) as server:
        conn.send(server.url)
        while (command := conn.recv()) != "stop":
            if command == "count":
                conn.send(server.total_requests)


# --------------------------------------------------------------------------- clients


async def probe_server(url: str, serials: list[str], concurrency: int) -> tuple[float, int]:
    """GET every serial once over `concurrency` keep-alive connections with a bare client.

    The client costs tens of microseconds per request, so the time measures the server.
    Returns (seconds, answers that were not 200).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    todo = deque(serials)
    bad = 0

    async def connection() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(host, port)
        while todo:
            serial = todo.popleft()
            writer.write(
                f"GET {parts.path}/v2/units/{quote(serial, safe='')} HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\nAuthorization: Bearer {API_KEY}\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for header in head.split(b"\r\n"):
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            bad += head.split(b" ", 2)[1] != b"200"
        writer.close()
        await writer.wait_closed()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return time.perf_counter() - began, bad


def sequential_crawl(url: str, start: str) -> tuple[float, int]:
    """A minimal crawler independent of ours: one request at a time, breadth first.

    Returns (seconds, units fetched).
    """
    seen, todo = {start}, deque([start])
    fetched = 0
    headers = {"Authorization": f"Bearer {API_KEY}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=30) as client:
        began = time.perf_counter()
        while todo:
            response = client.get(f"{url}/v2/units/{quote(todo.popleft(), safe='')}")
            if response.status_code != 200:
                continue
            fetched += 1
            unit = response.json()
            refs = [*unit.get("children", []), *([unit["parent"]] if unit.get("parent") else [])]
            for ref in refs:
                if ref["serial_number"] not in seen:
                    seen.add(ref["serial_number"])
                    todo.append(ref["serial_number"])
        return time.perf_counter() - began, fetched


@dataclass
class CrawlRun:
    seconds: float
    cpu: float  # CPU seconds of this process: the client's, when the server is a child process
    requests: int  # as counted by the server
    cache_hits: int
    fetched: int


def our_crawl(
    server: Server, start: str, concurrency: int, cache_path: Path | None = None
) -> CrawlRun:
    options = CrawlOptions(
        base_url=server.url, api_key=API_KEY, concurrency=concurrency, cache_path=cache_path
    )
    before = server.total_requests()
    began, cpu = time.perf_counter(), time.process_time()
    result = run_crawl(start, options)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return CrawlRun(
        seconds,
        cpu,
        server.total_requests() - before,
        result.counters.cache_hits,
        sum(state.status is Status.OK for state in result.units.values()),
    )


# --------------------------------------------------------------------------- big export


class BodySource:
    """A UnitSource over response bodies in memory: the crawler without the network.

    Each body is parsed and validated when it is asked for, as `HttpSource` does with a
    response, so only the records in flight exist as pydantic objects.
    """

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies = bodies

    async def get(self, serial: str) -> FetchOutcome:
        body = self.bodies.get(serial)
        if body is None:
            return NotFound("not in memory")
        return Fetched(Unit.model_validate(json.loads(body)))


def crawl_bodies(bodies: dict[str, bytes], start: str, concurrency: int) -> CrawlResult:
    """Crawl as `genealogy.runner.run_crawl` does (GC paused, attributes kept, not records)."""
    crawlers: list[Crawler] = []

    async def main() -> None:
        crawler = Crawler(BodySource(bodies), concurrency=concurrency, keep_units=False)
        crawlers.append(crawler)
        await crawler.crawl(start)

    with paused_gc():
        asyncio.run(main())
    assert crawlers[0].result is not None
    return crawlers[0].result


def _rss() -> int:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def big_export(units: int, levels: int, concurrency: int, conn: Connection) -> None:
    """Child process: JSON bodies -> Unit -> crawl -> build_graph -> JSON and DOT files.

    The input is each unit's JSON body as the API sends it, as bytes (a crawl never holds
    every record as parsed dicts); parsing and validating them is the first timed phase.
    """
    figures: dict[str, Any] = {"rss_start": _rss()}
    began = time.perf_counter()
    bodies = {r["serial_number"]: json.dumps(r).encode() for r in synthetic_tree(units, levels)}
    start = next(iter(bodies))
    figures.update(generate=time.perf_counter() - began, rss_input=_rss())
    phases: list[tuple[str, float, float, int, int]] = []  # name, wall, CPU, RSS, peak RSS

    def timed(name: str, work: Callable[[], Any]) -> Any:
        began, cpu = time.perf_counter(), time.process_time()
        value = work()
        phases.append(
            (name, time.perf_counter() - began, time.process_time() - cpu, _rss(), _peak_rss())
        )
        return value

    result: CrawlResult = timed(
        "crawl: parse + validate each body, flatten",
        lambda: crawl_bodies(bodies, start, concurrency),
    )
    bodies.clear()
    graph = timed("build_graph", lambda: build_graph(result))
    with tempfile.TemporaryDirectory(prefix="genealogy-bench-") as tmp:
        for fmt in ("json", "dot"):
            output = timed(f'render(graph, "{fmt}")', functools.partial(render, graph, fmt))
            path = Path(tmp) / f"big.{fmt}"
            timed(f"write {path.name}", functools.partial(path.write_text, str(output)))
            figures[f"{fmt}_bytes"] = path.stat().st_size
            del output
    figures.update(
        phases=phases,
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        fetched=sum(state.status is Status.OK for state in result.units.values()),
        peak_rss=_peak_rss(),
    )
    conn.send(figures)


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--units", type=int, default=1000, help="units the server holds (1000)")
    add("--levels", type=int, default=6, help="levels of the synthetic tree (6)")
    add("--latency", type=float, default=0.02, help="server latency per request, s (0.02)")
    add("--concurrency", type=int, default=16, help="crawl concurrency (16)")
    add("--big", type=int, default=100_000, help="units of the export test (100000; 0: skip)")
    add("--repeat", type=int, default=3, help="runs of our crawl; the median is judged (3)")
    add(
        "--server",
        choices=("process", "thread"),
        default="process",
        help="LocalTofuPilot in a child process (default) or a thread of this process",
    )
    add("--skip-crawl", action="store_true", help="only the export test (section 5)")
    add(
        "--ours-sequential",
        action="store_true",
        help="also time our crawler at concurrency 1 (about units x latency more seconds)",
    )
    return parser.parse_args()


def crawl_benchmark(args: argparse.Namespace, report: Report) -> None:
    records = synthetic_tree(args.units, args.levels)
    serials = [record["serial_number"] for record in records]
    start = serials[0]
    latency, concurrency = args.latency, args.concurrency
    ideal = max(args.levels, math.ceil(args.units / concurrency)) * latency

    section(f"1. LocalTofuPilot: {args.units} units, {args.levels} levels, {latency * 1e3:g} ms")
    server = Server(records, latency, args.server)
    try:
        line("server", f"{server.url} (in a {args.server})")
        line("ideal: max(levels, ceil(units/conc)) x latency", f"{ideal:.3f} s")
        probe, bad = asyncio.run(probe_server(server.url, serials, concurrency))
        verdict = report.check(
            "server sustains the concurrency",
            f"{probe / ideal:.2f}x",
            f"<= {SERVER_TARGET:g}x ideal",
            probe <= SERVER_TARGET * ideal and not bad,
        )
        line(
            f"server capacity, bare client at conc {concurrency}",
            f"{probe:.3f} s for {len(serials)} GETs ({bad} not 200) = {probe / ideal:.2f}x ideal"
            f"  (target <= {SERVER_TARGET:g}x)  {verdict}",
        )

        section(f"2. Crawl times, {args.units} units")
        runs = []
        for index in range(args.repeat):
            run = our_crawl(server, start, concurrency)
            runs.append(run)
            line(
                f"our crawl, concurrency {concurrency}, run {index + 1}",
                f"{run.seconds:.3f} s, {run.requests} requests, {run.fetched} units, "
                f"client CPU {run.cpu:.2f} s = {run.cpu / max(run.requests, 1) * 1e3:.2f} ms/req",
            )
            report.expect("our crawl: units", run.fetched, args.units)
            report.expect("our crawl: requests", run.requests, args.units)
        ours = statistics.median(run.seconds for run in runs)
        line(f"our crawl, concurrency {concurrency}, median", f"{ours:.3f} s")
        if args.ours_sequential:
            run = our_crawl(server, start, 1)
            line(
                "our crawler at concurrency 1",
                f"{run.seconds:.3f} s, {run.requests} requests, "
                f"{(run.seconds / max(run.requests, 1) - latency) * 1e3:.2f} ms/req over latency",
            )
        before = server.total_requests()
        sequential, fetched = sequential_crawl(server.url, start)
        requests = server.total_requests() - before
        line(
            "plain sequential crawl (one request at a time)",
            f"{sequential:.3f} s, {requests} requests, {fetched} units "
            "(independent httpx.Client crawler)",
        )
        report.expect("sequential crawl: units", fetched, args.units)

        section("3. Ratios")
        line("ideal time", f"{ideal:.3f} s")
        speedup = sequential / ours
        verdict = report.check(
            "sequential / ours",
            f"{speedup:.1f}x",
            f">= {SPEEDUP_TARGET:g}x",
            speedup >= SPEEDUP_TARGET,
        )
        line("sequential / ours", f"{speedup:.1f}x  (target >= {SPEEDUP_TARGET:g}x)  {verdict}")
        overhead = ours / ideal
        verdict = report.check(
            "ours / ideal", f"{overhead:.2f}x", f"<= {IDEAL_TARGET:g}x", overhead <= IDEAL_TARGET
        )
        line("ours / ideal", f"{overhead:.2f}x  (target <= {IDEAL_TARGET:g}x)  {verdict}")
        command = statistics.median(
            command_seconds(server.url, start, concurrency) for _ in range(args.repeat)
        )
        line(
            "`genealogy export --via get` as a command, start-up included",
            f"{command:.3f} s = {command / ideal:.2f}x ideal",
        )
        speedup = sequential / command
        verdict = report.check(
            "sequential / command (start-up included)",
            f"{speedup:.1f}x",
            f">= {SPEEDUP_TARGET:g}x",
            speedup >= SPEEDUP_TARGET,
        )
        line(
            "sequential / command (start-up included)",
            f"{speedup:.1f}x  (target >= {SPEEDUP_TARGET:g}x)  {verdict}",
        )

        section("4. Warm cache (SQLite file in a temp dir, max_age 3600 s)")
        with tempfile.TemporaryDirectory(prefix="genealogy-bench-") as tmp:
            cache = Path(tmp) / "units.sqlite3"
            cold = our_crawl(server, start, concurrency, cache)
            line("cold crawl (fills the cache)", f"{cold.seconds:.3f} s, {cold.requests} requests")
            warm = our_crawl(server, start, concurrency, cache)
            verdict = report.check(
                "warm re-crawl requests", str(warm.requests), "0", not warm.requests
            )
            line(
                "warm re-crawl",
                f"{warm.seconds:.3f} s, {warm.requests} requests (target 0) {verdict}, "
                f"{warm.cache_hits} cache hits, {warm.fetched} units",
            )
            report.expect("cold crawl: units", cold.fetched, args.units)
            report.expect("warm crawl: units", warm.fetched, args.units)
    finally:
        server.close()


def command_seconds(url: str, start: str, concurrency: int) -> float:
    """Wall time of the whole command, one request per unit, interpreter start-up included."""
    environment = {**os.environ, "TOFUPILOT_URL": url, "TOFUPILOT_API_KEY": API_KEY}
    argv = [GENEALOGY, "export", start, "--via", "get", "--no-history", "--no-cache", "-q"]
    argv += ["--concurrency", str(concurrency), "-f", "json", "-o", os.devnull]
    began = time.perf_counter()
    subprocess.run(argv, env=environment, check=True)
    return time.perf_counter() - began


def big_benchmark(args: argparse.Namespace, report: Report) -> None:
    section(f"5. {args.big:,} units: crawl (parse bodies) -> build_graph -> JSON and DOT files")
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=big_export, args=(args.big, args.levels, args.concurrency, sender), daemon=True
    )
    child.start()
    sender.close()
    try:
        figures: dict[str, Any] = receiver.recv()
    except EOFError:
        child.join()
        report.check("export pipeline", f"died (exit {child.exitcode})", "runs", False)
        line("export pipeline", f"the child process died with exit code {child.exitcode}  FAIL")
        return
    child.join()
    line("(untimed) generate the input", f"{figures['generate']:.3f} s")
    line(
        "RSS at start / with the input",
        f"{figures['rss_start'] / MB:.0f} / {figures['rss_input'] / MB:.0f} MB",
    )
    for name, seconds, cpu, rss, peak in figures["phases"]:
        line(
            name,
            f"{seconds:7.3f} s (CPU {cpu:6.3f} s)  RSS {rss / MB:5.0f} MB, "
            f"peak {peak / MB:5.0f} MB",
        )
    # The target is for building and exporting the graph; parsing 100,000 responses is the
    # crawl's work (spread over the network time of 100,000 requests), shown but not judged.
    total = sum(phase[1] for phase in figures["phases"])
    total_cpu = sum(phase[2] for phase in figures["phases"])
    judged = sum(phase[1] for phase in figures["phases"] if not phase[0].startswith("crawl"))
    line("all timed phases, crawl included", f"{total:7.3f} s (CPU {total_cpu:6.3f} s)")
    verdict = report.check(
        "build_graph + export JSON and DOT",
        f"{judged:.2f} s",
        f"< {BIG_SECONDS_TARGET:g} s",
        judged < BIG_SECONDS_TARGET,
    )
    line(
        "build_graph + render + write JSON and DOT",
        f"{judged:7.3f} s  (target < {BIG_SECONDS_TARGET:g} s)  {verdict}",
    )
    peak = figures["peak_rss"]
    verdict = report.check(
        "export peak memory", f"{peak / MB:.0f} MB", "< 1024 MB", peak < BIG_MEMORY_TARGET
    )
    line("peak RSS (getrusage maxrss)", f"{peak / MB:.0f} MB  (target < 1 GB)  {verdict}")
    line(
        "graph",
        f"{figures['nodes']:,} nodes, {figures['edges']:,} edges; "
        f"JSON {figures['json_bytes'] / MB:.1f} MB, DOT {figures['dot_bytes'] / MB:.1f} MB",
    )
    report.expect("export: units fetched", figures["fetched"], args.big)
    report.expect("export: graph nodes", figures["nodes"], args.big)
    report.expect("export: graph edges", figures["edges"], args.big - 1)


def main() -> int:
    args = parse_args()
    report = Report()
    print(
        f"genealogy crawl benchmark: Python {platform.python_version()}, httpx "
        f"{httpx.__version__}, {os.cpu_count()} CPUs, load "
        + " ".join(f"{load:.2f}" for load in os.getloadavg())
        + f", CPU pressure {cpu_pressure()}, calibration loop {calibrate():.2f} s CPU",
        flush=True,
    )
    if not args.skip_crawl:
        crawl_benchmark(args, report)
    if args.big:
        big_benchmark(args, report)

    section("Summary")
    for check in report.checks:
        verdict = "PASS" if check.passed else "FAIL"
        print(f"  {verdict}  {check.name:<32} {check.value:>10}   target {check.target}")
    for problem in report.wrong:
        print(f"  WRONG {problem}")
    print(f"  (end: CPU pressure {cpu_pressure()}, load {os.getloadavg()[0]:.2f})")
    if report.wrong:
        return 2
    return 0 if all(check.passed for check in report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
