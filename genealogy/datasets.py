"""Unit records for the demo, the tests and the benchmarks, generated deterministically.

`factory()` is a realistic genealogy: a 48 V battery storage rack with its modules, cells,
battery management system and power distribution, including the defects a factory really
sees (failed and errored runs, a mixed revision, a late rework, a unit referenced but missing).
`factory_extras()` adds what the same factory holds beside that rack (a golden sample rack, a
second product and a spare module sharing a cell lot), `factory_runs()` the test history of all
of them, and `demo_data()` is the lot: what the demo server serves.
`synthetic_tree()` is a plain tree of any size for benchmarks; `traction_pack()` a 7,122-unit
75 kWh traction pack with run histories.

Run records are in the shape of `GET /v2/runs` items; a unit's creating run is
`genealogy.localserver.creating_run(record)`, the same run as its `created_during`.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from genealogy.localserver import creating_run, run_unit

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


@functools.lru_cache(maxsize=4096)  # part, procedure, station ids repeat in every record
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


_PARTS: dict[str, dict[str, Any]] = {
    "ESS-R48": dict(
        part_name="48 V Storage Rack",
        revision="B",
        procedure="Rack end-of-line test",
        minutes=42,
        station="EOL Station 2",
        user="Maria Keller",
    ),
    "BMS-ASSY": dict(
        part_name="Rack BMS Assembly",
        revision="C",
        procedure="BMS assembly test",
        minutes=18,
        station="BMS Line 1",
        user="Jonas Weber",
    ),
    "PDU-80A": dict(
        part_name="Power Distribution Unit",
        revision="A",
        procedure="Hipot + continuity",
        minutes=9,
        station="PDU Bench",
        user="Jonas Weber",
    ),
    "PCB-SHUNT": dict(
        part_name="Current Shunt Board",
        revision="A",
        procedure="Calibration",
        minutes=7,
        station="Cal Bench 1",
    ),
    "MOD-16S": dict(
        part_name="16S Battery Module",
        revision="C",
        procedure="Module EOL test",
        minutes=25,
        station="Module Line 1",
        user="Aylin Demir",
    ),
    "CELL-21700": dict(
        part_name="21700 Li-ion Cell 5 Ah",
        revision="C",
        procedure="Cell grading (OCV/IR)",
        minutes=2,
        station="Cell Grader 2",
    ),
    **{
        number: dict(
            part_name=name,
            revision=revision,
            procedure="ICT + flash",
            minutes=minutes,
            station="ICT Station 3",
        )
        for number, name, revision, minutes in (
            ("PCB-BMS-MAIN", "BMS Main Board", "D", 6),
            ("PCB-CAN-ISO", "Isolated CAN Daughterboard", "A", 3),
            ("PCB-CONTACTOR", "Contactor Driver Board", "B", 4),
            ("PCB-MCB", "Module Controller Board", "E", 5),
            ("PCB-BMS-4S", "4S Protection Board", "B", 4),
        )
    },
}
"""The demo factory's parts: what every unit of one says, unless it says otherwise."""


def _made(serial: str, part_number: str, created: datetime, **differences: Any) -> Spec:
    """A unit of a catalogued part, made at `created`, with its own `differences`."""
    return Spec(serial, part_number, created=created, **{**_PARTS[part_number], **differences})


