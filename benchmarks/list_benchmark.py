"""Crawl by the page: requests and wall time of the list path, the per-unit path and their ideals,
and how fast the command starts.

Run from the repository root, on an otherwise idle machine:

    .venv/bin/python benchmarks/list_benchmark.py [--latency 0.02] [--concurrency 16] [--repeat 3]

The local server runs in a child process (as the real service, it does not share the
crawler's GIL) and answers every request after `--latency` seconds. Cases:

- the 7,122-unit traction pack (`genealogy.datasets.traction_pack`, 7,348 runs): the list
  path with run histories and without, and the per-unit path, each against its ideal (the
  requests of each round at full concurrency, times the latency); then once through a new
  cache, as the command crawls by default;
- 1,000 units in 6 levels (`synthetic_tree`): the list path's requests, and the whole
  `genealogy export` command, start-up included, as a user runs it;
- `genealogy --help`, `genealogy export --help` and `import genealogy`.

Figures are medians of `--repeat` runs. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from crawl_benchmark import calibrate  # the machine's speed right now

import genealogy
from genealogy.datasets import TRACTION_PACK, synthetic_tree, traction_pack
from genealogy.localserver import LocalTofuPilot

API_KEY = "benchmark-key"
GENEALOGY = str(Path(sys.executable).with_name("genealogy"))

TARGETS = {
    "pack requests": 200,
    "pack crawl s": 1.0,
    "tree requests": 30,
    "tree command s": 1.0,
    "help s": 0.25,
    "import s": 0.3,
    "get vs ideal": 1.5,
}


class Server:
    """LocalTofuPilot in a child process; `requests()` reads its per-endpoint counts."""

    def __init__(
        self, units: list[dict[str, Any]], runs: list[dict[str, Any]] | None, latency: float
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(units, runs, latency, child), daemon=True
        )
        self._process.start()
        child.close()
        self.url = str(self._conn.recv())

    def requests(self) -> Counter[str]:
        self._conn.send("count")
        counts: Counter[str] = self._conn.recv()
        return counts

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(10)


def _serve(
    units: list[dict[str, Any]], runs: list[dict[str, Any]] | None, latency: float, conn: Connection
) -> None:
    with LocalTofuPilot(units, runs=runs, api_key=API_KEY, latency=latency) as server:
        conn.send(server.url)
        while (command := conn.recv()) != "stop":
            if command == "count":
                conn.send(Counter(server.endpoint_requests))
            elif command == "reset":
                server.endpoint_requests.clear()
                conn.send(None)


def median_time(repeat: int, work: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def ideal(rounds: list[int], concurrency: int, latency: float) -> float:
    """Each round's requests at full concurrency, one latency per wave."""
    return sum(math.ceil(n / concurrency) for n in rounds) * latency


def check(
    name: str,
    value: float,
    target: float,
    unit: str = "",
    failures: list[str] | None = None,
) -> None:
    passed = value <= target
    verdict = "PASS" if passed else "FAIL"
    print(f"  {name:<44} {value:>9.3f}{unit}  target <= {target}{unit}  {verdict}")
    if not passed and failures is not None:
        failures.append(name)


