"""The audit as text: the findings first, grouped by code with counts; the timeline on request.

On a product of 5,000 units one code can have 400 findings and the timeline 5,000 rows: listed
one per line, they scrolled the rest away. So each code gets one header line with its count,
the worst codes first, and a few of its findings; `verbose` lists every one (JSON always
holds them all). A group only one line longer than the few is shown whole: a line saying
"1 more" would take the room of the finding itself.

    9 findings: 6 error, 2 warning, 1 info

    error    failed-run-installed  ×403
      CELL-0001's run ended FAIL, yet it is installed in MOD-01
      ...
      … and 398 more (-v lists every one)
"""

from __future__ import annotations

from genealogy.queries.audit import SEVERITIES, Audit, FindingGroup, TimelineEntry
from genealogy.text import counted, ljust, shown, width

GROUP_LINES = 5
"""Findings shown per code without `verbose`."""


def format_text(result: Audit, *, verbose: bool = False, timeline: bool = False) -> str:
    """The findings by code (a few per code, or all with `verbose`), what was set aside, and
    with `timeline` the creation timeline as an aligned table."""
    parts = [_findings_text(result, verbose)]
    if verbose and result.fixed:
        parts.append(_fixed_text(result))
    if timeline:
        parts.append(_timeline_text(result.timeline))
    return "\n\n".join(parts)


def _findings_text(result: Audit, verbose: bool) -> str:
    lines = [_headline(result, verbose)]
    groups = result.grouped()
    if groups:
        lines.append("")
    code_width = max((len(group.code) for group in groups), default=0)
    for group in groups:
        code = shown(group.code).ljust(code_width)
        lines.append(f"{group.severity:<7}  {code}  ×{len(group.findings)}")
        lines.extend(_group_lines(group, verbose))
    return "\n".join(lines)


def _headline(result: Audit, verbose: bool) -> str:
    """`9 findings: 6 error, 2 warning, 1 info`, then what was set aside and why."""
    total = len(result.findings)
    counts = ", ".join(f"{result.count(s)} {s}" for s in SEVERITIES if result.count(s))
    line = "No findings" if not total else f"{counted(total, 'finding')}: {counts}"
    notes = []
    if result.ignored:
        codes = ", ".join(sorted({shown(f.code) for f in result.ignored}))
        notes.append(f"{len(result.ignored)} ignored ({codes})")
    if result.accepted:
        notes.append(f"{len(result.accepted)} accepted by the baseline")
    if result.fixed:
        entries = counted(len(result.fixed), "baseline entry", "baseline entries")
        where = "" if verbose else f": -v lists {'it' if len(result.fixed) == 1 else 'them'}"
        notes.append(f"{entries} no longer found (fixed{where})")
    return f"{line}; {'; '.join(notes)}" if notes else line


def _group_lines(group: FindingGroup, verbose: bool) -> list[str]:
    findings = group.findings
    listed = findings if verbose or len(findings) <= GROUP_LINES + 1 else findings[:GROUP_LINES]
    lines = [f"  {shown(finding.message)}" for finding in listed]
    if len(listed) < len(findings):
        lines.append(f"  … and {len(findings) - len(listed)} more (-v lists every one)")
    return lines


def _fixed_text(result: Audit) -> str:
    lines = [f"No longer found, though the baseline accepted them ({len(result.fixed)}):"]
    lines.extend(
        f"  {shown(code)}: {', '.join(shown(serial) for serial in serials)}"
        for code, serials in result.fixed
    )
    return "\n".join(lines)


def _timeline_text(entries: tuple[TimelineEntry, ...]) -> str:
    header = ("created", "serial", "part", "run", "procedure", "by", "outcome", "seconds")
    rows = [header]
    for e in entries:
        part = shown(e.part_number) + (f" rev {shown(e.revision)}" if e.revision else "")
        seconds = "" if e.duration_s is None else f"{e.duration_s:g}"
        rows.append(
            (
                shown(e.created_at),
                shown(e.serial),
                part,
                shown(e.run_id),
                shown(e.procedure),
                shown(e.made_by),
                shown(e.outcome) if e.run_id else "no run",
                seconds,
            )
        )
    widths = [max(_columns(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return f"Timeline ({len(entries)} units)\n" + "\n".join(lines)


def _columns(text: str) -> int:
    """`genealogy.text.width`, without looking up each character of plain ASCII text (every
    ASCII character `shown` leaves takes one column): 100,000 rows in a fraction of the time."""
    return len(text) if text.isascii() else width(text)


def _pad(text: str, columns: int) -> str:
    return text.ljust(columns) if text.isascii() else ljust(text, columns)
