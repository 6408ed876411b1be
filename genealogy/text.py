"""Making data text safe to show: no control characters, no ANSI escapes, no bidi tricks."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufffe\uffff\ud800-\udfff]"
)
"""C0/C1 controls, zero-width and invisible characters, every bidi control, the BOM, lone
surrogates, and U+FFFE/U+FFFF: the last two are not XML characters, so Graphviz rejects them in
a label and no SVG may hold them.
"""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control, invisible-formatting, non-XML or lone-surrogate character made
    visible as a `\\xNN` / `\\uNNNN` escape.

    A record's serial number or part name may hold ANSI escapes or newlines; shown raw they
    could rewrite a terminal, forge lines in a log or break a DOT/SVG/Mermaid document.
    """
    return _UNSAFE.sub(_escape, text)


def shown(value: object) -> str:
    """A value as one printable line; `None` becomes an empty string."""
    return "" if value is None else printable(str(value))


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, the last one `…` when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def width(text: str) -> int:
    """Terminal columns `text` takes: East Asian wide and fullwidth characters take two,
    combining marks none, so columns of mixed scripts line up."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def ljust(text: str, columns: int) -> str:
    """`text` padded with spaces to `columns` terminal columns (`str.ljust` counts characters)."""
    return text + " " * (columns - width(text))
