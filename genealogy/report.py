"""What a crawl amounts to for the user: a summary on stderr and the exit code."""

from __future__ import annotations

from collections import Counter

from genealogy.crawler import CrawlResult, Status
from genealogy.errors import ExitCode
from genealogy.text import shown

MAX_LISTED = 20


def exit_code_for(result: CrawlResult, strict: bool) -> ExitCode:
    if result.interrupted:
        return ExitCode.INTERRUPTED
    return ExitCode.INCOMPLETE if result.failed(strict) else ExitCode.OK


def crawl_summary(result: CrawlResult, strict: bool) -> str:
    """A few lines: what was crawled, at what cost, and every unit that is not `ok`, with why."""
    statuses = Counter(state.status for state in result.units.values())
    counts = ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(statuses.items()))
    c = result.counters
    lines = [
        f"{len(result.units)} units ({counts}) in {result.seconds:.2f} s: "
        f"{c.requests} requests, {c.retries} retries, {c.cache_hits} from cache"
    ]
    if result.interrupted:
        lines.append("interrupted: the output holds what was crawled so far")
    failed = {state.serial for state in result.failed(strict)}
    problems = sorted(
        (s for s in result.units.values() if s.status is not Status.OK),
        key=lambda s: (s.serial not in failed, s.serial),  # failures first, then by serial
    )
    for state in problems[:MAX_LISTED]:
        mark = "✗" if state.serial in failed else "·"
        status, reason = shown(state.status), shown(state.reason)
        lines.append(f"  {mark} {shown(state.serial)}: {status}: {reason}")
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more (see the export's status field)")
    return "\n".join(lines)
