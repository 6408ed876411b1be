"""Making data text safe to show: no control characters, ANSI escapes, bidi tricks or invisibles."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\ufff0-\ufff8\ufffe\uffff\ud800-\udfff"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
"""C0/C1 controls, every bidi control, the BOM, lone surrogates, U+FFFE/U+FFFF, and every
Unicode Default_Ignorable_Code_Point.

U+FFFE/U+FFFF are not XML characters, so Graphviz rejects them in a label and no SVG may hold
them. Default-ignorable characters are drawn as nothing: zero-width spaces and joiners, the soft
hyphen, the Hangul fillers, tag characters (U+E0000-U+E0FFF), variation selectors. Left raw, two
different serial numbers would look identical (`A1`, and `A1` with a soft hyphen or a tag
character in it). The price: an emoji written with a variation selector (U+FE0F) or a joiner
(U+200D) shows its escape next to the bare symbol. Safety over looks.
"""


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with every control, invisible, non-XML or lone-surrogate character made visible
    as a `\\xNN`, `\\uNNNN` or (beyond U+FFFF) `\\UNNNNNNNN` escape, as in Python.

    A record's serial number or part name may hold ANSI escapes or newlines; shown raw they
    could rewrite a terminal, forge lines in a log or break a DOT/SVG/Mermaid document.
    """
    return _UNSAFE.sub(_escape, text)


def terminal_json(text: str) -> str:
    """JSON text with every unsafe character inside its strings as a JSON escape (`\u202e`),
    for a terminal: the same JSON value, but no C1 control or bidi character reaches the
    screen. Raw tabs, line ends and carriage returns in JSON text are its own whitespace
    (inside strings JSON escapes them), so they stay."""
    return _UNSAFE_IN_JSON.sub(_json_escape, text)


_UNSAFE_IN_JSON = re.compile(f"(?![\t\n\r]){_UNSAFE.pattern}")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


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


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 run`, `3 runs`; `plural` where adding an s is wrong (`baseline entries`)."""
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"
