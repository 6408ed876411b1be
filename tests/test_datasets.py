"""The bundled demo data: realistic, self-consistent where intended, and in sync with examples/."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from genealogy.datasets import DEMO_START, MISSING_SERIAL, factory, synthetic_tree
from genealogy.models import Unit

EXAMPLES = Path(__file__).parent.parent / "examples" / "demo"


def test_examples_copy_of_the_demo_data_is_what_the_demo_serves() -> None:
    shipped = json.loads((EXAMPLES / "units.json").read_text(encoding="utf-8"))
    assert shipped == {"units": factory()}


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
