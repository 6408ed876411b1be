"""Timestamps as records and node attributes carry them: ISO 8601 text, read leniently."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def moment(value: object) -> datetime | None:
    """An ISO 8601 time as an aware datetime (naive ones taken as UTC); None if absent or
    invalid, so that one bad timestamp sorts or reads as unknown instead of failing."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: object) -> str | None:
    """The date of an ISO 8601 time as the time itself gives it (`2026-03-02`), or None."""
    when = moment(value)
    return None if when is None else when.date().isoformat()


def run_day(run: Mapping[str, Any]) -> str | None:
    """The day a run started (else ended), as its own timestamp gives it; None if undated."""
    return day(run.get("started_at")) or day(run.get("ended_at"))
