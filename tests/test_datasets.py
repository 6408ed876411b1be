"""The bundled demo data: realistic, self-consistent where intended, and in sync with examples/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from genealogy.datasets import (
    DEMO_START,
    GOLDEN_RACK,
    LATEST_FAILED,
    MISSING_SERIAL,
    REWORKED,
    SECOND_PRODUCT,
    SHARED_CELL_LOT,
    SPARE_MODULE,
    TRACTION_PACK,
    demo_data,
    factory,
    factory_extras,
    factory_runs,
    synthetic_tree,
    traction_pack,
)
from genealogy.localserver import load_data
from genealogy.models import ListedRun, Unit

EXAMPLES = Path(__file__).parent.parent / "examples" / "demo"


def test_examples_copy_of_the_demo_data_is_what_the_demo_serves() -> None:
    shipped = json.loads((EXAMPLES / "units.json").read_text(encoding="utf-8"))
    units, runs = demo_data()
    assert shipped == {"units": units, "runs": runs}
    assert shipped["units"][: len(factory())] == factory()  # the rack's records come first
    assert load_data(str(EXAMPLES / "units.json")) == (units, runs)


def test_demo_factory_has_the_advertised_shape() -> None:
    units = [Unit.model_validate(record) for record in factory()]
    serials = {u.serial_number for u in units}
    assert 50 <= len(units) <= 200
    assert DEMO_START in serials and MISSING_SERIAL not in serials
    outcomes = Counter(u.created_during.outcome if u.created_during else None for u in units)
    assert outcomes["FAIL"] >= 1 and outcomes["ERROR"] >= 1 and outcomes[None] >= 1
    referenced = {c.serial_number for u in units for c in u.children}
    assert MISSING_SERIAL in referenced
    assert [u.serial_number for u in units if u.parent is None] == ["ESS-R48-0007"]


def test_synthetic_tree_has_the_requested_size_and_levels() -> None:
    units = [Unit.model_validate(record) for record in synthetic_tree(1000, 6)]
    parents = {u.serial_number: u.parent.serial_number if u.parent else None for u in units}

    def depth(serial: str) -> int:
        parent = parents[serial]
        return 0 if parent is None else 1 + depth(parent)

    assert len(units) == 1000
    assert max(depth(s) for s in parents) == 5  # six levels
    assert sum(len(u.children) for u in units) == 999


def _reachable(records: list[dict[str, object]], start: str) -> set[str]:
    """Serials reachable from `start` through parent and child references."""
    links: dict[str, set[str]] = {}
    for record in records:
        unit = Unit.model_validate(record)
        near = {c.serial_number for c in unit.children}
        if unit.parent:
            near.add(unit.parent.serial_number)
        links.setdefault(unit.serial_number, set()).update(near)
        for other in near:
            links.setdefault(other, set()).add(unit.serial_number)
    seen, todo = {start}, [start]
    while todo:
        for other in links.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def test_the_extras_are_apart_from_the_demo_rack() -> None:
    units = demo_data().units
    rack = _reachable(units, DEMO_START)
    assert len(rack) == 80  # 79 units and the missing cell, as a crawl from the start finds
    extras = [Unit.model_validate(record) for record in factory_extras()]
    assert not rack & {unit.serial_number for unit in extras}
    serials = [record["serial_number"] for record in units]
    assert len(serials) == len({s.lower() for s in serials})  # unique in any case
    tops = sorted(u.serial_number for u in extras if u.parent is None)
    assert tops == sorted([GOLDEN_RACK, SECOND_PRODUCT, SPARE_MODULE])
    golden = _reachable(units, GOLDEN_RACK)
    assert len(golden) == 79  # built like the demo rack, without the missing cell
    samples = Counter(unit.sample for unit in extras)
    assert samples == Counter({None: len(extras) - 1, "golden": 1})
    assert all(
        u.created_during and u.created_during.outcome == "PASS"
        for u in extras
        if u.serial_number in golden
    )
    lot = {
        u.parent.serial_number
        for u in map(Unit.model_validate, units)
        if u.batch and u.batch.number == SHARED_CELL_LOT and u.parent
    }
    assert {"MOD-16S-0311", "MOD-16S-0313", SECOND_PRODUCT, SPARE_MODULE} == lot


def test_the_run_history_holds_every_creating_run_and_the_reworks() -> None:
    units = {record["serial_number"]: Unit.model_validate(record) for record in demo_data().units}
    runs = [ListedRun.model_validate(run) for run in factory_runs()]
    assert len({run.id for run in runs}) == len(runs)
    history: dict[str, list[ListedRun]] = {}
    for run in sorted(runs, key=lambda run: run.started_at.isoformat() if run.started_at else ""):
        history.setdefault(run.unit.serial_number, []).append(run)
    for serial, unit in units.items():
        if unit.created_during is None:
            assert serial not in history
            continue
        first = history[serial][0]
        assert (first.id, first.outcome) == (unit.created_during.id, unit.created_during.outcome)
        assert first.started_at == unit.created_during.started_at
    for serial, (first_outcome, last_outcome) in REWORKED.items():
        outcomes = [run.outcome for run in history[serial]]
        assert (outcomes[0], outcomes[-1]) == (first_outcome, last_outcome) and len(outcomes) > 1
    assert [run.outcome for run in history[LATEST_FAILED]] == ["PASS", "FAIL"]
    assert [run.outcome for run in history[DEMO_START]] == ["FAIL"]


@pytest.mark.slow
def test_the_traction_pack_has_7122_units_with_run_histories() -> None:
    pack = traction_pack()
    units = [Unit.model_validate(record) for record in pack.units]
    assert len(units) == 7122
    assert [u.serial_number for u in units if u.parent is None] == [TRACTION_PACK]
    parts = Counter(u.part.number for u in units)
    assert parts == Counter(
        {"PACK-75KWH": 1, "BMS-TP-MASTER": 1, "MOD-6S74P": 16, "CELL-18650": 16 * 444}
    )
    per_unit = Counter(run["unit"]["serial_number"] for run in pack.runs)
    assert set(per_unit) == {u.serial_number for u in units}
    # most cells have their formation run alone; reworked ones three, a few a failed inspection
    assert min(per_unit.values()) >= 1 and max(per_unit.values()) <= 4
    assert 1.0 < len(pack.runs) / len(units) <= 1.1
    assert sum(1 for n in per_unit.values() if n >= 3) >= 50
    outcomes = Counter(run["outcome"] for run in pack.runs)
    assert outcomes["FAIL"] >= 80 and outcomes["ERROR"] >= 1
    assert traction_pack(modules=2, cells_per_module=3) == traction_pack(
        modules=2, cells_per_module=3
    )