def factory() -> list[dict[str, Any]]:
    """The demo genealogy: one rack of 79 units over four levels, with realistic defects."""
    t0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    rng = random.Random(7)
    specs: dict[str, Spec] = {}

    def add(spec: Spec) -> str:
        specs[spec.serial] = spec
        return spec.serial

    rack = add(
        _made(
            "ESS-R48-0007",
            "ESS-R48",
            t0 + timedelta(days=3),
            metadata={"customer": "Nordwind Energie", "capacity_kwh": 14.3},
        )
    )

    bms = add(_made("BMS-R48-0031", "BMS-ASSY", t0 + timedelta(days=2, hours=4)))
    w09, w10 = "PCBA-2026-W09", "PCBA-2026-W10"
    bms_pcb = add(_made("PCB-BMS-2207", "PCB-BMS-MAIN", t0 + timedelta(days=1, hours=2), batch=w09))
    # Reworked: the comms board was replaced after the main board's test had ended.
    comms = add(_made("PCB-COM-0577", "PCB-CAN-ISO", t0 + timedelta(days=2, hours=9), batch=w10))
    contactor = add(
        _made(
            "PCB-CTR-1180",
            "PCB-CONTACTOR",
            t0 + timedelta(days=1, hours=3),
            outcome="ERROR",
            batch=w09,
        )
    )
    _link(specs, rack, bms)
    _link(specs, bms, bms_pcb)
    _link(specs, bms_pcb, comms)
    _link(specs, bms, contactor)

    pdu = add(_made("PDU-R48-0019", "PDU-80A", t0 + timedelta(days=2)))
    busbar = add(_made("PCB-SHT-0444", "PCB-SHUNT", t0 + timedelta(days=1), batch=w09))
    _link(specs, rack, pdu)
    _link(specs, pdu, busbar)

    cell_index = 100
    for module_no in range(1, 5):
        module_time = t0 + timedelta(days=1, hours=6 + module_no)
        module = add(_made(f"MOD-16S-{module_no + 310:04d}", "MOD-16S", module_time))
        _link(specs, rack, module)
        mcb = add(
            _made(
                f"PCB-MCB-{module_no + 880:04d}",
                "PCB-MCB",
                module_time - timedelta(hours=20),
                batch=w09,
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
                _made(
                    serial,
                    "CELL-21700",
                    module_time - timedelta(days=1, minutes=rng.randint(30, 600)),
                    revision=revision,
                    outcome=outcome,
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


# --------------------------------------------------------------------------- run histories


class Dataset(NamedTuple):
    """Unit records and run records (`GET /v2/runs` item shape), as `LocalTofuPilot` takes
    them: `LocalTofuPilot(data.units, runs=data.runs)`."""

    units: list[dict[str, Any]]
    runs: list[dict[str, Any]]


@dataclass(frozen=True)
class Retest:
    """A run after the one that created the unit (a retest, a rework's test, a field check)."""

    serial: str
    started: datetime
    outcome: str
    procedure: str
    minutes: float = 5.0
    station: str | None = None
    user: str | None = None


def _run(unit: dict[str, Any], retest: Retest, number: int) -> dict[str, Any]:
    """`retest` of `unit` as a run record; `number` keeps its id apart from the unit's others."""
    ended = retest.started + timedelta(minutes=retest.minutes)
    run: dict[str, Any] = {
        "id": _ident("run", f"{unit['serial_number']}#{number}"),
        "created_at": _iso(retest.started - timedelta(seconds=30)),
        "started_at": _iso(retest.started),
        "ended_at": _iso(ended),
        "duration": f"PT{int(retest.minutes * 60)}S",
        "outcome": retest.outcome,
        "execution_id": None,
        "slot_key": None,
        "slot_name": None,
        "procedure": {
            "id": _ident("proc", retest.procedure),
            "name": retest.procedure,
            "version": None,
        },
        "unit": run_unit(unit),
    }
    if retest.station:
        run["created_by_station"] = {
            "id": _ident("station", retest.station),
            "name": retest.station,
        }
    if retest.user:
        run["created_by_user"] = {
            "id": _ident("user", retest.user),
            "name": retest.user,
            "email": None,
        }
    return run


def histories(units: Iterable[dict[str, Any]], retests: Iterable[Retest]) -> list[dict[str, Any]]:
    """Every unit's creating run (from its `created_during`), then each retest, as run records."""
    records = {unit["serial_number"]: unit for unit in units}
    runs = [run for unit in records.values() if (run := creating_run(unit)) is not None]
    numbers: dict[str, int] = {}
    for retest in retests:
        numbers[retest.serial] = numbers.get(retest.serial, 1) + 1
        runs.append(_run(records[retest.serial], retest, numbers[retest.serial]))
    return runs


T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
"""The demo factory's first day (`factory()` counts from it)."""

GOLDEN_RACK = "ESS-R48-0001"
"""A golden sample rack (`sample: "golden"`): complete, every run passed; a top-level unit."""
SECOND_PRODUCT = "AUX-12V-0042"
"""A 12 V auxiliary pack, another product built with cells of `SHARED_CELL_LOT`."""
SPARE_MODULE = "MOD-16S-0390"
"""A spare module on the shelf (no parent); its cells are of `SHARED_CELL_LOT` too."""
SHARED_CELL_LOT = "CELL-LOT-2604"
"""A cell lot in three products: the demo rack (modules 1 and 3), the auxiliary pack and the
spare module."""

REWORKED = {
    "PCB-CTR-1180": ("ERROR", "PASS"),  # contactor board: errored at ICT, reworked, passed
    "CELL-21700-C-0118": ("TIMEOUT", "PASS"),  # grading timed out, regraded
    SPARE_MODULE: ("ERROR", "PASS"),  # module EOL test errored (fixture), passed on retest
    "CELL-21700-C-0211": ("FAIL", "PASS"),  # failed grading, re-formed, passed
}
"""Demo units with several runs whose last one passed: serial -> (first, last) outcome."""
LATEST_FAILED = "MOD-16S-0313"
"""Passed its end-of-line test when built, failed its last retest (it holds the failed cell)."""


def factory_extras() -> list[dict[str, Any]]:
    """Units of the demo factory beside the rack of `factory()`, none reachable from it: the
    golden sample rack `GOLDEN_RACK` (79 units, all passed), the auxiliary pack `SECOND_PRODUCT`
    (a board and four cells) and the spare module `SPARE_MODULE` (a board and 16 cells)."""
    specs: dict[str, Spec] = {}

    def add(spec: Spec, parent: str | None = None) -> str:
        specs[spec.serial] = spec
        if parent is not None:
            _link(specs, parent, spec.serial)
        return spec.serial

    def board(serial: str, part: str, when: datetime, parent: str) -> str:
        return add(_made(serial, part, when, minutes=4, batch="PCBA-2026-W10"), parent)

    def cell(number: int, when: datetime, lot: str, parent: str, outcome: str = "PASS") -> str:
        return add(
            _made(
                f"CELL-21700-C-{number:04d}",
                "CELL-21700",
                when + timedelta(minutes=7 * number % 300),
                outcome=outcome,
                batch=lot,
                metadata={
                    "ocv_v": round(3.6 + number % 40 / 1000, 3),
                    "ir_mohm": round(14 + number % 25 / 10, 2),
                },
            ),
            parent,
        )

    # The golden rack: built like ESS-R48-0007 three weeks earlier, every part current and passed.
    g0 = T0 - timedelta(days=21)
    rack = add(
        _made(
            GOLDEN_RACK,
            "ESS-R48",
            g0 + timedelta(days=3),
            minutes=45,
            sample="golden",
            metadata={"purpose": "golden sample"},
        )
    )
    bms = add(_made("BMS-R48-0002", "BMS-ASSY", g0 + timedelta(days=2, hours=4)), rack)
    main = board("PCB-BMS-2101", "PCB-BMS-MAIN", g0 + timedelta(days=1), bms)
    board("PCB-COM-0501", "PCB-CAN-ISO", g0 + timedelta(days=1, hours=1), main)
    board("PCB-CTR-1101", "PCB-CONTACTOR", g0 + timedelta(days=1, hours=2), bms)
    pdu = add(_made("PDU-R48-0002", "PDU-80A", g0 + timedelta(days=2)), rack)
    add(_made("PCB-SHT-0401", "PCB-SHUNT", g0 + timedelta(days=1), batch="PCBA-2026-W10"), pdu)
    for module_no in range(1, 5):
        module_time = g0 + timedelta(days=1, hours=6 + module_no)
        module = add(_made(f"MOD-16S-{module_no + 300:04d}", "MOD-16S", module_time), rack)
        mcb_time = module_time - timedelta(hours=20)
        board(f"PCB-MCB-{module_no + 870:04d}", "PCB-MCB", mcb_time, module)
        for index in range(16):
            cell(
                (module_no - 1) * 16 + index + 1,
                module_time - timedelta(days=1),
                "CELL-LOT-2602",
                module,
            )

    # The auxiliary pack: another product, cells of the shared lot.
    a0 = T0 + timedelta(days=4)
    aux = add(
        Spec(
            SECOND_PRODUCT,
            "AUX-12V4S",
            "12 V Auxiliary Pack",
            "A",
            a0 + timedelta(hours=6),
            procedure="Aux pack EOL test",
            minutes=12,
            station="Aux Line",
            user="Jonas Weber",
        )
    )
    board("PCB-AUX-0091", "PCB-BMS-4S", a0, aux)
    for number in range(201, 205):
        cell(number, a0 - timedelta(days=1), SHARED_CELL_LOT, aux)

    # The spare module: on the shelf, its EOL test errored first; one cell failed grading.
    spare = add(_made(SPARE_MODULE, "MOD-16S", a0 + timedelta(days=1), outcome="ERROR"))
    board("PCB-MCB-0890", "PCB-MCB", a0, spare)
    for number in range(205, 221):
        cell(
            number,
            a0 - timedelta(days=1),
            SHARED_CELL_LOT,
            spare,
            "FAIL" if number == 211 else "PASS",
        )
    return [_record(spec, specs) for spec in specs.values()]


def _ended(units: dict[str, dict[str, Any]], serial: str) -> datetime:
    """When `serial`'s creating run ended."""
    return datetime.fromisoformat(units[serial]["created_during"]["ended_at"])


def factory_runs() -> list[dict[str, Any]]:
    """The whole test history of `demo_data()`'s units: each unit's creating run, then retests
    and reworks (`REWORKED`, `LATEST_FAILED`, the golden rack's periodic checks)."""
    units = {unit["serial_number"]: unit for unit in [*factory(), *factory_extras()]}

    def after(
        serial: str,
        hours: float,
        outcome: str,
        procedure: str,
        minutes: float,
        station: str | None,
        user: str | None = None,
    ) -> Retest:
        return Retest(
            serial,
            _ended(units, serial) + timedelta(hours=hours),
            outcome,
            procedure,
            minutes,
            station,
            user,
        )

    retests = [
        # ESS-R48-0007's contactor board: ERROR at ICT, connector reflowed, passed.
        after("PCB-CTR-1180", 3, "PASS", "ICT + flash", 4, "ICT Station 3", "Jonas Weber"),
        # A cell whose grading timed out, regraded before module 2 was built.
        after("CELL-21700-C-0118", 1, "PASS", "Cell grading (OCV/IR)", 2, "Cell Grader 2"),
        # The rack commissioned on site; a week later module 3 fails its retest (cell 0142).
        after("ESS-R48-0007", 24 * 7, "PASS", "Rack commissioning", 30, None, "Maria Keller"),
        after(
            LATEST_FAILED, 24 * 12, "FAIL", "Module EOL test", 25, "Module Line 1", "Aylin Demir"
        ),
        # The spare module: EOL test errored (fixture contact), passed on retest.
        after(SPARE_MODULE, 0.75, "PASS", "Module EOL test", 25, "Module Line 1", "Aylin Demir"),
        # A spare-module cell that failed grading, was re-formed and passed.
        after("CELL-21700-C-0211", 2, "PASS", "Cell re-formation", 240, "Formation Rack 4"),
        after("CELL-21700-C-0211", 6.5, "PASS", "Cell grading (OCV/IR)", 2, "Cell Grader 2"),
        # The golden rack's periodic verifications.
        after(GOLDEN_RACK, 24 * 14, "PASS", "Golden sample verification", 45, "EOL Station 2"),
        after(GOLDEN_RACK, 24 * 27, "PASS", "Golden sample verification", 45, "EOL Station 2"),
    ]
    return histories(units.values(), retests)


def demo_data() -> Dataset:
    """Everything the demo serves: `factory()`, `factory_extras()` and `factory_runs()`."""
    return Dataset([*factory(), *factory_extras()], factory_runs())


# --------------------------------------------------------------------------- traction pack


TRACTION_PACK = "PACK-75K-0001"


def traction_pack(modules: int = 16, cells_per_module: int = 444, *, seed: int = 75) -> Dataset:
    """A 75 kWh traction pack with run histories: the pack, its BMS, `modules` modules of
    `cells_per_module` 18650 cells (6S74P); 7,122 units and about 7,350 runs by default.

    Cells: formation creates the unit (one run, as for most cells of a real pack); about 1 in
    80 then fails grading and passes after re-formation, and about 1 in 300 fails its incoming
    inspection (its latest run). Modules: assembly test and EOL test, one errored then
    passed, one failed then passed after rework. Deterministic for a given `seed`.
    """
    rng = random.Random(seed)
    t0 = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    specs: dict[str, Spec] = {}
    retests: list[Retest] = []
    pack_time = t0 + timedelta(days=30)
    specs[TRACTION_PACK] = Spec(
        TRACTION_PACK,
        "PACK-75KWH",
        "75 kWh Traction Pack",
        "A",
        pack_time,
        procedure="Pack EOL test",
        minutes=55,
        station="Pack EOL 1",
        user="Lena Vogt",
        metadata={"capacity_kwh": 76.7, "configuration": "96S74P"},
    )
    bms = "BMS-TP-0001"
    specs[bms] = Spec(
        bms,
        "BMS-TP-MASTER",
        "Pack BMS Master",
        "C",
        pack_time - timedelta(days=2),
        procedure="ICT + flash",
        minutes=6,
        station="ICT Station 1",
        batch="PCBA-2026-W14",
    )
    _link(specs, TRACTION_PACK, bms)
    retests.append(
        Retest(bms, pack_time - timedelta(days=1), "PASS", "BMS functional test", 15, "BMS Line 2")
    )
    retests.append(
        Retest(TRACTION_PACK, pack_time + timedelta(hours=2), "PASS", "Hipot", 10, "Pack EOL 1")
    )
    number = 0
    for module_no in range(1, modules + 1):
        module = f"MOD-6S74P-{module_no:04d}"
        module_time = t0 + timedelta(days=20, hours=3 * module_no)
        specs[module] = Spec(
            module,
            "MOD-6S74P",
            "6S74P Module",
            "B",
            module_time,
            procedure="Module assembly test",
            minutes=20,
            station=f"Module Line {1 + module_no % 2}",
            user="Aylin Demir",
        )
        _link(specs, TRACTION_PACK, module)
        eol = module_time + timedelta(hours=1)
        if module_no == 5:
            retests.append(Retest(module, eol, "ERROR", "Module EOL test", 30, "Module EOL 1"))
            eol += timedelta(hours=1)
        elif module_no == 11:
            retests.append(Retest(module, eol, "FAIL", "Module EOL test", 30, "Module EOL 1"))
            eol += timedelta(days=1)  # a busbar weld redone
        retests.append(Retest(module, eol, "PASS", "Module EOL test", 30, "Module EOL 1"))
        for _ in range(cells_per_module):
            number += 1
            serial = f"CELL-18650-{number:06d}"
            formed = t0 + timedelta(seconds=97 * number)
            specs[serial] = Spec(
                serial,
                "CELL-18650",
                "18650 Li-ion Cell 3 Ah",
                "B",
                formed,
                procedure="Formation",
                minutes=180,
                station="Formation Rack 1",
                batch=f"CELL-LOT-T{1 + (number - 1) // 1000:02d}",
            )
            _link(specs, module, serial)
            graded = formed + timedelta(hours=20)
            if rng.random() < 1 / 80:  # failed grading: re-formed, then passed
                retests.append(
                    Retest(serial, graded, "FAIL", "Cell grading (OCV/IR)", 2, "Cell Grader 1")
                )
                retests.append(
                    Retest(
                        serial,
                        graded + timedelta(hours=1),
                        "PASS",
                        "Cell re-formation",
                        240,
                        "Formation Rack 2",
                    )
                )
            if rng.random() < 1 / 300:  # failed its incoming inspection: its latest run
                retests.append(
                    Retest(
                        serial,
                        module_time - timedelta(hours=2),
                        "FAIL",
                        "Incoming inspection",
                        1,
                        "Module Line 1",
                    )
                )
    units = [_record(spec, specs) for spec in specs.values()]
    return Dataset(units, histories(units, retests))
