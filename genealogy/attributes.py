"""A fetched unit flattened into the graph's node attributes: plain JSON values only.

The crawler keeps these instead of the pydantic record, which costs five times the memory.
"""

from __future__ import annotations

from typing import Any

from genealogy.matching import fold
from genealogy.models import ListedUnit, RunDigest, Unit
from genealogy.nodes import RunRecord


def unit_attributes(unit: Unit, serial: str, warnings: tuple[str, ...] = ()) -> dict[str, Any]:
    """The node attributes a fetched unit contributes (`serial` is the one it was asked for;
    `warnings` the descriptive fields that were malformed and repaired)."""
    attrs: dict[str, Any] = {}
    run = unit.created_during
    if fold(unit.serial_number) != fold(serial):
        attrs["reported_serial"] = unit.serial_number
    attrs.update(
        unit_id=unit.id,
        part_number=unit.part.number,
        part_name=unit.part.name,
        revision=unit.part.revision.number,
        batch=unit.batch.number if unit.batch else None,
        sample=unit.sample,
        created_at=_iso(unit.created_at),
        parent_serial=unit.parent.serial_number if unit.parent else None,
        children_serials=[child.serial_number for child in unit.children],
        created_by_user=unit.created_by_user.name if unit.created_by_user else None,
        created_by_station=unit.created_by_station.name if unit.created_by_station else None,
        run_id=run.id if run else None,
        run_outcome=run.outcome if run else None,
        run_procedure=run.procedure.name if run and run.procedure else None,
        run_started_at=_iso(run.started_at) if run else None,
        run_ended_at=_iso(run.ended_at) if run else None,
        run_duration_s=run.duration.total_seconds() if run and run.duration is not None else None,
        metadata=dict(unit.metadata),
        warnings=list(warnings),
    )
    return attrs


def listed_attributes(
    item: ListedUnit, serial: str, warnings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The node attributes of a unit as the list endpoint gives it: the same keys as
    `unit_attributes`, but no creating run (the list has none) and the latest run's outcome."""
    attrs: dict[str, Any] = {}
    if fold(item.serial_number) != fold(serial):
        attrs["reported_serial"] = item.serial_number
    latest = item.last_run
    attrs.update(
        unit_id=item.id,
        part_number=item.part.number,
        part_name=item.part.name,
        revision=item.part.revision.number,
        batch=item.batch.number if item.batch else None,
        sample=item.sample,
        created_at=_iso(item.created_at),
        parent_serial=item.parent.serial_number if item.parent else None,
        children_serials=[child.serial_number for child in item.children],
        created_by_user=item.created_by_user.name if item.created_by_user else None,
        created_by_station=item.created_by_station.name if item.created_by_station else None,
        run_id=None,
        run_outcome=None,
        run_procedure=None,
        run_started_at=None,
        run_ended_at=None,
        run_duration_s=None,
        latest_outcome=latest.outcome if latest else None,
        metadata=dict(item.metadata),
        warnings=list(warnings),
    )
    return attrs


def history_attributes(runs: tuple[RunDigest, ...]) -> dict[str, Any]:
    """`runs` (oldest first), `run_count` and `latest_outcome` from a unit's run history."""
    records: list[RunRecord] = [
        {
            "id": run.id,
            "outcome": run.outcome,
            "procedure": run.procedure.name if run.procedure else None,
            "started_at": _iso(run.started_at),
            "ended_at": _iso(run.ended_at),
            "duration_s": run.duration.total_seconds() if run.duration is not None else None,
        }
        for run in runs
    ]
    return {
        "runs": records,
        "run_count": len(records),
        "latest_outcome": records[-1]["outcome"] if records else None,
    }


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
