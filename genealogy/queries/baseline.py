"""A baseline of accepted audit findings, so that CI fails only on findings that are new.

A finding is remembered by its code and the serial numbers it involves, sorted
(`Finding.key`): not by its message, whose dates and run counts change as runs are added, nor by
its place in the report. The same data crawled again gives the same keys; a unit newly
installed, failed or moved gives a new one.

The file is JSON, versioned, and sorted with one finding per line, so that a reviewer reads
its diff as a list of findings accepted or gone:

    {
      "format": "genealogy-audit-baseline",
      "version": 1,
      "findings": [
        {"code": "failed-run-installed", "serials": ["CELL-21700-C-0118", "MOD-16S-0312"]},
        {"code": "no-run", "serials": ["CELL-21700-C-0125"]}
      ]
    }

A code this version does not know is kept, not refused (a later version may have retired it):
it matches nothing, so it shows among the entries no longer found.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from genealogy.errors import UsageError
from genealogy.queries.audit import Audit, FindingKey
from genealogy.text import printable, terminal_json

FORMAT = "genealogy-audit-baseline"
VERSION = 1


class BaselineError(UsageError):
    """A baseline file that cannot be read or is not a baseline; the message names the file."""


@dataclass(frozen=True)
class Baseline:
    keys: frozenset[FindingKey]

    @classmethod
    def of(cls, report: Audit) -> Baseline:
        """Every finding of the report that still counts or was accepted; not those ignored,
        which a run without the same `--ignore` should report."""
        return cls(frozenset(f.key for f in (*report.findings, *report.accepted)))

    def compare(self, report: Audit) -> Audit:
        """The report with the findings this baseline holds moved to `accepted`, and the
        baseline's keys that no longer occur (ignored findings still occur) as `fixed`."""
        occurring = {f.key for f in (*report.findings, *report.accepted, *report.ignored)}
        return replace(
            report,
            findings=tuple(f for f in report.findings if f.key not in self.keys),
            accepted=(*report.accepted, *(f for f in report.findings if f.key in self.keys)),
            fixed=(*report.fixed, *sorted(self.keys - occurring)),
        )

    def to_json(self) -> str:
        entries = [
            json.dumps({"code": code, "serials": list(serials)}, ensure_ascii=False)
            for code, serials in sorted(self.keys)
        ]
        body = ",\n".join(f"    {entry}" for entry in entries)
        findings = f"[\n{body}\n  ]" if entries else "[]"
        header = f'  "format": "{FORMAT}",\n  "version": {VERSION},\n'
        text = f'{{\n{header}  "findings": {findings}\n}}\n'
        return terminal_json(text)  # no bidi or control character reaches a reviewer's screen

    def save(self, path: str | Path) -> None:
        """Write the file whole or not at all (`OutputError` if it cannot be written)."""
        from genealogy.output import write

        write(self.to_json(), str(path))

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """Read a baseline file; `BaselineError` naming the file if it cannot be used."""
        name = printable(str(path))
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise BaselineError(f"cannot read the audit baseline {name!r}: {reason}") from error
        return cls.from_json(text, name)

    @classmethod
    def from_json(cls, text: str, name: str = "<text>") -> Baseline:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise BaselineError(f"the audit baseline {name!r} is not JSON: {error}") from error
        return cls(frozenset(_keys(data, name)))


def _keys(data: Any, name: str) -> Iterable[FindingKey]:
    def invalid(why: str) -> BaselineError:
        return BaselineError(f"the audit baseline {name!r} is not one: {why}")

    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise invalid(f'expected a JSON object with "format": "{FORMAT}"')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise invalid('"version" should be a whole number')
    if version > VERSION:
        raise BaselineError(
            f"the audit baseline {name!r} has version {version}, written by a newer genealogy; "
            f"this one reads version {VERSION}"
        )
    findings = data.get("findings")
    if not isinstance(findings, list):
        raise invalid('"findings" should be a list')
    for index, entry in enumerate(findings):
        serials = entry.get("serials") if isinstance(entry, dict) else None
        code = entry.get("code") if isinstance(entry, dict) else None
        if (
            not isinstance(code, str)
            or not isinstance(serials, list)
            or not serials
            or not all(isinstance(serial, str) for serial in serials)
        ):
            raise invalid(
                f'finding {index + 1} should be {{"code": "...", "serials": ["...", ...]}}'
            )
        yield code, tuple(sorted(set(serials)))
