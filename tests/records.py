"""Building unit records by hand for tests: `unit("A", children=["B"])` and friends."""

from __future__ import annotations

from typing import Any


def ref(serial: str, part: str = "P-1", revision: str | None = "A") -> dict[str, Any]:
    return {
        "id": f"id-{serial}",
        "serial_number": serial,
        "part": {
            "id": f"part-{part}",
            "number": part,
            "name": f"Part {part}",
            "revision": {"id": f"rev-{part}-{revision}", "number": revision} if revision else None,
        },
    }


def unit(
    serial: str,
    *,
    parent: str | None = None,
    children: list[str] | tuple[str, ...] = (),
    part: str = "P-1",
    revision: str = "A",
    outcome: str | None = "PASS",
    created_at: str = "2026-01-10T10:00:00Z",
    run_started_at: str = "2026-01-10T09:55:00Z",
    run_ended_at: str = "2026-01-10T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A schema-valid unit record; `extra` overrides or adds top-level fields."""
    record: dict[str, Any] = {
        "id": f"id-{serial}",
        "serial_number": serial,
        "created_at": created_at,
        "sample": None,
        "part": {
            "id": f"part-{part}",
            "number": part,
            "name": f"Part {part}",
            "revision": {"id": f"rev-{part}-{revision}", "number": revision},
        },
        "parent": ref(parent) if parent else None,
        "children": [ref(child) for child in children],
        "created_during": None
        if outcome is None
        else {
            "id": f"run-{serial}",
            "created_at": run_started_at,
            "started_at": run_started_at,
            "ended_at": run_ended_at,
            "duration": "PT5M",
            "outcome": outcome,
            "procedure": {"id": "proc-1", "name": "Functional test"},
        },
    }
    record.update(extra)
    return record


def run(outcome: str, day: str, *, serial: str | None = None, **extra: Any) -> dict[str, Any]:
    """A node's run-history entry (`genealogy.nodes.RunRecord`) on 2026-`day` (`MM-DD`); with
    `serial`, the id of that unit's creating run in `unit`'s records."""
    return {
        "id": f"run-{serial}" if serial else f"run-{outcome}-{day}",
        "outcome": outcome,
        "procedure": "Functional test",
        "started_at": f"2026-{day}T09:00:00Z",
        "ended_at": f"2026-{day}T09:05:00Z",
        "duration_s": 300.0,
    } | extra
