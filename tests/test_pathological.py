"""Pathological shapes, small enough to run in seconds: a chain deeper than the text indents, a
long cycle, a lattice of exponentially many paths, a unit with many children.

What is checked is the shape of the answers, never a time: results are right on these shapes,
and every limit that cuts an answer short is stated in it. `benchmarks/pathological_benchmark.py`
runs the same shapes at full size and times them.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import subprocess
import sys
from collections import deque
from typing import Any

import networkx as nx
import pytest

import genealogy
from genealogy.queries import audit, format_trace, summarise, trace
from genealogy.queries.audit import _assemblies
from genealogy.queries.trace_text import MAX_INDENT
from genealogy.renderers import text
from tests.records import unit

audit_module = importlib.import_module("genealogy.queries.audit")  # the package names a function so


def chain(units: int, *, failed_every: int = 0) -> nx.DiGraph:
    """C0000 contains C0001 contains ...: crawled from the deepest unit."""
    names = [f"C{i:04d}" for i in range(units)]
    records = [
        unit(
            name,
            parent=names[i - 1] if i else None,
            children=[names[i + 1]] if i + 1 < units else [],
            outcome="FAIL" if failed_every and i % failed_every == failed_every - 1 else "PASS",
        )
        for i, name in enumerate(names)
    ]
    return genealogy.from_records(records, names[-1])


def cycle(units: int) -> nx.DiGraph:
    """X1 contains X2 ... contains Xn contains X1, each record naming its parent."""
    records = [
        unit(f"X{i}", parent=f"X{(i - 2) % units + 1}", children=[f"X{i % units + 1}"])
        for i in range(1, units + 1)
    ]
    return genealogy.from_records(records, "X1")


def lattice(levels: int) -> nx.DiGraph:
    """TOP, then `levels` levels of two units, each listing both units of the next level:
    2^(levels-1) paths from a bottom unit (which FAIL) up to TOP."""

    def level(at: int) -> list[str]:
        return [f"L{at:02d}-{side}" for side in "AB"]

    records = [unit("TOP", children=level(0))]
    for at in range(levels):
        below = level(at + 1) if at + 1 < levels else []
        above = level(at - 1)[0] if at else "TOP"
        outcome = "FAIL" if at == levels - 1 else "PASS"
        records += [unit(s, parent=above, children=below, outcome=outcome) for s in level(at)]
    return genealogy.from_records(records, level(levels - 1)[0])


def wide(children: int, *, missing: int = 0) -> nx.DiGraph:
    """W lists `children` units, all failed, and `missing` units no record has."""
    names = [f"W{i:04d}" for i in range(children)]
    gone = [f"WM{i:03d}" for i in range(missing)]
    records = [unit("W", children=names + gone)]
    records += [unit(name, parent="W", outcome="FAIL") for name in names]
    return genealogy.from_records(records, "W")


# --- the text tree ------------------------------------------------------------------------------


def tree_text(graph: nx.DiGraph) -> str:
    rendered = genealogy.render(graph, "text")
    assert isinstance(rendered, str)
    return rendered


def test_a_chain_deeper_than_the_indent_limit_marks_deep_lines_with_their_level() -> None:
    units = MAX_INDENT + 60
    graph = chain(units)
    lines = tree_text(graph).splitlines()
    assert len(lines) == units + 1  # one line per unit, and the note
    assert lines[-1] == (
        f"(levels down to {units - 1}: lines deeper than {text.MAX_INDENT} are not indented "
        "further, each starts with its [level N])"
    )
    indent = "    " * (text.MAX_INDENT - 1)
    assert lines[text.MAX_INDENT] == f"{indent}└── C{text.MAX_INDENT:04d} P-1 rev A PASS"
    deeper = lines[text.MAX_INDENT + 1]
    assert (
        deeper
        == f"{indent}[level {text.MAX_INDENT + 1}] └── C{text.MAX_INDENT + 1:04d} P-1 rev A PASS"
    )
    assert lines[units - 1].endswith(
        f"[level {units - 1}] └── C{units - 1:04d} P-1 rev A PASS ◀ start"
    )
    longest = max(len(line) for line in lines[:-1])
    assert longest < 4 * text.MAX_INDENT + 60  # bounded, not growing with the depth


def test_a_tree_within_the_indent_limit_has_no_level_marks_and_no_note() -> None:
    lines = tree_text(chain(text.MAX_INDENT + 1)).splitlines()
    assert len(lines) == text.MAX_INDENT + 1
    assert not any("[level" in line for line in lines)
    assert lines[-1].startswith("    " * (text.MAX_INDENT - 1) + "└── ")


def test_a_long_cycle_is_drawn_once_and_closes_on_the_repeated_unit() -> None:
    units = 150
    lines = tree_text(cycle(units)).splitlines()
    assert len(lines) == units + 2  # X1 ... X150, X1 again (*), the note
    assert lines[0] == "X1 P-1 rev A PASS ◀ start"
    assert lines[units].endswith(f"[level {units}] └── X1 P-1 rev A PASS (*) ◀ start")


def naive_tops(graph: nx.DiGraph) -> list[str]:
    """`text.tops` as it was: descendants recomputed for each start."""
    starts = [node for node in graph.graph.get("roots") or [] if node in graph]
    reached: set[str] = set()
    for node in starts:
        reached |= {node, *nx.descendants(graph, node)}
    start = graph.graph.get("start")
    for node in ([start] if start in graph else []) + sorted(graph):
        if node not in reached:
            starts.append(node)
            reached |= {node, *nx.descendants(graph, node)}
    return starts


@pytest.mark.parametrize("seed", range(40))
def test_tops_walks_each_unit_once_and_finds_what_the_naive_walk_finds(seed: int) -> None:
    rng = random.Random(seed)
    graph = random_graph(rng)
    graph.graph["roots"] = genealogy.graph.roots(graph)
    graph.graph["start"] = rng.choice(sorted(graph))
    assert text.tops(graph) == naive_tops(graph)


# --- trace --------------------------------------------------------------------------------------


def test_a_chain_is_traced_whole_with_deep_lines_marked() -> None:
    units = MAX_INDENT + 30
    found = trace(chain(units), f"C{units - 1:04d}")
    assert [(len(path.steps), path.end) for path in found.paths] == [(units, "root")]
    assert found.total_paths == 1 and not found.truncated
    lines = format_trace(found).split("\n\n")[0].splitlines()
    assert len(lines) == units + 1
    assert lines[MAX_INDENT].startswith("   " * (MAX_INDENT - 1) + "└─ in ")
    assert lines[MAX_INDENT + 1].startswith("   " * MAX_INDENT + f"[level {MAX_INDENT + 1}] └─ in ")
    assert lines[-1] == (
        f"({units - 1:,} levels: lines deeper than {MAX_INDENT} are not indented further, "
        "each starts with its [level N])"
    )


def test_the_first_path_is_listed_whole_whatever_the_step_limit() -> None:
    found = trace(chain(50), "C0049", max_steps=10)
    assert [len(path.steps) for path in found.paths] == [50]
    assert not found.truncated


@pytest.mark.slow
def test_a_lattice_lists_the_first_paths_and_counts_the_others() -> None:
    graph = lattice(12)  # 2^11 = 2048 paths from the bottom up
    found = trace(graph, "L11-A")
    assert len(found.paths) == 1000 and found.truncated
    assert found.total_paths == 2048
    assert all(path.serials[-1] == "TOP" and len(path.steps) == 13 for path in found.paths)
    assert len({path.serials for path in found.paths}) == 1000  # each distinct
    assert "... 1,048 more paths not shown: only the first 1,000 are listed" in format_trace(found)
    data = json.loads(json.dumps(found.to_dict()))
    assert (data["truncated"], data["total_paths"]) == (True, 2048)


def test_a_lattice_trace_stops_at_the_step_limit_too() -> None:
    found = trace(lattice(12), "L11-A", max_steps=13 * 5)
    assert len(found.paths) == 5 and found.truncated and found.total_paths == 2048
    assert "... 2,043 more paths not shown: only the first 5 are listed" in format_trace(found)


def test_paths_through_a_cycle_are_listed_but_not_counted() -> None:
    graph = lattice(6)
    graph.add_edge("L05-A", "L00-A")  # a cycle above L05-B through L05-A
    found = trace(graph, "L05-B", max_paths=3)
    assert found.truncated and found.total_paths is None
    assert "... more paths not shown: only the first 3 are listed" in format_trace(found)


def test_a_long_cycle_is_one_path_back_to_the_unit() -> None:
    found = trace(cycle(120), "X1")
    assert [(len(path.steps), path.end) for path in found.paths] == [(121, "cycle")]
    assert found.reached == ("X1",) and found.tops == ()  # no top-level assembly above it


def test_problem_paths_beyond_the_limit_are_counted_and_said_so() -> None:
    found = trace(wide(30, missing=5), "W0000", problems=True, max_problem_paths=10)
    report = found.problems
    assert report is not None
    assert report.count == 35 and len(report.all) == 35  # every problem is listed and counted
    assert [(group.kind, group.count) for group in report.groups] == [
        ("failed", 30),
        ("not_found", 5),
    ]
    assert sum(len(problem.paths) for problem in report.all) == 10
    assert report.omitted_paths == 25
    assert [p.paths for p in report.all[:10]] == [((f"W{i:04d}", "W"),) for i in range(10)]
    assert (
        "  ... 25 more paths up from these problems not shown: at most 1,000 paths and "
        "200,000 units are listed"
    ) in format_trace(found, verbose=True)
    assert "more paths up" not in format_trace(found)  # the paths are listed with -v only
    assert found.to_dict()["problems"]["omitted_paths"] == 25


def test_problem_paths_stop_at_the_step_limit() -> None:
    found = trace(chain(40, failed_every=4), "C0039", problems=True, max_steps=100)
    assert found.problems is not None
    listed = found.problems.all
    lengths = [len(path) for problem in listed for path in problem.paths]
    assert len(listed) == 10
    assert sum(lengths) <= 100 and found.problems.omitted_paths == 10 - len(lengths)
    assert lengths[0] == 4  # C0003 up to C0000: shortest first, in serial order


def reference_path_up(graph: nx.DiGraph, node: str, top: str) -> tuple[str, ...]:
    """The breadth-first search over sorted parents `trace` used to run once per problem."""
    came_from: dict[str, str | None] = {node: None}
    queue = deque([node])
    while queue:
        current = queue.popleft()
        if current == top:
            path: list[str] = []
            at: str | None = current
            while at is not None:
                path.append(at)
                at = came_from[at]
            return tuple(reversed(path))
        for parent in sorted(p for p in graph.predecessors(current) if p != current):
            if parent not in came_from:
                came_from[parent] = current
                queue.append(parent)
    raise AssertionError("not reached")


def random_graph(rng: random.Random) -> nx.DiGraph:
    graph = nx.DiGraph()
    nodes = [f"N{i}" for i in range(rng.randint(1, 14))]
    for node in nodes:
        status = "ok" if rng.random() < 0.8 else rng.choice(["not_found", "error", "unexplored"])
        outcome = rng.choice(["PASS", "FAIL", "ERROR", None])
        graph.add_node(node, status=status, run_outcome=outcome, parent_serial=None)
    for _ in range(rng.randint(0, 2 * len(nodes))):
        a, b = rng.choice(nodes), rng.choice(nodes)
        if rng.random() < 0.7 and a > b:
            a, b = b, a  # mostly downwards: few cycles
        graph.add_edge(a, b)
    return graph


@pytest.mark.parametrize("seed", range(60))
def test_problem_paths_are_the_shortest_a_breadth_first_search_finds(seed: int) -> None:
    rng = random.Random(seed)
    graph = random_graph(rng)
    found = trace(graph, rng.choice(sorted(graph)), problems=True)
    assert found.problems is not None
    for problem in found.problems.all:
        tops = [t for t in found.reached if problem.serial in {t, *nx.descendants(graph, t)}]
        assert problem.paths == tuple(reference_path_up(graph, problem.serial, t) for t in tops)


@pytest.mark.parametrize("seed", range(60))
def test_path_counts_match_the_paths_listed_without_limits(seed: int) -> None:
    rng = random.Random(seed)
    graph = random_graph(rng)
    serial = rng.choice(sorted(graph))
    everything = trace(graph, serial, max_paths=10**6)
    cut = trace(graph, serial, max_paths=1)
    assert cut.paths == everything.paths[:1]
    if any(path.end == "cycle" for path in everything.paths):
        assert cut.total_paths is None or not cut.truncated
    else:
        assert cut.total_paths == len(everything.paths)


# --- audit, summary -----------------------------------------------------------------------------


def test_a_long_cycle_is_one_finding_naming_every_unit_in_order() -> None:
    units = 300
    findings = [f for f in audit(cycle(units)).findings if f.code == "cycle"]
    assert len(findings) == 1
    serials = findings[0].serials
    assert serials[0] == "X1" and len(serials) == units
    assert list(serials) == [f"X{i}" for i in range(1, units + 1)]
    assert findings[0].message.endswith("X300 contains X1")


def cyclic_lattice(levels: int) -> nx.DiGraph:
    """A lattice whose bottom units list both top ones: 2^levels cycles and more."""
    graph = lattice(levels)
    for side in "AB":
        for top in ("L00-A", "L00-B"):
            graph.add_edge(f"L{levels - 1:02d}-{side}", top)
    return graph


def test_cycles_beyond_the_limit_are_named_in_one_last_finding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit_module, "MAX_CYCLES", 5)
    graph = cyclic_lattice(8)
    findings = [f for f in audit(graph).findings if f.code == "cycle"]
    assert len(findings) == 6
    (rest,) = [f for f in findings if "not listed" in f.message]
    tangle = {f"L{level:02d}-{side}" for level in range(8) for side in "AB"}
    assert set(rest.serials) == tangle and list(rest.serials) == sorted(tangle)
    assert rest.message == (
        "more assembly cycles among these 16 units are not listed: only the first 5 cycles "
        "are (at most 5 cycles and 100,000 units named in all)"
    )


def test_cycles_stop_at_the_unit_limit_but_the_first_is_listed_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit_module, "MAX_CYCLE_UNITS", 5)
    findings = [f for f in audit(cyclic_lattice(8)).findings if f.code == "cycle"]
    listed = [f.serials for f in findings if "not listed" not in f.message]
    assert listed == [tuple(f"L{level:02d}-A" for level in range(8))]  # 8 units: whole
    assert any("only the first 1 cycles are" in f.message for f in findings)


@pytest.mark.slow
def test_the_cycles_listed_under_a_limit_do_not_depend_on_hash_seeds() -> None:
    """networkx's simple_cycles starts from whichever unit a set yields first, so which cycles
    a limit keeps changed from run to run; the audit's own search starts from serials."""
    script = (
        "import importlib, sys; sys.path.insert(0, '.');"
        "from tests.test_pathological import cyclic_lattice;"
        "from genealogy.queries import audit;"
        "m = importlib.import_module('genealogy.queries.audit'); m.MAX_CYCLES = 7;"
        "print([f.serials for f in audit(cyclic_lattice(7)).findings if f.code == 'cycle'])"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_a_cycle_through_every_unit_of_its_tangle_keeps_both_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit_module, "MAX_CYCLES", 1)
    graph = nx.DiGraph([("A", "B"), ("B", "C"), ("C", "A"), ("C", "B")])
    for node in graph:
        graph.nodes[node].update(status="ok", parent_serial=None, children_serials=[])
    findings = [f for f in audit(graph).findings if f.code == "cycle"]
    assert [f.serials for f in findings] == [("A", "B", "C")]
    assert findings[0].message.startswith("assembly cycle: A contains B contains C contains A; ")
    assert "more assembly cycles among these 3 units are not listed" in findings[0].message


