"""How the service compares identifiers: serial, part, revision and batch numbers match
case-insensitively (asking for `sn-0001` returns the record of `SN-0001`).

Everything that looks a unit up, merges references or filters by such a number compares
`fold(a) == fold(b)`; what is shown is always the record's own spelling.
"""

from __future__ import annotations


def fold(identifier: str) -> str:
    """The form two identifiers are compared in. `str.lower`, as SQL's `lower()` and `ILIKE`
    do, not `casefold`: `casefold` also equates `ß` with `ss`, which the service does not."""
    return identifier.lower()
