"""A trace for humans: each path as an indented chain, the structure on it, then the problems.

One block per path: the unit, then `└─ in PARENT (...)` lines, each indented further (up to
`MAX_INDENT` levels: deeper lines start with their `[level N]` instead). A step reads
`SERIAL (PART rev R, batch B, OUTCOME; PROCEDURE at STATION, DATE; N runs: ...)`, leaving out
what is not known. Then the structural problems on the paths (or a line saying there are
none), then the problems inside the top-level assemblies grouped by kind with counts (the
first few serials of each; `verbose`: each unit with its path up), or a line saying that
`--problems` lists them. Every piece of data is made printable (`genealogy.text.shown`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from genealogy.queries.trace import (
    MAX_PROBLEM_PATHS,
    MAX_STEPS,
    PATH_COUNT_LIMIT,
    Flag,
    Problem,
    Step,
    Trace,
    TracePath,
    Traces,
)
from genealogy.text import counted, shown
from genealogy.timestamps import day, run_day

MAX_INDENT = 100
"""Levels the text indents further; deeper lines stay at this indent and show their level."""
HISTORY_SHOWN = 5
"""Latest runs the text lists per unit; the earlier ones are counted."""
SERIALS_SHOWN = 5
"""Serials named per problem kind without `verbose`; the rest are counted."""

Charset = Literal["unicode", "ascii"]

KIND_WORDS = {
    "failed": "failed (FAIL)",
    "errored": "errored (ERROR, TIMEOUT or ABORTED: no verdict)",
    "not_found": "not found (named by a record, unknown to the API)",
    "fetch_error": "could not be fetched",
}
FLAG_WORDS = {"cycle": "cycle", "self_parent": "self-parent", "contradiction": "contradiction"}
NOT_FOUND = "not found: the API knows no unit of this serial number"
END_NOTES = {
    "root": "[top-level assembly]",
    "self_parent": "[not a top-level assembly: its record names itself as its parent]",
}


def describe(part_number: str | None, revision: str | None, state: str | None) -> str:
    """`(PART rev X, STATE)`, leaving out what is unknown; every piece made printable."""
    part = shown(part_number)
    if revision is not None:
        part = f"{part} rev {shown(revision)}".strip()
    bits = [bit for bit in (part, shown(state)) if bit]
    return f"({', '.join(bits)})" if bits else ""


def history_text(step: Step, *, limit: int = HISTORY_SHOWN) -> str:
    """`3 runs: FAIL 2026-03-01, FAIL 03-02, PASS 03-04` (the latest `limit` runs, oldest
    first; a date gives its year only when it changes); empty when the history is unknown or
    holds no run. Every piece made printable."""
    if step.run_count is None or (not step.run_count and not step.runs):
        return ""
    count = step.run_count
    words = counted(count, "run")
    runs = step.runs or ()
    if not runs:
        return words
    shown_runs = runs[-limit:]
    earlier = max(count, len(runs)) - len(shown_runs)  # `runs` may hold fewer than counted
    listed = []
    year = None
    for run in shown_runs:
        word = shown(run.get("outcome")) or "?"
        dated = run_day(run)
        if dated is None:
            listed.append(word)
        else:
            listed.append(f"{word} {dated[5:] if dated[:4] == year else dated}")
            year = dated[:4]
    more = f"{earlier} earlier, " if earlier else ""
    return f"{words}: {more}{', '.join(listed)}"




def run_text(step: Step) -> str:
    """`Cell grading at Grader 1, 2026-03-03`: the procedure, station and day of the run the
    step describes (its latest, else its creating run); empty when none of them is known."""
    procedure, station = shown(step.procedure), shown(step.station)
    where = " at ".join(bit for bit in (procedure, station) if bit)
    if station and not procedure:
        where = f"at {station}"
    date = day(step.date)
    return ", ".join(bit for bit in (where, date) if bit)


def label(step: Step) -> str:
    """Everything known about a step, in one pair of brackets."""
    part = shown(step.part_number)
    if step.revision is not None:
        part = f"{part} rev {shown(step.revision)}".strip()
    batch = f"batch {shown(step.batch)}" if step.batch else ""
    first = ", ".join(bit for bit in (part, batch, shown(step.state)) if bit)
    sections = [bit for bit in (first, run_text(step), history_text(step)) if bit]
    return f"({'; '.join(sections)})" if sections else ""


def format_text(
    result: Trace | Traces, *, charset: Charset = "unicode", verbose: bool = False
) -> str:
    """The whole report: paths, structure, shared products (several units), problems."""
    if isinstance(result, Trace):
        blocks = _trace_blocks(result, charset)
        blocks.append(_structure(result.flags, charset, result.up_only))
        blocks.append(_problems(result, charset, verbose))
        return "\n\n".join(blocks)
    blocks = []
    traces = {found.serial: found for found in result.traces}
    for serial in result.serials:
        found = traces.get(serial)
        paths = _trace_blocks(found, charset) if found else [NOT_FOUND]
        blocks.append(f"== {shown(serial)} ==\n" + "\n\n".join(paths))
    blocks.append(_structure(result.flags, charset, result.up_only))
    if len(result.traces) > 1:
        blocks.append(_shared(result))
    blocks.append(_problems(result, charset, verbose))
    return "\n\n".join(blocks)


def _trace_blocks(result: Trace, charset: Charset) -> list[str]:
    blocks = [_path_text(path, charset) for path in result.paths]
    if result.truncated:
        listed = len(result.paths)
        first_ones = f"only the first {listed:,} {'is' if listed == 1 else 'are'} listed"
        total = result.total_paths
        if total is None:
            blocks.append(f"... more paths not shown: {first_ones}")
        elif total >= PATH_COUNT_LIMIT:
            blocks.append(f"... more paths not shown (at least {total:,} in all): {first_ones}")
        else:
            more = total - listed
            noun = "path" if more == 1 else "paths"
            blocks.append(f"... {more:,} more {noun} not shown: {first_ones}")
    return blocks


def _path_text(path: TracePath, charset: Charset) -> str:
    ascii_only = charset == "ascii"
    branch = "`- in " if ascii_only else "└─ in "
    deepest = "   " * MAX_INDENT
    first = path.steps[0]
    lines = [f"{shown(first.serial)} {label(first)}".rstrip()]
    for level, step in enumerate(path.steps[1:]):
        indent = "   " * level if level < MAX_INDENT else f"{deepest}[level {level + 1}] "
        lines.append(f"{indent}{branch}{shown(step.serial)} {label(step)}".rstrip())
    if path.end == "cycle":
        lines[-1] += f"  [cycle: {shown(path.top)} is already on this path]"
    elif path.end == "unknown":
        last = path.steps[-1]
        if last.status == "ok":
            lines[-1] += "  [top of what was crawled: its parent was not crawled]"
        else:
            lines[-1] += f"  [{shown(last.state)}: what contains it is unknown]"
    elif path.end == "self_parent" or len(path.steps) == 1:
        lines[-1] += "  " + END_NOTES[path.end]
    if len(path.steps) > MAX_INDENT + 1:
        lines.append(
            f"({len(path.steps) - 1:,} levels: lines deeper than {MAX_INDENT} are not "
            "indented further, each starts with its [level N])"
        )
    return "\n".join(lines)


def _structure(flags: Sequence[Flag], charset: Charset, up_only: bool) -> str:
    unread = (
        "\n(Crawled up only: a unit listing one of these as a child, other than the parent its "
        "record names, was not read; --problems or --down read more.)"
        if up_only
        else ""
    )
    if not flags:
        return (
            "Structure: no cycle, self-parent or contradicting parent records on these paths."
            + unread
        )
    mark = "x" if charset == "ascii" else "✗"
    lines = [f"Structural problems on these paths ({len(flags)}):"]
    lines.extend(f"  {mark} {FLAG_WORDS[flag.kind]}: {flag.message}" for flag in flags)
    return "\n".join(lines) + unread


def _shared(result: Traces) -> str:
    if not result.shared:
        return "No top-level assembly contains more than one of them."
    lines = ["Top-level assemblies containing several of them:"]
    for top, units in result.shared:
        lines.append(f"  {shown(top)} contains {', '.join(shown(unit) for unit in units)}")
    return "\n".join(lines)


def _problems(result: Trace | Traces, charset: Charset, verbose: bool) -> str:
    report = result.problems
    where = _tops_words(report.tops if report else result.reached)
    if report is None and result.problems_interrupted:
        return (
            f"Problems inside {where}: not looked at: the run was interrupted before "
            "--problems crawled them (run it again to list them)."
        )
    if report is None:
        return f"Problems inside {where}: not looked at (--problems crawls them and lists them)."
    unexplored = report.unexplored
    looked = f"{report.units:,} {'unit' if report.units == 1 else 'units'} looked at"
    if unexplored:
        looked += (
            f"; {unexplored:,} {'unit was' if unexplored == 1 else 'units were'} not looked at "
            "(a limit or an interruption), nor what they contain, so problems among them are "
            "not counted"
        )
    if not report.groups:
        return f"No failed, errored or missing units inside {where} ({looked})."
    mark = "x" if charset == "ascii" else "✗"
    arrow = " -> " if charset == "ascii" else " → "
    count = report.count
    lines = [f"Problems inside {where}: {count:,} ({looked}):"]
    for group in report.groups:
        lines.append(f"  {mark} {group.count:,} {KIND_WORDS[group.kind]}")
        if verbose:
            for problem in group.problems:
                lines.append(f"      {_problem_line(problem)}")
                lines.extend(f"        {arrow.join(map(shown, path))}" for path in problem.paths)
            continue
        first = ", ".join(shown(problem.serial) for problem in group.problems[:SERIALS_SHOWN])
        more = group.count - SERIALS_SHOWN
        lines.append(f"      {first}{f' and {more:,} more' if more > 0 else ''}")
    if not verbose and any(group.count > SERIALS_SHOWN for group in report.groups):
        lines.append("  (-v lists every unit with its path; -f json too)")
    if verbose and report.omitted_paths:
        omitted = report.omitted_paths
        lines.append(
            f"  ... {omitted:,} more {'path' if omitted == 1 else 'paths'} up from these "
            f"problems not shown: at most {MAX_PROBLEM_PATHS:,} paths and {MAX_STEPS:,} units "
            "are listed"
        )
    return "\n".join(lines)


def _problem_line(problem: Problem) -> str:
    detail = shown(problem.detail)
    unit = f"{shown(problem.serial)} {describe(problem.part_number, problem.revision, None)}"
    return f"{unit.rstrip()}: {detail}" if detail else unit.rstrip()


def _tops_words(tops: Sequence[str]) -> str:
    if not tops:
        return "the top-level assemblies"
    names = ", ".join(shown(top) for top in tops[:5])
    more = f" and {len(tops) - 5:,} more" if len(tops) > 5 else ""
    return f"{names}{more}"
