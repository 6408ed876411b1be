"""Plain JSON values (dicts, lists, text, numbers, None) as the records and graphs hold them."""

from __future__ import annotations

from typing import Any


def copy_json(value: Any) -> Any:
    """A deep copy of plain JSON values: nothing mutable is shared with `value`. Faster than
    `copy.deepcopy`, which keeps a memo of every object for cycles JSON cannot have."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value
