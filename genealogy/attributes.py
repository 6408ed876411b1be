"""A fetched unit flattened into the graph's node attributes: plain JSON values only.

The crawler keeps these instead of the pydantic record, which costs five times the memory.
"""

from __future__ import annotations

from typing import Any

from genealogy.matching import fold
from genealogy.models import Unit


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


def _iso(moment: Any) -> str | None:
    return None if moment is None else str(moment.isoformat())