def pack_case(args: argparse.Namespace, failures: list[str]) -> None:
    data = traction_pack()
    print(
        f"\n7,122-unit traction pack ({len(data.units)} units, {len(data.runs)} runs), "
        f"{args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}"
    )
    server = Server(data.units, data.runs, args.latency)
    try:
        for via, history in (("auto", True), ("auto", False), ("get", False)):

            def crawl(via: str = via, history: bool = history) -> Any:
                return genealogy.crawl(
                    TRACTION_PACK,
                    base_url=server.url,
                    api_key=API_KEY,
                    via=via,
                    history=history,
                    concurrency=args.concurrency,
                )

            server.reset()
            seconds, graph = median_time(args.repeat if via != "get" else 1, crawl)
            counts = server.requests()
            requests = sum(counts.values()) // (args.repeat if via != "get" else 1)
            assert graph.number_of_nodes() == len(data.units), graph.number_of_nodes()
            label = f"via {via}" + (" + history" if history else "")
            per = {k: v // (args.repeat if via != "get" else 1) for k, v in counts.items()}
            if via == "get":
                rounds = [1, 17, 7104]  # pack; modules and BMS; cells
                best = ideal(rounds, args.concurrency, args.latency)
                print(
                    f"  {label:<44} {seconds:>9.3f} s  {requests} requests {per}; "
                    f"ideal {best:.2f} s"
                )
                check(
                    "per-unit crawl / its ideal",
                    seconds / best,
                    TARGETS["get vs ideal"],
                    "x",
                    failures,
                )
            else:
                print(f"  {label:<44} {seconds:>9.3f} s  {requests} requests {per}")
                if history:
                    check(
                        "list path + history: requests",
                        requests,
                        TARGETS["pack requests"],
                        failures=failures,
                    )
                    check(
                        "list path + history: crawl seconds",
                        seconds,
                        TARGETS["pack crawl s"],
                        " s",
                        failures,
                    )
        with tempfile.TemporaryDirectory() as folder:  # the command's default: a cache
            server.reset()
            began = time.perf_counter()
            genealogy.crawl(
                TRACTION_PACK,
                base_url=server.url,
                api_key=API_KEY,
                concurrency=args.concurrency,
                cache=Path(folder) / "cache.sqlite3",
            )
            seconds = time.perf_counter() - began
            print(
                f"  {'via auto + history, filling a new cache':<44} {seconds:>9.3f} s  "
                f"{sum(server.requests().values())} requests (one run; no target)"
            )
    finally:
        server.close()


def tree_case(args: argparse.Namespace, failures: list[str]) -> None:
    units = synthetic_tree(1000, 6)
    start = units[-1]["serial_number"]
    print(f"\n1,000 units in 6 levels, {args.latency * 1000:.0f} ms per request")
    server = Server(units, None, args.latency)
    environment = {**os.environ, "TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": API_KEY}
    try:
        server.reset()
        graph = genealogy.crawl(start, base_url=server.url, api_key=API_KEY, history=False)
        assert graph.number_of_nodes() == 1000
        structure = sum(server.requests().values())
        check(
            "list path, structure: requests", structure, TARGETS["tree requests"], failures=failures
        )

        def command() -> None:
            subprocess.run(
                [GENEALOGY, "export", start, "--no-cache", "-q", "-f", "json", "-o", os.devnull],
                env=environment,
                check=True,
            )

        seconds, _ = median_time(args.repeat, command)
        check(
            "`genealogy export` (start-up included) s",
            seconds,
            TARGETS["tree command s"],
            " s",
            failures,
        )
        server.reset()
        command()
        print(f"  requests of that command (with history): {dict(server.requests())}")
    finally:
        server.close()


def startup_case(args: argparse.Namespace, failures: list[str]) -> None:
    print("\nStart-up")
    for name, argv in (
        ("genealogy --help", [GENEALOGY, "--help"]),
        ("genealogy export --help", [GENEALOGY, "export", "--help"]),
    ):
        seconds, _ = median_time(
            max(5, args.repeat), lambda argv=argv: subprocess.run(argv, capture_output=True)
        )
        check(f"{name} s", seconds, TARGETS["help s"], " s", failures)
    probe = [sys.executable, "-c", "import genealogy"]
    bare = [sys.executable, "-c", "pass"]
    python, _ = median_time(max(5, args.repeat), lambda: subprocess.run(bare))
    seconds, _ = median_time(max(5, args.repeat), lambda: subprocess.run(probe))
    check("import genealogy s (interpreter included)", seconds, TARGETS["import s"], " s", failures)
    print(f"  (the interpreter alone: {python:.3f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"list_benchmark on {os.cpu_count()} cores, load average {load:.2f} at the start, "
        f"calibration loop {calibrate():.2f} s CPU"
    )
    failures: list[str] = []
    startup_case(args, failures)
    tree_case(args, failures)
    pack_case(args, failures)
    print(
        f"\nload average {os.getloadavg()[0]:.2f} at the end, "
        f"calibration loop {calibrate():.2f} s CPU"
    )
    if failures:
        print("missed: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
