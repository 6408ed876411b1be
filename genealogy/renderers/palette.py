"""Colours and words for each outcome class, shared by every visual format."""

from __future__ import annotations

from typing import NamedTuple


class Look(NamedTuple):
    fill: str
    border: str
    label: str


LOOKS: dict[str, Look] = {
    "pass": Look("#c8e6c9", "#2e7d32", "pass"),
    "fail": Look("#ffcdd2", "#c62828", "fail"),
    "error": Look("#ffe0b2", "#e65100", "error"),
    "timeout": Look("#e1bee7", "#6a1b9a", "timeout"),
    "aborted": Look("#cfd8dc", "#37474f", "aborted"),
    "unknown": Look("#f5f5f5", "#757575", "no run / unknown"),
    "not_fetched": Look("#ffffff", "#b71c1c", "not fetched"),
}
