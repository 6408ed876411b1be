"""The audit's finding codes: severity and one line on what each means, in report order.

Kept apart from `genealogy.queries.audit` (which imports networkx) so that `genealogy audit
--help` can list every code without paying for the graph library. The README's table of codes
says more, and what to do about each; tests/test_audit_cli.py checks that the checks in
`genealogy.queries.audit`, this table, `--help` and the README name the same codes.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
"""Most severe first."""

_TABLE: tuple[tuple[str, Severity, str], ...] = (
    ("cycle", "error", "units contain each other in a loop"),
    ("self-parent", "error", "a unit names itself as its parent or child"),
    ("dangling-reference", "error", "a referenced unit does not exist (404)"),
    ("failed-run-installed", "error", "the run that made a unit failed, yet it is installed"),
    ("latest-run-failed", "error", "an installed unit's latest run (a retest) failed"),
    ("inconsistent-link", "warning", "parent and child records disagree about their link"),
    ("fetch-error", "warning", "a unit could not be fetched, so it was not checked"),
    ("child-after-parent-assembly", "warning", "a child was made after its parent was tested"),
    ("mixed-revisions", "warning", "one part on several revisions in one product"),
    ("serial-mismatch", "warning", "the record fetched for a serial names another serial"),
    ("passed-then-failed", "warning", "a unit installed in nothing passed, then failed"),
    ("repaired-record", "info", "a malformed field of a record was repaired"),
    ("reworked", "info", "a unit failed, then passed: reworked or retested"),
    ("no-run", "info", "a unit has no run: never tested"),
    ("unexplored", "info", "a limit or an interruption left units unfetched"),
)

CODES: dict[str, Severity] = {code: severity for code, severity, _ in _TABLE}
"""Every finding code and its severity, in report order."""

MEANINGS: dict[str, str] = {code: meaning for code, _, meaning in _TABLE}
"""One short line per code, as `--help` gives it."""


def help_text() -> str:
    """Every code with its severity and meaning, one per line, for `--help` (`\\b` keeps
    click from rewrapping it)."""
    width = max(map(len, CODES))
    lines = [f"  {code:<{width}}  {CODES[code]:<7}  {MEANINGS[code]}" for code in CODES]
    return "\b\nFinding codes (the README says what to do about each):\n" + "\n".join(lines)
