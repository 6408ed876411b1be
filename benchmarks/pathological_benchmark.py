"""Pathological shapes: every query and renderer stays linear, or bounded by a stated limit.

Run from the repository root:

    .venv/bin/python benchmarks/pathological_benchmark.py [--chain 100000] [--cycle 10000]
        [--levels 31] [--wide 100000] [--repeat 3] [--shapes chain,cycle,lattice,wide]
        [--ops tree,trace,...] [--seconds 10] [--megabytes 2048]

The shapes are built in memory with `genealogy.from_records` (the crawl without HTTP: no server,
no network), once each, and handed to the cases pickled:

- `chain`: C0 contains C1 contains ... C(n-1); traced from the deepest unit, every 100th FAIL;
- `cycle`: X1 contains X2 ... contains Xn contains X1, each record naming its parent; one FAIL;
- `lattice`: TOP, then `levels` levels of two units, each listing both units of the next level
  (2^(levels-1) paths from a bottom unit up to TOP: 2^30 by default); the bottom units FAIL;
- `wide`: one unit with n children (every 10th FAIL) and 100 children the API does not know.

Each case (a shape and an operation) runs in a subprocess of its own, so its peak memory is
its own (peak RSS, Linux's VmHWM, which includes the graph loaded before the clock starts:
"graph MB" is the peak after loading it). A case whose
first run takes under 2 s is run `--repeat` times and the median is given. Operations: `tree`
(the text renderer), `trace` (query and text, from the start unit), `audit` (query and text),
`summary`, `filter` (`--outcome fail`), and the renderers `json`, `dot` (source), `mermaid`,
`csv`, `graphml`, `html` (with the audit it lists, as `genealogy.render` runs it).

Bound: every case under `--seconds` (10) and `--megabytes` (2048) of peak RSS. Each case also
checks its answer on the shape (the chain's depth, the cycle found once, the lattice's 2^30
paths counted and the text saying how many are not shown...). Exit status: 0 every bound met,
1 a case over its bound, 2 a wrong answer. The first line says how busy the machine is:
figures from a machine shared with other work (load average well above 0, CPU pressure above
a few %) are not comparable with those of an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

import genealogy
from genealogy.queries import (
    audit,
    filter_graph,
    format_audit,
    format_summary,
    format_trace,
    summarise,
    trace,
)
from genealogy.queries.trace import MAX_PATHS

SHAPES = ("chain", "cycle", "lattice", "wide")
OPERATIONS = (
    "tree",
    "trace",
    "audit",
    "summary",
    "filter",
    "json",
    "dot",
    "mermaid",
    "csv",
    "graphml",
    "html",
)
FAST = 2.0
"""A case whose first run takes less (seconds) is repeated, and its median given."""
MISSING = 100
"""Children of the wide unit that no record has (`not_found`)."""


# --------------------------------------------------------------------------- the shapes


def record(
    serial: str,
    *,
    parent: str | None = None,
    children: list[str] | tuple[str, ...] = (),
    outcome: str = "PASS",
) -> dict[str, Any]:
    """A unit record in the `GET /v2/units/{serial}` shape."""
    return {
        "id": f"id-{serial}",
        "serial_number": serial,
        "created_at": "2026-01-10T10:00:00Z",
        "part": {
            "id": "part-1",
            "number": "P-1",
            "name": "Part",
            "revision": {"id": "rev-a", "number": "A"},
        },
        "parent": _ref(parent) if parent else None,
        "children": [_ref(child) for child in children],
        "created_during": {
            "id": f"run-{serial}",
            "created_at": "2026-01-10T09:55:00Z",
            "started_at": "2026-01-10T09:55:00Z",
            "ended_at": "2026-01-10T10:00:00Z",
            "duration": "PT5M",
            "outcome": outcome,
            "procedure": {"id": "proc-1", "name": "Functional test"},
        },
    }


def _ref(serial: str) -> dict[str, Any]:
    return {"id": f"id-{serial}", "serial_number": serial, "part": None}


def chain(units: int) -> nx.DiGraph:
    names = [f"C{i:06d}" for i in range(units)]
    records = [
        record(
            name,
            parent=names[i - 1] if i else None,
            children=[names[i + 1]] if i + 1 < units else [],
            outcome="FAIL" if i % 100 == 99 or i == units - 1 else "PASS",
        )
        for i, name in enumerate(names)
    ]
    return genealogy.from_records(records, names[-1])


def cycle(units: int) -> nx.DiGraph:
    records = [
        record(
            f"X{i}",
            parent=f"X{(i - 2) % units + 1}",
            children=[f"X{i % units + 1}"],
            outcome="FAIL" if i == units // 2 else "PASS",
        )
        for i in range(1, units + 1)
    ]
    return genealogy.from_records(records, "X1")


def lattice(levels: int) -> nx.DiGraph:
    def level(at: int) -> list[str]:
        return [f"L{at:03d}-{side}" for side in "AB"]

    records = [record("TOP", children=level(0))]
    for at in range(levels):
        below = level(at + 1) if at + 1 < levels else []
        above = level(at - 1)[0] if at else "TOP"
        outcome = "FAIL" if at == levels - 1 else "PASS"
        records += [record(s, parent=above, children=below, outcome=outcome) for s in level(at)]
    return genealogy.from_records(records, level(levels - 1)[0])


def wide(units: int) -> nx.DiGraph:
    children = [f"W{i:06d}" for i in range(units)]
    missing = [f"WM{i:03d}" for i in range(MISSING)]
    records = [record("W", children=children + missing)]
    records += [
        record(name, parent="W", outcome="FAIL" if i % 10 == 9 else "PASS")
        for i, name in enumerate(children)
    ]
    return genealogy.from_records(records, children[0])


# --------------------------------------------------------------------------- the cases


def operation(name: str, graph: nx.DiGraph) -> Callable[[], Any]:
    start = graph.graph["start"]
    cases: dict[str, Callable[[], Any]] = {
        "tree": lambda: genealogy.render(graph, "text"),
        "trace": lambda: (lambda found: (found, format_trace(found, verbose=True)))(
            trace(graph, start, problems=True)
        ),
        "audit": lambda: (
            lambda report: (report, format_audit(report, verbose=True, timeline=True))
        )(audit(graph)),
        "summary": lambda: (lambda result: (result, format_summary(result)))(summarise(graph)),
        "filter": lambda: filter_graph(graph, outcomes=["fail"]),
        "html": lambda: genealogy.render(graph, "html"),  # runs the audit, as the CLI does
    }
    if name in cases:
        return cases[name]
    return lambda: genealogy.render(graph, name)


def size(result: Any) -> int:
    """Characters of output (the text, for a query with a text form)."""
    if isinstance(result, tuple):
        return len(str(result[1]))
    if isinstance(result, str | bytes):
        return len(result)
    if isinstance(result, nx.DiGraph):
        return int(result.number_of_nodes())
    return 0


def check(shape: str, name: str, graph: nx.DiGraph, result: Any, n: int) -> str | None:
    """What is wrong with the answer on this shape, or None."""
    if name == "summary":
        summary = result[0]
        depth = {"chain": n - 1, "cycle": 0, "lattice": n, "wide": 1}[shape]
        if summary.depth != depth:
            return f"depth {summary.depth}, expected {depth}"
    elif name == "audit":
        cycles = [f for f in result[0].findings if f.code == "cycle"]
        if shape == "cycle" and (len(cycles) != 1 or len(cycles[0].serials) != n):
            return f"{len(cycles)} cycle findings, expected one of {n} units"
        if shape != "cycle" and cycles:
            return f"{len(cycles)} cycle findings, expected none"
    elif name == "trace":
        found, text = result
        if shape == "lattice":
            paths = 2 ** (n - 1)
            if found.total_paths != paths or found.truncated != (paths > MAX_PATHS):
                return f"{found.total_paths} paths counted, expected {paths}"
            more = paths - len(found.paths)
            if more and f"{more:,} more paths not shown" not in text:
                return "the text does not say how many paths are not shown"
        elif shape == "chain" and [len(p.steps) for p in found.paths] != [n]:
            return "the chain is not one path through every unit"
        elif shape == "cycle" and [(len(p.steps), p.end) for p in found.paths] != [
            (n + 1, "cycle")
        ]:
            return "the cycle is not one path ending where it started"
        problems = found.problems
        listed = sum(len(problem.paths) for problem in problems.all)
        if shape in ("chain", "wide") and listed + problems.omitted_paths != problems.count:
            return "problem paths listed and left out do not add up to one per problem"
        if problems.omitted_paths and "more paths up from these problems" not in text:
            return "the text does not say that problem paths were left out"
    elif name == "tree":
        lines = result.count("\n")
        expected = {"chain": n + 1, "cycle": n + 2, "lattice": lines, "wide": n + MISSING + 1}
        if lines != expected[shape]:
            return f"{lines} lines, expected {expected[shape]}"
        if shape in ("chain", "cycle") and "[level " not in result:
            return "deep lines are not marked with their level"
    elif name == "filter" and not result.number_of_nodes():
        return "the filter kept nothing"
    elif name in ("json", "csv", "graphml", "dot", "mermaid", "html") and not result:
        return "empty output"
    return None


def peak_mb() -> int:
    """This process's peak resident memory in MB: Linux's VmHWM, which starts anew at exec
    (`ru_maxrss` does not: a child would report its parent's peak if that was higher)."""
    try:
        with open("/proc/self/status") as file:
            for line in file:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def child(shape: str, name: str, path: str, repeat: int, n: int) -> None:
    with open(path, "rb") as file:
        graph = pickle.load(file)
    loaded = peak_mb()
    run = operation(name, graph)
    times = []
    result = None
    for index in range(repeat):
        result = None  # the previous answer is not kept alive during the next run
        began = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - began)
        if index == 0 and times[0] >= FAST:
            break
    peak = peak_mb()
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "runs": len(times),
                "peak_mb": peak,
                "loaded_mb": loaded,
                "output": size(result),
                "wrong": check(shape, name, graph, result, n),
            }
        )
    )


