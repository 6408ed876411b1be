"""Making data text safe to show: no control characters, no ANSI escapes, no bidi tricks."""

from __future__ import annotations

import re

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, invisible-formatting or lone-surrogate character made visible.

    A record's serial number or part name may hold ANSI escapes or newlines; shown raw they
    could rewrite a terminal, forge lines in a log or break a DOT/SVG/Mermaid document.
    """
    return _UNSAFE.sub(_escape, text)


def shown(value: object) -> str:
    """A value as one printable line; `None` becomes an empty string."""
    return "" if value is None else printable(str(value))
