"""Reading a unit record with tolerance by purpose.

A unit is unreadable only when what a genealogy needs cannot be read: its serial number, its
part and revision, its parent and children (each one's serial number), and the creating run's
id and outcome where a run is given. Any other field that is malformed (an attachment, a user,
a timestamp, a metadata value, a reference's part) is set to null, dropped from its list, or
kept as text, and the unit stays readable with one warning per repair. Nothing else is lost.

The common case costs nothing extra: a record that validates is returned at once; the repair
runs only on records pydantic rejects.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import pydantic

from genealogy.jsonvalues import copy_json
from genealogy.models import Unit
from genealogy.text import clip

RecordT = TypeVar("RecordT", bound=pydantic.BaseModel)

MAX_WARNINGS = 20
"""Warnings kept per unit; a record with thousands of bad attachments gets a count instead."""
WARNING_LIMIT = 300
MAX_REPAIR_ROUNDS = 3
"""A repair can only remove or null values, so one round fixes every error; three is a fence."""

_CORE_TOP = frozenset({"serial_number", "part"})
_CORE_REF = frozenset({"serial_number"})
_CORE_RUN = frozenset({"id", "outcome"})


class UnreadableRecord(ValueError):
    """The record lacks what a genealogy needs; `str(error)` says which fields and why."""


@dataclass(frozen=True, slots=True)
class ReadUnit:
    unit: Unit
    warnings: tuple[str, ...] = ()


def read_unit(data: Any) -> ReadUnit:
    """The unit in `data` (decoded JSON), repaired where only descriptive fields are malformed.

    Raises `UnreadableRecord` when a field a genealogy needs is missing or malformed.
    """
    unit, warnings = read_record(Unit, data)
    return ReadUnit(unit, warnings)


def read_record(model: type[RecordT], data: Any) -> tuple[RecordT, tuple[str, ...]]:
    """`data` read as `model` (a unit, or an item of the units list: their needed fields have
    the same names), repaired where only descriptive fields are malformed, and the warnings.

    Raises `UnreadableRecord` when a field a genealogy needs is missing or malformed.
    """
    warnings: list[str] = []
    for _ in range(MAX_REPAIR_ROUNDS):
        try:
            return model.model_validate(data), tuple(warnings)
        except pydantic.ValidationError as exc:
            errors = exc.errors()
        if _has_surrogate_key(data):
            data = escaped_keys(data)  # then read again: names pydantic could not take
            continue
        core = [error for error in errors if _repair_point(error["loc"]) is None]
        if core or not isinstance(data, dict):
            raise UnreadableRecord(summarise(core or errors))
        data = copy_json(data)
        warnings.extend(_repair(data, errors))
    raise UnreadableRecord(summarise(errors))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate_key(value: Any) -> bool:
    """Whether a field name anywhere holds a lone surrogate (Python's JSON reader lets one
    through, and pydantic cannot take it as a field name)."""
    if isinstance(value, dict):
        return any(
            (isinstance(key, str) and _SURROGATE.search(key)) or _has_surrogate_key(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_has_surrogate_key(item) for item in value)
    return False


def escaped_keys(value: Any) -> Any:
    """`value` with every field name's lone surrogates as `\\udxxx` text: the field is kept,
    under a name that can be shown and written."""
    if isinstance(value, dict):
        return {
            key.encode("utf-8", "backslashreplace").decode() if isinstance(key, str) else key: (
                escaped_keys(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [escaped_keys(item) for item in value]
    return value


def summarise(errors: list[Any], limit: int = 3) -> str:
    """The first few validation errors as `field.path: message`, and how many more there are."""
    problems = [f"{_path(error['loc']) or 'body'}: {error['msg']}" for error in errors[:limit]]
    more = len(errors) - len(problems)
    return "; ".join(problems) + (f" (+{more} more)" if more > 0 else "")


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _repair_point(loc: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """Where a malformed value at `loc` is repaired, or None when it is one a genealogy needs.

    Items of `attachments` are dropped one by one; a metadata value is kept as text; any
    other descriptive field is set to null as a whole.
    """
    if not loc:
        return None
    field = loc[0]
    if field in _CORE_TOP:
        return None
    if field == "parent":
        return ("parent", loc[1]) if len(loc) > 1 and loc[1] not in _CORE_REF else None
    if field == "children":
        if len(loc) > 2 and isinstance(loc[1], int) and loc[2] not in _CORE_REF:
            return ("children", loc[1], loc[2])
        return None
    if field in ("created_during", "last_run"):  # the creating run; a listed unit's latest
        return (field, loc[1]) if len(loc) > 1 and loc[1] not in _CORE_RUN else None
    if field in ("attachments", "metadata") and len(loc) > 1:
        return (field, loc[1])
    return (field,)


def _repair(data: dict[str, Any], errors: list[Any]) -> list[str]:
    """Repair `data` in place at each error's point; one warning per point."""
    points: dict[tuple[Any, ...], list[str]] = {}
    for error in errors:
        point = _repair_point(error["loc"])
        if point is not None:
            inner = _path(error["loc"][len(point) :])
            points.setdefault(point, []).append(
                f"{inner}: {error['msg']}" if inner else error["msg"]
            )
    warnings = []
    # last first, so dropping a list item never shifts one still to be repaired
    for point in sorted(points, key=_order, reverse=True):
        action = _apply(data, point)
        problems = "; ".join(dict.fromkeys(points[point]))
        warnings.append(clip(f"{_path(point)}: {problems} ({action})", WARNING_LIMIT))
    warnings.sort()
    if len(warnings) > MAX_WARNINGS:
        more = len(warnings) - MAX_WARNINGS
        warnings[MAX_WARNINGS:] = [f"... and {more} more malformed fields repaired"]
    return warnings


def _order(point: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Points compared key by key, list indexes as numbers."""
    return tuple((0, key) if isinstance(key, int) else (1, str(key)) for key in point)


def _apply(data: dict[str, Any], point: tuple[Any, ...]) -> str:
    *where, last = point
    container: Any = data
    for key in where:
        container = container[key]
    if where == ["attachments"]:
        del container[last]
        return "attachment dropped"
    if where == ["metadata"]:
        container[last] = json.dumps(container[last], ensure_ascii=False, default=str)
        return "kept as text"
    container[last] = None
    return "set to null"
