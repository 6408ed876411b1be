"""The HTML page counts a unit's children as units: a child listed twice counts once."""

from __future__ import annotations

import json
import re
from typing import Any

from genealogy.graph import build_graph
from genealogy.localserver import LocalTofuPilot
from genealogy.renderers import render
from genealogy.runner import CrawlOptions, run_crawl
from tests.conftest import API_KEY
from tests.records import ref, unit

DATA = re.compile(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', re.S)


def test_a_child_listed_twice_is_counted_once() -> None:
    top = unit("TOP", children=["A", "B"])
    top["children"] = [ref("A"), ref("B"), ref("A"), ref("a")]  # "a" is A in another case
    units = [top, unit("A", parent="TOP"), unit("B", parent="TOP")]
    with LocalTofuPilot(units, api_key=API_KEY) as server:
        result = run_crawl("TOP", CrawlOptions(base_url=server.url, api_key=API_KEY))
    page = render(build_graph(result), "html")
    assert isinstance(page, str)
    (raw,) = DATA.findall(page)
    data: dict[str, Any] = json.loads(raw)
    by_serial = {entry["serial"]: entry for entry in data["units"]}
    assert by_serial["TOP"]["children_count"] == 2
