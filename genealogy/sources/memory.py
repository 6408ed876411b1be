"""Unit records held in memory as a source: `genealogy.from_records` crawls them without HTTP,
through the same crawler and graph builder, so the graph is the one a server would give."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from genealogy.matching import fold
from genealogy.records import UnreadableRecord, read_unit
from genealogy.sources import Failed, Fetched, FetchOutcome, NotFound


class MemorySource:
    """Answers `get(serial)` from records in the `GET /v2/units/{serial}` shape, matching
    serials case-insensitively as the service does."""

    def __init__(self, records: Iterable[Mapping[str, Any]]) -> None:
        self._records: dict[str, Mapping[str, Any]] = {}
        for record in records:
            serial = record.get("serial_number") if isinstance(record, Mapping) else None
            if isinstance(serial, str):
                self._records[fold(serial)] = record

    async def get(self, serial: str) -> FetchOutcome:
        record = self._records.get(fold(serial))
        if record is None:
            return NotFound("not among the records given")
        try:
            read = read_unit(dict(record))
        except UnreadableRecord as exc:
            return Failed(f"not a unit record: {exc}")
        return Fetched(read.unit, warnings=read.warnings)