# --------------------------------------------------------------------------- the parent


def cpu_pressure() -> str:
    """Linux PSI: share of the last 10 s in which some runnable task waited for a CPU."""
    try:
        with open("/proc/pressure/cpu") as file:
            return file.readline().split()[1].removeprefix("avg10=") + "%"
    except (OSError, IndexError):
        return "n/a"


def machine() -> str:
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"Python {platform.python_version()}, networkx {nx.__version__}, {os.cpu_count()} CPUs, "
        f"load {load}, CPU pressure {cpu_pressure()}"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chain", type=int, default=100_000, help="units of the chain")
    parser.add_argument("--cycle", type=int, default=10_000, help="units of the cycle")
    parser.add_argument("--levels", type=int, default=31, help="levels of the lattice")
    parser.add_argument("--wide", type=int, default=100_000, help="children of the wide unit")
    parser.add_argument("--repeat", type=int, default=3, help="runs of a fast case")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--ops", default=",".join(OPERATIONS))
    parser.add_argument("--seconds", type=float, default=10.0, help="bound per case")
    parser.add_argument("--megabytes", type=float, default=2048.0, help="peak RSS bound")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.child:
        shape, name, path, repeat, n = args.child
        child(shape, name, path, int(repeat), int(n))
        return 0
    shapes = [s for s in args.shapes.split(",") if s]
    ops = [o for o in args.ops.split(",") if o]
    for unknown in (set(shapes) - set(SHAPES)) | (set(ops) - set(OPERATIONS)):
        print(f"unknown shape or operation: {unknown}", file=sys.stderr)
        return 2
    sizes = {"chain": args.chain, "cycle": args.cycle, "lattice": args.levels, "wide": args.wide}
    builders = {"chain": chain, "cycle": cycle, "lattice": lattice, "wide": wide}
    print(f"genealogy pathological benchmark: {machine()}", flush=True)
    print(
        f"bound per case: {args.seconds:g} s and {args.megabytes:g} MB peak RSS; "
        "graphs built in memory with genealogy.from_records (no HTTP)",
        flush=True,
    )
    over = wrong = 0
    with tempfile.TemporaryDirectory(prefix="genealogy-patho-") as folder:
        paths = {}
        for shape in shapes:
            began = time.perf_counter()
            graph = builders[shape](sizes[shape])
            built = time.perf_counter() - began
            paths[shape] = str(Path(folder) / f"{shape}.pickle")
            with open(paths[shape], "wb") as file:
                pickle.dump(graph, file, protocol=pickle.HIGHEST_PROTOCOL)
            print(
                f"  built {shape} ({sizes[shape]:,}): {graph.number_of_nodes():,} units, "
                f"{graph.number_of_edges():,} links in {built:.1f} s (not judged)",
                flush=True,
            )
            del graph
        header = (
            f"\n{'shape':<8} {'operation':<9} {'runs':>4} {'median s':>9} "
            f"{'peak MB':>8} {'graph MB':>8} {'output':>12}  verdict"
        )
        print(header)
        print("-" * (len(header) + 8))
        for shape in shapes:
            for name in ops:
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    shape,
                    name,
                    paths[shape],
                    str(args.repeat),
                    str(sizes[shape]),
                ]
                done = subprocess.run(command, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    wrong += 1
                    error = done.stderr.strip().splitlines()[-1:] or ["no output"]
                    print(f"{shape:<8} {name:<9} crashed: {error[0]}", flush=True)
                    continue
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                within = figures["seconds"] <= args.seconds and figures["peak_mb"] <= args.megabytes
                verdict = "PASS" if within else "OVER"
                if figures["wrong"]:
                    verdict = f"WRONG: {figures['wrong']}"
                    wrong += 1
                elif not within:
                    over += 1
                print(
                    f"{shape:<8} {name:<9} {figures['runs']:>4} {figures['seconds']:>9.3f} "
                    f"{figures['peak_mb']:>8} {figures['loaded_mb']:>8} "
                    f"{figures['output']:>12,}  {verdict}",
                    flush=True,
                )
    print(
        "\noutput: characters of text (the text form for trace, audit and summary; units kept "
        "for filter)"
    )
    print(f"(end: load {os.getloadavg()[0]:.2f}, CPU pressure {cpu_pressure()})")
    if wrong:
        return 2
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
