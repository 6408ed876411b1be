"""A fetched unit flattened into the graph's node attributes: plain JSON values only.

The crawler keeps these instead of the pydantic record, which costs five times the memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genealogy.matching import fold
from genealogy.models import ListedItem, RunItem, Unit
from genealogy.nodes import RunRecord


def unit_attributes(unit: Unit, serial: str, warnings: tuple[str, ...] = ()) -> dict[str, Any]:
    """The node attributes a fetched unit contributes (`serial` is the one it was asked for;
    `warnings` the descriptive fields that were malformed and repaired)."""
    run = unit.created_during
    return _record_attributes(unit, serial, warnings) | {
        "run_id": run.id if run else None,
        "run_outcome": run.outcome if run else None,
        "run_procedure": run.procedure.name if run and run.procedure else None,
        "run_started_at": _iso(run.started_at) if run else None,
        "run_ended_at": _iso(run.ended_at) if run else None,
        "run_duration_s": _seconds(run.duration) if run else None,
    }


def listed_attributes(
    item: ListedItem, serial: str, warnings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The node attributes of a unit as the list endpoint gives it: the same keys as
    `unit_attributes`, but no creating run (the list has none) and the latest run's outcome.
    (The item is plain dicts: see `genealogy.models.ListedItem`.)"""
    attrs: dict[str, Any] = {}
    if fold(item["serial_number"]) != fold(serial):
        attrs["reported_serial"] = item["serial_number"]
    part, batch, parent = item["part"], item.get("batch"), item.get("parent")
    user, station = item.get("created_by_user"), item.get("created_by_station")
    last_run = item.get("last_run")
    attrs.update(
        unit_id=item.get("id"),
        part_number=part["number"],
        part_name=part["name"],
        revision=part["revision"]["number"],
        batch=batch["number"] if batch else None,
        sample=item.get("sample"),
        created_at=_iso(item.get("created_at")),
        parent_serial=parent["serial_number"] if parent else None,
        children_serials=[child["serial_number"] for child in item["children"]],
        created_by_user=user["name"] if user else None,
        created_by_station=station["name"] if station else None,
        metadata=dict(item.get("metadata") or {}),
        warnings=list(warnings),
    )
    return attrs | dict.fromkeys(_RUN_KEYS) | {
        "latest_outcome": last_run["outcome"] if last_run else None,
    }


_RUN_KEYS = (
    "run_id",
    "run_outcome",
    "run_procedure",
    "run_started_at",
    "run_ended_at",
    "run_duration_s",
)


def _record_attributes(record: Unit, serial: str, warnings: tuple[str, ...]) -> dict[str, Any]:
    """What a unit's record says; `listed_attributes` gives a listed unit the same names."""
    attrs: dict[str, Any] = {}
    if fold(record.serial_number) != fold(serial):
        attrs["reported_serial"] = record.serial_number
    attrs.update(
        unit_id=record.id,
        part_number=record.part.number,
        part_name=record.part.name,
        revision=record.part.revision.number,
        batch=record.batch.number if record.batch else None,
        sample=record.sample,
        created_at=_iso(record.created_at),
        parent_serial=record.parent.serial_number if record.parent else None,
        children_serials=[child.serial_number for child in record.children],
        created_by_user=record.created_by_user.name if record.created_by_user else None,
        created_by_station=record.created_by_station.name if record.created_by_station else None,
        metadata=dict(record.metadata),
        warnings=list(warnings),
    )
    return attrs


def history_attributes(runs: tuple[RunItem, ...]) -> dict[str, Any]:
    """`runs` (oldest first), `run_count` and `latest_outcome` from a unit's run history."""
    records: list[RunRecord] = [
        {
            "id": run["id"],
            "outcome": run["outcome"],
            "procedure": _name(run.get("procedure")),
            "started_at": _iso(run.get("started_at")),
            "ended_at": _iso(run.get("ended_at")),
            "duration_s": _seconds(run.get("duration")),
            "station": _name(run.get("created_by_station")),
        }
        for run in runs
    ]
    attrs: dict[str, Any] = {"runs": records, "run_count": len(records)}
    if records:  # none: the latest run the list gave, or the creating run, still says it
        attrs["latest_outcome"] = records[-1]["outcome"]
    return attrs


def _name(named: Mapping[str, Any] | None) -> str | None:
    return named.get("name") if named else None


def _seconds(duration: Any) -> float | None:
    return None if duration is None else float(duration.total_seconds())


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
