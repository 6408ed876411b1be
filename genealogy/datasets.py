"""Unit records for the demo, the tests and the benchmarks, generated deterministically.

`factory()` is a realistic genealogy: a 48 V battery storage rack with its modules, cells,
battery management system and power distribution, including the defects a factory really
sees (failed and errored runs, a mixed revision, a late rework, a unit referenced but missing).
`synthetic_tree()` is a plain tree of any size for benchmarks.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_START = "CELL-21700-C-0142"
"""The demo starts at a failed cell and discovers the rack around it."""

MISSING_SERIAL = "CELL-21700-C-0199"
"""Listed as a child of a module, but the API does not know it."""


@dataclass
class Spec:
    serial: str
    part_number: str
    part_name: str
    revision: str
    created: datetime
    outcome: str | None = "PASS"
    procedure: str = "Functional test"
    minutes: float = 5.0
    batch: str | None = None
    station: str | None = "Assembly Station 01"
    user: str | None = None
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    sample: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _ident(kind: str, key: str) -> str:
    """A stable UUID-shaped id, so records are identical on every run."""
    digest = random.Random(f"{kind}:{key}").getrandbits(128)
    text = f"{digest:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ref(spec: Spec) -> dict[str, Any]:
    return {
        "id": _ident("unit", spec.serial),
        "serial_number": spec.serial,
        "part": {
            "id": _ident("part", spec.part_number),
            "number": spec.part_number,
            "name": spec.part_name,
            "revision": {
                "id": _ident("rev", spec.part_number + spec.revision),
                "number": spec.revision,
            },
        },
    }


def _record(spec: Spec, specs: dict[str, Spec]) -> dict[str, Any]:
    run = None
    if spec.outcome is not None:
        started = spec.created - timedelta(minutes=spec.minutes)
        run = {
            "id": _ident("run", spec.serial),
            "created_at": _iso(started - timedelta(seconds=30)),
            "started_at": _iso(started),
            "ended_at": _iso(spec.created),
            "duration": f"PT{int(spec.minutes * 60)}S",
            "outcome": spec.outcome,
            "procedure": {"id": _ident("proc", spec.procedure), "name": spec.procedure},
        }
    record: dict[str, Any] = {
        **_ref(spec),
        "created_at": _iso(spec.created),
        "sample": spec.sample,
        "parent": _ref(specs[spec.parent]) if spec.parent else None,
        "children": [_ref(specs[child]) for child in spec.children],
        "created_during": run,
        "batch": {"id": _ident("batch", spec.batch), "number": spec.batch} if spec.batch else None,
        "created_by_station": (
            {"id": _ident("station", spec.station), "name": spec.station} if spec.station else None
        ),
        "created_by_user": {"id": _ident("user", spec.user), "name": spec.user}
        if spec.user
        else None,
        "attachments": [],
        "metadata": spec.metadata,
    }
    record["part"]["revision"]["image"] = None
    return record


def _link(specs: dict[str, Spec], parent: str, child: str) -> None:
    specs[parent].children.append(child)
    specs[child].parent = parent


def factory() -> list[dict[str, Any]]:
    """The demo genealogy: one rack of 79 units over four levels, with realistic defects."""
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    rng = random.Random(7)
    specs: dict[str, Spec] = {}

    def add(spec: Spec) -> str:
        specs[spec.serial] = spec
        return spec.serial

    rack = add(
        Spec(
            "ESS-R48-0007",
            "ESS-R48",
            "48 V Storage Rack",
            "B",
            t0 + timedelta(days=3),
            procedure="Rack end-of-line test",
            minutes=42,
            station="EOL Station 2",
            user="Maria Keller",
            metadata={"customer": "Nordwind Energie", "capacity_kwh": 14.3},
        )
    )

    bms = add(
        Spec(
            "BMS-R48-0031",
            "BMS-ASSY",
            "Rack BMS Assembly",
            "C",
            t0 + timedelta(days=2, hours=4),
            procedure="BMS assembly test",
            minutes=18,
            station="BMS Line 1",
            user="Jonas Weber",
        )
    )
    bms_pcb = add(
        Spec(
            "PCB-BMS-2207",
            "PCB-BMS-MAIN",
            "BMS Main Board",
            "D",
            t0 + timedelta(days=1, hours=2),
            procedure="ICT + flash",
            minutes=6,
            station="ICT Station 3",
            batch="PCBA-2026-W09",
        )
    )
    # Reworked: the comms board was replaced after the main board's test had ended.
    comms = add(
        Spec(
            "PCB-COM-0577",
            "PCB-CAN-ISO",
            "Isolated CAN Daughterboard",
            "A",
            t0 + timedelta(days=2, hours=9),
            procedure="ICT + flash",
            minutes=3,
            station="ICT Station 3",
            batch="PCBA-2026-W10",
        )
    )
    contactor = add(
        Spec(
            "PCB-CTR-1180",
            "PCB-CONTACTOR",
            "Contactor Driver Board",
            "B",
            t0 + timedelta(days=1, hours=3),
            outcome="ERROR",
            procedure="ICT + flash",
            minutes=4,
            station="ICT Station 3",
            batch="PCBA-2026-W09",
        )
    )
    _link(specs, rack, bms)
    _link(specs, bms, bms_pcb)
    _link(specs, bms_pcb, comms)
    _link(specs, bms, contactor)

    pdu = add(
        Spec(
            "PDU-R48-0019",
            "PDU-80A",
            "Power Distribution Unit",
            "A",
            t0 + timedelta(days=2),
            procedure="Hipot + continuity",
            minutes=9,
            station="PDU Bench",
            user="Jonas Weber",
        )
    )
    busbar = add(
        Spec(
            "PCB-SHT-0444",
            "PCB-SHUNT",
            "Current Shunt Board",
            "A",
            t0 + timedelta(days=1),
            procedure="Calibration",
            minutes=7,
            station="Cal Bench 1",
            batch="PCBA-2026-W09",
        )
    )
    _link(specs, rack, pdu)
    _link(specs, pdu, busbar)

    cell_index = 100
    for module_no in range(1, 5):
        module_time = t0 + timedelta(days=1, hours=6 + module_no)
        module = add(
            Spec(
                f"MOD-16S-{module_no + 310:04d}",
                "MOD-16S",
                "16S Battery Module",
                "C",
                module_time,
                procedure="Module EOL test",
                minutes=25,
                station="Module Line 1",
                user="Aylin Demir",
            )
        )
        _link(specs, rack, module)
        mcb = add(
            Spec(
                f"PCB-MCB-{module_no + 880:04d}",
                "PCB-MCB",
                "Module Controller Board",
                "E",
                module_time - timedelta(hours=20),
                procedure="ICT + flash",
                minutes=5,
                station="ICT Station 3",
                batch="PCBA-2026-W09",
            )
        )
        _link(specs, module, mcb)
        for _ in range(16):
            cell_index += 1
            serial = f"CELL-21700-C-{cell_index:04d}"
            revision = "C"
            outcome: str | None = "PASS"
            if module_no == 4 and cell_index % 16 == 3:
                revision = "B"  # an old-revision cell slipped into module 4
            if cell_index == int(DEMO_START[-4:]):
                outcome = "FAIL"
            elif cell_index == 118:
                outcome = "TIMEOUT"
            elif cell_index == 157:
                outcome = "ABORTED"
            elif cell_index == 125:
                outcome = None  # legacy cell imported without a test run
            cell = add(
                Spec(
                    serial,
                    "CELL-21700",
                    "21700 Li-ion Cell 5 Ah",
                    revision,
                    module_time - timedelta(days=1, minutes=rng.randint(30, 600)),
                    outcome=outcome,
                    procedure="Cell grading (OCV/IR)",
                    minutes=2,
                    station="Cell Grader 2",
                    batch=f"CELL-LOT-{2603 + module_no % 2}",
                    metadata={
                        "ocv_v": round(3.6 + rng.random() * 0.05, 3),
                        "ir_mohm": round(14 + rng.random() * 3, 2),
                    },
                )
            )
            _link(specs, module, cell)
        if module_no == 2:
            ghost = Spec(MISSING_SERIAL, "CELL-21700", "21700 Li-ion Cell 5 Ah", "C", module_time)
            specs[ghost.serial] = ghost
            specs[module].children.append(ghost.serial)
    records = [_record(spec, specs) for spec in specs.values() if spec.serial != MISSING_SERIAL]
    return records


def synthetic_tree(units: int, levels: int, *, prefix: str = "SN") -> list[dict[str, Any]]:
    """A complete tree of `units` records over `levels` levels, filled breadth first."""
    fanout = 1
    while sum(fanout**k for k in range(levels)) < units:
        fanout += 1
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    specs: dict[str, Spec] = {}
    serials = [f"{prefix}-{index:07d}" for index in range(units)]
    for index, serial in enumerate(serials):
        level = 0
        first, width = 0, 1
        while index >= first + width:
            first, width, level = first + width, width * fanout, level + 1
        specs[serial] = Spec(
            serial,
            f"PART-L{level}",
            f"Level {level} assembly",
            "A",
            t0 - timedelta(hours=level),
            station="Line 1",
        )
        if index:
            _link(specs, serials[(index - 1) // fanout], serial)
    return [_record(spec, specs) for spec in specs.values()]
