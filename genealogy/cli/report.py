"""What a crawl amounts to for the user: one summary line on stderr, and the exit code."""

from __future__ import annotations

from collections import Counter

from genealogy.crawler import CrawlResult, UnitState
from genealogy.errors import ExitCode
from genealogy.nodes import Status
from genealogy.text import counted, shown

LISTED_FAILURES = 5
"""Units that could not be fetched, listed without -v: the reason for exit code 3."""


def exit_code_for(result: CrawlResult, strict: bool) -> ExitCode:
    if result.interrupted:
        return ExitCode.INTERRUPTED  # the CLI tells Ctrl-C from SIGTERM and SIGHUP
    return ExitCode.INCOMPLETE if result.failed(strict) else ExitCode.OK


def crawl_summary(
    result: CrawlResult, strict: bool, *, verbose: bool = False, findings: int | None = None
) -> str:
    """One line: what was crawled and at what cost. Then the units that could not be fetched
    (the first few; with `verbose` every unit that is not `ok`), each with why."""
    statuses = Counter(state.status for state in result.units.values())
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(statuses.items()))
    c = result.counters
    line = (
        f"{len(result.units)} units ({counts}) in {result.seconds:.2f} s: "
        f"{c.requests} requests, {c.retries} retries, {c.cache_hits} from cache"
    )
    if findings is not None:
        line += f"; {findings} finding{'' if findings == 1 else 's'}"
    if result.interrupted:
        line += "; interrupted: the output holds what was crawled so far"
    failed = sorted(result.failed(strict), key=lambda state: state.serial)
    shown_states = _not_ok(result) if verbose else failed[:LISTED_FAILURES]
    failed_serials = {state.serial for state in failed}
    lines = [line]
    for state in shown_states:
        mark = "✗" if state.serial in failed_serials else "·"
        status, reason = shown(state.status), shown(state.reason)
        lines.append(f"  {mark} {shown(state.serial)}: {status}: {reason}")
    if len(shown_states) < len(failed):
        lines.append(f"  ... and {len(failed) - len(shown_states)} more (-v lists them)")
    return "\n".join(lines)


def limit_notes(result: CrawlResult) -> list[str]:
    """Plain sentences for the limits a crawl ran into, saying which option moves them."""
    reasons = [state.reason or "" for state in result.units.values() if state.status != "ok"]
    notes = []
    unit_limit = sum("unit limit" in reason for reason in reasons)
    if unit_limit:
        limit = result.limits.max_units
        notes.append(
            f"The crawl stopped at its unit limit ({limit:,}): {_units(unit_limit)} not "
            "fetched. Raise --max-units (0: no limit)."
        )
    late = sum("the deadline of" in reason for reason in reasons)
    if late:
        notes.append(f"The --deadline passed: {_units(late)} not fetched.")
    return notes


def _units(count: int) -> str:
    return "1 unit was" if count == 1 else f"{count:,} units were"


def _not_ok(result: CrawlResult) -> list[UnitState]:
    failed = {state.serial for state in result.failed(strict=True)}
    return sorted(
        (s for s in result.units.values() if s.status is not Status.OK),
        key=lambda s: (s.serial not in failed, s.serial),  # failures first, then by serial
    )


def failure_line(result: CrawlResult, strict: bool) -> str | None:
    """Why the exit code is not 0, in one line (what `-q` still prints), or None."""
    if result.interrupted:
        return "interrupted: the output holds what was crawled so far"
    failed = sorted(result.failed(strict), key=lambda state: state.serial)
    if not failed:
        return None
    names = ", ".join(f"{shown(s.serial)} ({s.status.replace('_', ' ')})" for s in failed[:3])
    more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
    return f"{counted(len(failed), 'unit')} failed: {names}{more}"