def test_a_group_with_no_root_is_one_assembly_of_all_it_reaches() -> None:
    graph = cycle(50)
    graph.add_edge("X7", "Y-EXTRA")
    graph.nodes["Y-EXTRA"].update(status="ok")
    assert list(_assemblies(graph)) == [("X1", set(graph))]


def test_summary_of_the_shapes() -> None:
    assert summarise(chain(250)).depth == 249
    assert summarise(cycle(80)).depth == 0  # the cycle is one level
    assert summarise(lattice(10)).depth == 10
    shape = summarise(wide(40, missing=3))
    assert (shape.depth, shape.widest_serial, shape.widest_children) == (1, "W", 43)


# --- renderers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "dot", "mermaid", "csv", "graphml", "html"])
def test_every_renderer_draws_every_unit_of_a_long_cycle(fmt: str) -> None:
    graph = cycle(120)
    rendered = genealogy.render(graph, fmt)
    assert isinstance(rendered, str)
    for serial in ("X1", "X60", "X120"):
        assert serial in rendered


def test_the_html_page_places_a_long_chain_as_one_line_of_kids() -> None:
    from genealogy.renderers.html_page import page_data

    graph = chain(300, failed_every=100)
    data: dict[str, Any] = page_data(graph)
    units = data["units"]
    at = {entry["serial"]: i for i, entry in enumerate(units)}
    assert [units[i]["serial"] for i in data["roots"]] == ["C0000"]
    assert units[at["C0000"]]["kids"] == [at["C0001"]]
    assert units[at["C0000"]]["below"] == {"failed": 3}  # C0099, C0199, C0299
    assert units[at["C0150"]]["below"] == {"failed": 2}
    assert "below" not in units[at["C0299"]]
