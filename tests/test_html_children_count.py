"""The HTML page counts a unit's children as units: a child listed twice counts once."""

from __future__ import annotations

import json
import re
from typing import Any

from genealogy import from_records
from genealogy.renderers import render
from tests.records import ref, unit

DATA = re.compile(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', re.S)


def test_a_child_listed_twice_is_counted_once() -> None:
    top = unit("TOP", children=["A", "B"])
    top["children"] = [ref("A"), ref("B"), ref("A"), ref("a")]  # "a" is A in another case
    units = [top, unit("A", parent="TOP"), unit("B", parent="TOP")]
    page = render(from_records(units, "TOP"), "html")
    assert isinstance(page, str)
    (raw,) = DATA.findall(page)
    data: dict[str, Any] = json.loads(raw)
    by_serial = {entry["serial"]: entry for entry in data["units"]}
    assert by_serial["TOP"]["children_count"] == 2
