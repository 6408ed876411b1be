"""The HTML page's Python side: the embedded data, the placed tree and the security policy.

What the page does in a browser is tested in `test_html_browser.py`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genealogy import from_records
from genealogy.graph import build_graph
from genealogy.nodes import outcome_class
from genealogy.queries import audit
from genealogy.renderers import format_for, html_page, render
from tests.records import unit
from tests.strategies import NASTY, crawl_results

SCRIPT_BLOCK = re.compile(r"<script([^>]*)>(.*?)</script>", re.S)
STYLE_BLOCK = re.compile(r"<style>(.*?)</style>", re.S)
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


def embedded(page: str) -> dict[str, Any]:
    blocks = SCRIPT_BLOCK.findall(page)
    data = [body for attrs, body in blocks if 'type="application/json"' in attrs]
    assert len(data) == 1
    loaded: dict[str, Any] = json.loads(data[0])
    return loaded


def sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_csp_allows_exactly_the_page_own_script_and_style_and_no_connection() -> None:
    page = render(from_records([unit("A", children=["B"]), unit("B", parent="A")], "A"), "html")
    assert isinstance(page, str)
    policy = dict(
        directive.strip().split(" ", 1) for directive in CSP.search(page).group(1).split(";")
    )
    (script,) = [body for attrs, body in SCRIPT_BLOCK.findall(page) if not attrs.strip()]
    (style,) = STYLE_BLOCK.findall(page)
    assert policy["default-src"] == "'none'"  # so connect-src, frame-src, font-src... are none
    assert policy["script-src"] == f"'{sha256(script)}'"
    assert policy["style-src"] == f"'{sha256(style)}'"
    assert policy["img-src"] == "data:"
    assert "http" not in page.replace("http-equiv", "")  # no remote address at all


def test_every_unit_field_the_details_panel_shows_is_in_the_data() -> None:
    graph = from_records(
        [
            unit(
                "TOP", children=["D"], part="P-TOP", created_by_station={"id": "s", "name": "EOL"}
            ),
            unit(
                "D",
                parent="TOP",
                part="P-D",
                outcome="FAIL",
                batch={"id": "b", "number": "L7"},
                sample="golden",
                metadata={"ocv_v": 3.6, "ok": True, "note": "x"},
            ),
        ],
        "D",
    )
    data = html_page.page_data(graph, audit(graph))
    by_serial = {entry["serial"]: entry for entry in data["units"]}
    failed = by_serial["D"]
    assert data["units"][data["start"]] is failed
    assert failed["class"] == "fail" == outcome_class(graph.nodes["D"])
    assert (failed["part_number"], failed["part_name"], failed["revision"]) == (
        "P-D",
        "Part P-D",
        "A",
    )
    assert (failed["batch"], failed["sample"], failed["run_outcome"]) == ("L7", "golden", "FAIL")
    assert failed["run_procedure"] == "Functional test"
    assert failed["run_duration_s"] == 300.0
    assert failed["run_started_at"].startswith("2026-01-10T09:55:00")
    assert failed["metadata"] == {"ocv_v": "3.6", "ok": "true", "note": "x"}
    assert by_serial["TOP"]["created_by_station"] == "EOL"
    assert by_serial["TOP"]["children_count"] == 1
    assert "parent_serial" not in by_serial["TOP"]
    assert [data["units"][i]["serial"] for i in data["roots"]] == ["TOP"]
    codes = {finding["code"]: finding for finding in data["findings"]}
    assert [data["units"][i]["serial"] for i in codes["failed-run-installed"]["units"]] == [
        "D",
        "TOP",
    ]


def test_a_unit_listed_by_two_parents_is_placed_once_and_linked_from_the_other() -> None:
    graph = from_records(
        [
            unit("A", children=["B", "C"]),
            unit("B", parent="A", children=["X"]),
            unit("C", parent="A", children=["X"]),
            unit("X", parent="B"),
        ],
        "A",
    )
    data = html_page.page_data(graph, audit(graph))
    at = {entry["serial"]: position for position, entry in enumerate(data["units"])}
    units = data["units"]
    assert units[at["B"]]["kids"] == [at["X"]]
    assert units[at["C"]]["links"] == [at["X"]]
    assert "kids" not in units[at["C"]]
    assert sorted(units[at["X"]]["parents"]) == [at["B"], at["C"]]


def test_a_cycle_with_no_top_level_unit_is_still_placed() -> None:
    graph = from_records(
        [
            unit("A", parent="C", children=["B"]),
            unit("B", parent="A", children=["C"]),
            unit("C", parent="B", children=["A"]),
        ],
        "A",
    )
    data = html_page.page_data(graph, audit(graph))
    units = data["units"]
    assert [units[i]["serial"] for i in data["roots"]] == ["A"]
    at = {entry["serial"]: position for position, entry in enumerate(units)}
    assert units[at["A"]]["kids"] == [at["B"]]
    assert units[at["B"]]["kids"] == [at["C"]]
    assert units[at["C"]]["links"] == [at["A"]]  # the edge closing the loop


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(crawl_results(max_units=6))
def test_every_unit_is_placed_exactly_once_and_every_link_is_shown(result: Any) -> None:
    graph = build_graph(result)
    data = html_page.page_data(graph, audit(graph))
    units = data["units"]
    placed = list(data["roots"]) + [kid for entry in units for kid in entry.get("kids", [])]
    assert sorted(placed) == list(range(len(units)))
    shown_edges = {
        (parent, child)
        for parent, entry in enumerate(units)
        for child in entry.get("kids", []) + entry.get("links", [])
    }
    serials = list(graph)
    assert shown_edges == {
        (serials.index(parent), serials.index(child))
        for parent, child in graph.edges()
        if parent != child
    }


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
@pytest.mark.slow
def test_script_json_round_trips_and_can_never_close_its_script_element(value: Any) -> None:
    text = html_page.script_json(value)
    assert json.loads(text) == value
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}


def test_hostile_text_stays_inside_the_data_block() -> None:
    hostile = [*NASTY, "</script><script>alert(1)</script>", "<!--", "]]>", "</SCRIPT >"]
    records = [unit("ROOT", children=[f"N{i}" for i in range(len(hostile))], part=hostile[0])]
    records += [
        unit(f"N{i}", parent="ROOT", part=text or "P", batch={"id": "b", "number": text})
        for i, text in enumerate(hostile)
    ]
    page = render(from_records(records, "ROOT"), "html")
    assert isinstance(page, str)
    assert len(SCRIPT_BLOCK.findall(page)) == 2  # the data and our script: nothing added
    assert "<img" not in page and "<!--" not in page
    batches = {entry.get("batch") for entry in embedded(page)["units"]}
    assert "</script><script>alert(1)</script>" in batches


def test_the_title_is_escaped_and_the_format_is_chosen_by_extension() -> None:
    page = render(from_records([unit("<b>&x")], "<b>&x"), "html")
    assert isinstance(page, str)
    assert "<title>Genealogy of &lt;b&gt;&amp;x</title>" in page
    assert format_for("out/tree.html", None) == "html"
    assert format_for("out/tree.HTM", None) == "html"
