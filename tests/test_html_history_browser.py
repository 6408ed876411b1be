"""The run history and the problems below a collapsed row, on the HTML page in Chromium.

The graph is built in memory and written with `genealogy.write`; what the page should show is
read from the history the test gave the units.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import genealogy
from tests.browser import BrowserPage
from tests.conftest import fetch_failed
from tests.records import run, unit

XSS = "<img src=x onerror=alert(1)>"
ROW_TEXT = """(serial) => {
    const li = document.querySelector(`#tree li[data-serial="${serial}"]:not(.link)`);
    const badge = li.querySelector(':scope > .row .below');
    return {
        expanded: li.getAttribute('aria-expanded'),
        below: badge ? badge.textContent : null,
        belowShown: badge ? badge.getClientRects().length > 0 : false,
    };
}"""
RUNS = """() => [...document.querySelectorAll('#details .runs > li')].map((li) => ({
    cls: li.className,
    texts: [...li.children].slice(1).map((span) => span.textContent),
    title: li.title,
}))"""
FIELD = """(field) => {
    const dd = document.querySelector(`#details dd[data-field="${field}"]`);
    return dd ? dd.textContent : null;
}"""
LABEL = """(field) => {
    const dd = document.querySelector(`#details dd[data-field="${field}"]`);
    return dd ? dd.previousElementSibling.textContent : null;
}"""
HEADINGS = "() => [...document.querySelectorAll('#details h3')].map((h) => h.textContent)"




@pytest.fixture
def page_file(tmp_path: Path) -> Path:
    records = [
        unit("TOP", children=["M1", "M2"]),
        unit("M1", parent="TOP", children=["C1", "C2", "GHOST"]),
        unit("M2", parent="TOP", children=["C3", "BAD"]),
        unit("C1", parent="M1", outcome="FAIL"),
        unit("C2", parent="M1", outcome="ERROR"),
        unit("C3", parent="M2"),
    ]
    graph = genealogy.from_records(records, "TOP")
    fetch_failed(graph, "BAD", "HTTP 500")
    graph.nodes["C3"].update(
        runs=[
            run("PASS", "01-01", id="run-C3"),
            run("FAIL", "01-05", procedure=XSS, duration_s=75.5),
            run("TIMEOUT", "01-06", duration_s=None),
        ],
        run_count=3,
        latest_outcome="TIMEOUT",
    )
    out = tmp_path / "history.html"
    genealogy.write(graph, out)
    return out


def test_the_details_list_the_run_history_latest_first(
    browser_page: BrowserPage, page_file: Path
) -> None:
    browser_page.open(page_file)
    page = browser_page.page
    page.locator('#tree li[data-serial="C3"] > .row').click()
    assert page.evaluate(FIELD, "serial") == "C3"
    assert page.evaluate(FIELD, "run_outcome") == "TIMEOUT"  # the present outcome: the latest
    assert page.evaluate(FIELD, "created_outcome") == "PASS"  # the creating run's
    assert page.evaluate(LABEL, "run_outcome") == "Latest outcome"
    assert page.evaluate(HEADINGS) == ["Run history (3 runs, latest first)"]
    runs = page.evaluate(RUNS)
    assert [entry["texts"] for entry in runs] == [
        ["TIMEOUT", "Functional test", "2026-01-06T09:00:00Z", "\u2014"],
        ["FAIL", XSS, "2026-01-05T09:00:00Z", "1 min 16 s"],
        ["PASS", "Functional test", "2026-01-01T09:00:00Z", "5 min 00 s"],
    ]
    assert [entry["cls"] for entry in runs] == ["run c-timeout", "run c-fail", "run c-pass"]
    assert runs[2]["title"] == "Run ID run-C3"
    page.locator('#tree li[data-serial="C1"] > .row').click()  # no history: no section
    assert page.evaluate(HEADINGS) == []
    assert page.evaluate(FIELD, "created_outcome") is None
    assert page.evaluate(FIELD, "run_outcome") == "FAIL"
    assert page.evaluate(LABEL, "run_outcome") == "Run outcome"  # as without histories
    browser_page.assert_no_errors()
    browser_page.assert_no_network()


def test_each_run_has_room_for_its_procedure(browser_page: BrowserPage, page_file: Path) -> None:
    """The run history sits in the narrow details panel: a run's procedure keeps most of the
    line and reads on one line, its start under it (on one line with the timestamp, the
    procedure was left a column a letter or two wide, and wrapped after every letter)."""
    browser_page.open(page_file)
    page = browser_page.page
    page.locator('#tree li[data-serial="C3"] > .row').click()
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('#details .runs > li')].map((li) => {
            const box = (name) => li.querySelector('.' + name).getBoundingClientRect();
            return {
                list: li.getBoundingClientRect().width,
                procedure: box('run-procedure'),
                started: box('run-started'),
                lineHeight: parseFloat(getComputedStyle(li).lineHeight) || 20,
            };
        })"""
    )
    assert len(boxes) == 3
    for box in boxes:
        assert box["procedure"]["width"] >= box["list"] / 3, box
        assert box["started"]["top"] >= box["procedure"]["bottom"] - 1, box  # on its own line
    functional = boxes[0]  # "Functional test": one line
    assert functional["procedure"]["height"] < 1.6 * functional["lineHeight"], functional
    browser_page.assert_no_errors()


def test_a_collapsed_row_shows_the_problems_below_it(
    browser_page: BrowserPage, page_file: Path
) -> None:
    browser_page.open(page_file)
    page = browser_page.page
    top = page.evaluate(ROW_TEXT, "TOP")
    assert top["expanded"] == "true" and not top["belowShown"]  # open: the units are on show
    assert (
        top["below"] == "1 failed \u00b7 2 errored \u00b7 2 missing"
    )  # C1; C2, C3 now; GHOST, BAD
    page.click("#collapse-all")
    top = page.evaluate(ROW_TEXT, "TOP")
    assert (top["expanded"], top["belowShown"]) == ("false", True)
    page.locator('#tree li[data-serial="TOP"] > .row').click()  # opens it: M1 and M2 closed
    m1, m2 = page.evaluate(ROW_TEXT, "M1"), page.evaluate(ROW_TEXT, "M2")
    assert (m1["below"], m1["belowShown"]) == ("1 failed \u00b7 1 errored \u00b7 1 missing", True)
    assert (m2["below"], m2["belowShown"]) == ("1 errored \u00b7 1 missing", True)
    assert not page.evaluate(ROW_TEXT, "TOP")["belowShown"]
    browser_page.assert_no_errors()
    browser_page.assert_no_network()
