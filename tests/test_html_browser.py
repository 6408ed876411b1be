"""The HTML page in a real browser (headless Debian Chromium through Playwright).

Every expectation is read from an independent source: the demo's JSON graph export and its
audit report, or the records the test served. Each test ends by checking that the page made
no request but for its own file and raised no error or dialog.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from genealogy.cli import main
from genealogy.datasets import DEMO_START, MISSING_SERIAL, factory, synthetic_tree
from genealogy.localserver import LocalTofuPilot
from genealogy.nodes import outcome
from genealogy.renderers.json import load
from genealogy.text import printable
from tests.browser import BrowserPage, allow_asyncio, screenshot_artifact
from tests.conftest import API_KEY
from tests.records import unit
from tests.strategies import NASTY

XSS = "<img src=x onerror=alert(1)>"

VISIBLE_ROWS = """() => [...document.querySelectorAll('#tree [role="treeitem"]')]
    .filter((li) => li.getClientRects().length > 0)
    .map((li) => ({
        serial: li.dataset.serial,
        selected: li.getAttribute('aria-selected') === 'true',
        expanded: li.getAttribute('aria-expanded'),
        level: Number(li.getAttribute('aria-level')),
        match: li.classList.contains('match'),
        link: li.classList.contains('link'),
        text: li.firstElementChild.textContent,
    }))"""
DETAILS = """() => Object.fromEntries([...document.querySelectorAll('#details dd[data-field]')]
    .map((dd) => [dd.dataset.field, dd.textContent]))"""
FOCUSED = "() => document.activeElement && document.activeElement.dataset.serial"
LABEL = """(field) => {
    const dd = document.querySelector(`#details dd[data-field="${field}"]`);
    return dd ? dd.previousElementSibling.textContent : null;
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the demo command wrote (with its HTML page, JSON graph and audit)."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def demo_graph(demo: Path) -> nx.DiGraph:
    return load((demo / "genealogy.json").read_text(encoding="utf-8"))


PER_UNIT = ("--no-cache", "-q", "--via", "get")
"""One request per unit: each unit's creating run, which the findings these pages show use."""


def exported(
    records: list[dict[str, Any]], start: str, out: Path, *, via: tuple[str, ...] = PER_UNIT
) -> Path:
    """The export (by `out`'s extension) of a crawl of `records`, served by a real local server.
    (`allow_asyncio`: the crawl runs its own event loop beside Playwright's.)"""
    with allow_asyncio(), LocalTofuPilot(records, api_key=API_KEY) as server:
        result = CliRunner(env={"TOFUPILOT_API_KEY": API_KEY}).invoke(
            main,
            ["export", start, *via, "--base-url", server.url, "-o", str(out)],
            catch_exceptions=False,
        )
    assert result.exit_code in (0, 3), result.output
    return out


def rows(view: BrowserPage) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = view.page.evaluate(VISIBLE_ROWS)
    return found


def row(view: BrowserPage, serial: str) -> dict[str, Any]:
    (found,) = [entry for entry in rows(view) if entry["serial"] == serial]
    return found


def details(view: BrowserPage) -> dict[str, str]:
    found: dict[str, str] = view.page.evaluate(DETAILS)
    return found


def label(view: BrowserPage, field: str) -> str | None:
    """The label of the details' row for `field`."""
    found: str | None = view.page.evaluate(LABEL, field)
    return found


def selected(view: BrowserPage) -> list[str]:
    return [entry["serial"] for entry in rows(view) if entry["selected"]]


def search(view: BrowserPage, text: str) -> str:
    """Type into the search box (the page searches as one types); the status line it shows."""
    view.page.fill("#search", text)
    view.page.wait_for_function(
        "(text) => document.getElementById('search-status').dataset.query === text", arg=text
    )
    return view.page.text_content("#search-status") or ""


def finished(view: BrowserPage) -> None:
    view.assert_no_errors()
    view.assert_no_network()


def expected_made_by(attrs: dict[str, Any]) -> str:
    station, user = attrs.get("created_by_station"), attrs.get("created_by_user")
    made_by = [*([f"station {station}"] if station else []), *([f"user {user}"] if user else [])]
    return " \u00b7 ".join(made_by) or "\u2014"


def assert_unit_details(shown: dict[str, str], graph: nx.DiGraph, serial: str) -> None:
    """What the details list of any fetched unit shows: its record's fields and its path up."""
    attrs = graph.nodes[serial]
    assert shown["serial"] == serial
    assert shown["part_number"] == attrs["part_number"]
    assert shown["part_name"] == attrs["part_name"]
    assert shown["revision"] == attrs["revision"]
    assert shown["batch"] == attrs["batch"]
    assert shown["sample"] == (attrs["sample"] or "\u2014")
    assert shown["made_by"] == expected_made_by(attrs)
    assert shown["children_count"] == str(len(attrs["children_serials"]))
    assert shown["status"] == "fetched"
    path = [serial]
    while list(graph.predecessors(path[-1])):
        (parent,) = graph.predecessors(path[-1])
        path.append(parent)
    assert path[-1] in graph.graph["roots"]
    assert shown["path"] == "".join(reversed(path))


@pytest.mark.graphviz
def test_the_demo_page_opens_on_the_failed_start_unit_with_every_detail(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    """The demo crawls as the commands do by default: the list endpoints and the run
    histories, which give the latest outcome and every run, not which run created the unit."""
    browser_page.open(demo / "genealogy.html")
    attrs = demo_graph.nodes[DEMO_START]
    (run,) = attrs["runs"]
    assert attrs["latest_outcome"] == run["outcome"] == "FAIL"
    assert attrs["run_outcome"] is None
    assert selected(browser_page) == [DEMO_START]
    shown = details(browser_page)
    assert_unit_details(shown, demo_graph, DEMO_START)
    assert shown["run_outcome"] == "FAIL"
    assert label(browser_page, "run_outcome") == "Latest outcome"
    # which run created the unit the list does not say: no row for it, rather than "unknown"
    # and dashes; the run history below gives every run's procedure, start and duration
    creating = ("created_outcome", "run_procedure", "run_started_at", "run_duration", "run_id")
    assert not set(creating) & set(shown), shown
    history = browser_page.page.locator("#details ol.runs li")
    assert history.count() == 1
    seconds = round(run["duration_s"])
    assert history.first.locator(".run-outcome").text_content() == "FAIL"
    assert history.first.locator(".run-procedure").text_content() == run["procedure"]
    assert history.first.locator(".run-started").text_content() == run["started_at"]
    assert history.first.locator(".run-duration").text_content() == (
        f"{seconds // 60} min {seconds % 60:02d} s"
    )
    finished(browser_page)


@pytest.mark.graphviz
def test_a_list_crawl_without_histories_shows_the_latest_outcome_the_list_gives(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    """`--via list --no-history`: each listed unit carries its latest run's outcome (the list's
    `last_run`), which colours its box; the details say the same, not "no run"."""
    listed = ("--no-cache", "-q", "--via", "list", "--no-history")
    page = exported(factory(), DEMO_START, tmp_path / "demo.html", via=listed)
    graph = load(exported(factory(), DEMO_START, tmp_path / "demo.json", via=listed).read_text())
    attrs = graph.nodes[DEMO_START]
    assert "runs" not in attrs and attrs["run_outcome"] is None
    assert attrs["latest_outcome"] == "FAIL"
    browser_page.open(page)
    assert selected(browser_page) == [DEMO_START]
    shown = details(browser_page)
    assert shown["run_outcome"] == "FAIL"
    assert label(browser_page, "run_outcome") == "Latest outcome"
    assert "run_procedure" not in shown and "created_outcome" not in shown
    assert browser_page.page.locator("#details ol.runs").count() == 0
    finished(browser_page)


@pytest.mark.graphviz
def test_a_per_unit_crawl_shows_the_creating_run(browser_page: BrowserPage, tmp_path: Path) -> None:
    """`--via get` reads each unit's creating run: its outcome, procedure, start and duration."""
    page = exported(factory(), DEMO_START, tmp_path / "demo.html")
    graph = load(exported(factory(), DEMO_START, tmp_path / "demo.json").read_text("utf-8"))
    browser_page.open(page)
    attrs = graph.nodes[DEMO_START]
    assert attrs["run_outcome"] == "FAIL"
    assert selected(browser_page) == [DEMO_START]
    shown = details(browser_page)
    assert_unit_details(shown, graph, DEMO_START)
    assert shown["run_outcome"] == "FAIL"
    assert shown["run_procedure"] == attrs["run_procedure"]
    assert shown["run_started_at"] == attrs["run_started_at"]
    seconds = round(attrs["run_duration_s"])
    assert 60 <= seconds < 3600
    assert shown["run_duration"] == f"{seconds // 60} min {seconds % 60:02d} s"
    finished(browser_page)


@pytest.mark.graphviz
def test_search_finds_a_serial_reveals_and_highlights_it(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    browser_page.open(demo / "genealogy.html")
    browser_page.page.click("#collapse-all")
    target = max(
        demo_graph,
        key=lambda serial: nx.shortest_path_length(
            demo_graph, demo_graph.graph["roots"][0], serial
        ),
    )  # one of the deepest units
    assert target not in {entry["serial"] for entry in rows(browser_page)}
    assert search(browser_page, target.lower()) == "1 of 1 match"
    found = row(browser_page, target)
    assert found["selected"] and found["match"]
    assert details(browser_page)["serial"] == target
    mark = browser_page.page.locator("#tree li.match mark").first.text_content()
    assert mark == target  # the matched text is marked, in the case of the data
    assert browser_page.page.locator("#tree li.match mark").first.is_visible()
    finished(browser_page)


@pytest.mark.graphviz
def test_search_by_part_number_steps_through_every_unit_of_the_part(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    browser_page.open(demo / "genealogy.html")
    part = demo_graph.nodes[demo_graph.graph["roots"][0]]["part_number"]
    units = sorted(s for s, a in demo_graph.nodes(data=True) if a.get("part_number") == part)
    modules = sorted(s for s, a in demo_graph.nodes(data=True) if a.get("part_number") == "MOD-16S")
    assert search(browser_page, part) == f"1 of {len(units)} match" + (
        "" if len(units) == 1 else "es"
    )
    browser_page.page.click("#collapse-all")
    assert search(browser_page, "mod-16") == f"1 of {len(modules)} matches"
    assert sorted(entry["serial"] for entry in rows(browser_page) if entry["match"]) == modules
    seen = [details(browser_page)["serial"]]
    for _ in modules[1:]:
        browser_page.page.press("#search", "Enter")
        seen.append(details(browser_page)["serial"])
    assert sorted(seen) == modules
    browser_page.page.press("#search", "Shift+Enter")
    assert details(browser_page)["serial"] == seen[-2]
    assert search(browser_page, "no-such-unit-zz").startswith("No serial, part number or name")
    assert not any(entry["match"] for entry in rows(browser_page))
    finished(browser_page)


@pytest.mark.graphviz
def test_expand_and_collapse_with_the_mouse_and_the_keyboard(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    (root,) = demo_graph.graph["roots"]
    page.click("#collapse-all")
    assert [(r["serial"], r["expanded"]) for r in rows(browser_page)] == [(root, "false")]
    page.click(f'#tree [data-serial="{root}"] > .row .twisty')
    children = sorted(demo_graph.successors(root))
    assert [r["serial"] for r in rows(browser_page)] == [root, *children]
    assert all(r["level"] == 2 for r in rows(browser_page)[1:])
    page.click(f'#tree [data-serial="{root}"] > .row .twisty')
    assert len(rows(browser_page)) == 1

    page.focus(f'#tree [data-serial="{root}"]')
    page.keyboard.press("Enter")
    assert row(browser_page, root)["expanded"] == "true"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(FOCUSED) == children[0] == details(browser_page)["serial"]
    page.keyboard.press("ArrowRight")  # opens the first child
    grandchildren = sorted(demo_graph.successors(children[0]))
    assert grandchildren and row(browser_page, children[0])["expanded"] == "true"
    page.keyboard.press("ArrowRight")  # then moves into it
    assert page.evaluate(FOCUSED) == grandchildren[0]
    page.keyboard.press("ArrowLeft")  # a leaf: back to its parent
    page.keyboard.press("ArrowLeft")  # an open row: closes it
    assert page.evaluate(FOCUSED) == children[0]
    assert row(browser_page, children[0])["expanded"] == "false"
    page.keyboard.press("ArrowUp")
    assert page.evaluate(FOCUSED) == root
    assert selected(browser_page) == [root]
    assert (
        page.evaluate("() => [...document.querySelectorAll('#tree [tabindex=\"0\"]')].length") == 1
    )  # one tab stop for the whole tree
    page.keyboard.press("End")
    assert page.evaluate(FOCUSED) == children[-1]
    page.keyboard.press("Home")
    assert page.evaluate(FOCUSED) == root
    page.click("#expand-all")
    assert len(rows(browser_page)) == demo_graph.number_of_nodes()
    finished(browser_page)


@pytest.mark.graphviz
def test_findings_are_listed_and_select_the_units_involved(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    report = json.loads((demo / "audit.json").read_text(encoding="utf-8"))
    buttons = page.locator("#findings-list button.finding")
    assert buttons.count() == len(report["findings"])
    for position, finding in enumerate(report["findings"]):
        button = buttons.nth(position)
        assert button.get_attribute("data-code") == finding["code"]
        assert finding["message"] in (button.text_content() or "")
    missing = next(i for i, f in enumerate(report["findings"]) if f["code"] == "dangling-reference")
    page.click("#collapse-all")
    buttons.nth(missing).click()
    assert sorted(selected(browser_page)) == sorted(report["findings"][missing]["serials"])
    shown = details(browser_page)
    assert shown["serial"] == MISSING_SERIAL
    assert shown["status"].startswith("not found")
    assert shown["reason"] == demo_graph.nodes[MISSING_SERIAL]["reason"]  # why, as crawled
    assert buttons.nth(missing).get_attribute("aria-pressed") == "true"
    widest = max(report["findings"], key=lambda f: len(f["serials"]))
    buttons.nth(report["findings"].index(widest)).click()
    assert sorted(selected(browser_page)) == sorted(widest["serials"])
    assert f"{len(widest['serials'])} units selected" in (page.text_content("#details-body") or "")
    finished(browser_page)


@pytest.mark.graphviz
def test_the_legend_counts_outcomes_and_steps_through_them(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    # the legend counts each unit's present outcome: its latest run's
    failed = sorted(s for s, a in demo_graph.nodes(data=True) if outcome(a) == "FAIL")
    passed = sum(1 for _, a in demo_graph.nodes(data=True) if outcome(a) == "PASS")
    assert page.text_content('#legend [data-outcome="pass"] .count') == str(passed)
    page.click('#legend [data-outcome="fail"]')
    assert page.text_content("#search-status") == f"1 of {len(failed)} fail unit" + (
        "" if len(failed) == 1 else "s"
    )
    assert details(browser_page)["serial"] in failed
    finished(browser_page)


def test_data_is_shown_as_text_and_never_becomes_markup(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    """Hostile text in every field: shown literally, no element or script comes from it, and the
    page fetches nothing, not even from a real server that an injected <img> would call."""
    with LocalTofuPilot([], api_key=API_KEY) as trap:
        lure = f'<img src="{trap.url}/units/pwned">'
        records = [
            unit(
                "ROOT <b>bold</b>",
                children=[XSS],
                part=lure,
                batch={"id": "b", "number": "</script><script>alert(2)</script>"},
            ),
            unit(
                XSS,
                parent="ROOT <b>bold</b>",
                outcome="FAIL",
                part="P<svg onload=alert(3)>",
                sample="<iframe src=javascript:alert(4)>",
                metadata={"<u>key</u>": "<a href=javascript:alert(5)>x</a>"},
            ),
        ]
        records[1]["part"]["name"] = XSS
        page_file = exported(records, XSS, tmp_path / "hostile.html")
        browser_page.open(page_file)
        page = browser_page.page
        assert selected(browser_page) == [XSS]
        shown = details(browser_page)
        assert shown["serial"] == XSS and shown["part_name"] == XSS
        assert shown["part_number"] == "P<svg onload=alert(3)>"
        assert shown["sample"] == "<iframe src=javascript:alert(4)>"
        assert "<a href=javascript:alert(5)>x</a>" in shown.values()
        assert XSS in row(browser_page, XSS)["text"]
        assert search(browser_page, "ROOT <b>") == "1 of 1 match"
        assert details(browser_page)["batch"] == "</script><script>alert(2)</script>"
        assert details(browser_page)["part_number"] == lure
        injected = page.evaluate(
            "() => document.querySelectorAll('img, svg, iframe, b, u, a, object, embed').length"
        )
        assert injected == 0
        assert page.evaluate("() => document.scripts.length") == 2  # the data and ours
        assert page.title() == f"Genealogy of {XSS}"
        assert trap.total_requests == 0
    screenshot_artifact(page, "html-hostile")
    finished(browser_page)


@pytest.mark.slow
def test_five_thousand_units_search_expand_details_and_findings(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    records = synthetic_tree(5000, 5)
    by_serial = {record["serial_number"]: record for record in records}
    deep = records[-1]["serial_number"]
    by_serial[deep]["created_during"]["outcome"] = "FAIL"
    missing = "SN-MISSING"
    parent = by_serial[deep]["parent"]["serial_number"]
    by_serial[parent]["children"].append({**by_serial[deep]["parent"], "serial_number": missing})
    page_file = exported(records, records[0]["serial_number"], tmp_path / "big.html")
    page = browser_page.page
    browser_page.open(page_file)
    assert len(rows(browser_page)) < 1000  # opens a few levels, not all 5,000 rows
    assert search(browser_page, deep) == "1 of 1 match"
    assert details(browser_page)["run_outcome"] == "FAIL"
    assert row(browser_page, deep)["selected"]
    findings = page.locator("#findings-list button.finding")
    codes = [findings.nth(i).get_attribute("data-code") for i in range(findings.count())]
    assert "dangling-reference" in codes and "failed-run-installed" in codes
    findings.nth(codes.index("dangling-reference")).click()
    assert details(browser_page)["serial"] == missing
    page.click("#expand-all")
    assert len(rows(browser_page)) == 5001
    page.click("#collapse-all")
    assert len(rows(browser_page)) == 1
    finished(browser_page)


def test_a_unit_listed_by_two_parents_has_a_link_row_that_leads_to_it(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    records = [
        unit("A", children=["B", "C"]),
        unit("B", parent="A", children=["X"]),
        unit("C", parent="A", children=["X"]),
        unit("X", parent="B"),
    ]
    browser_page.open(exported(records, "A", tmp_path / "shared.html"))
    page = browser_page.page
    page.click("#expand-all")
    assert [(r["serial"], r["link"]) for r in rows(browser_page)] == [
        ("A", False),
        ("B", False),
        ("X", False),
        ("C", False),
        ("X", True),
    ]
    page.locator("#tree li.link > .row").click()
    assert page.evaluate(FOCUSED) == "X"
    assert page.evaluate("() => document.activeElement.classList.contains('link')") is False
    assert "shown under B" in row(browser_page, "C")["text"] + rows(browser_page)[-1]["text"]
    finished(browser_page)


@pytest.mark.graphviz
def test_a_screenshot_of_the_demo_page_is_kept_as_an_artifact(
    browser_page: BrowserPage, demo: Path
) -> None:
    browser_page.open(demo / "genealogy.html")
    path = screenshot_artifact(browser_page.page, "html-view-demo")
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == 1280 and height >= 800
    finished(browser_page)


@pytest.mark.graphviz
def test_the_bundled_example_page_is_what_the_demo_writes_today(demo: Path) -> None:
    """examples/demo/genealogy.html (linked from the README) is regenerated with the page."""
    bundled = Path(__file__).parent.parent / "examples" / "demo" / "genealogy.html"
    assert bundled.read_text(encoding="utf-8") == (demo / "genealogy.html").read_text(
        encoding="utf-8"
    ), "regenerate it: .venv/bin/genealogy demo --out examples/demo"


@pytest.mark.slow
def test_an_assembly_hundreds_of_levels_deep_opens_and_reveals_its_bottom_unit(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    """One row per unit in a flat list: nested elements this deep used to crash the tab."""
    depth = 1200
    serials = [f"L{level:05d}" for level in range(depth)]
    records = [
        unit(
            serial,
            parent=serials[level - 1] if level else None,
            children=serials[level + 1 : level + 2],
        )
        for level, serial in enumerate(serials)
    ]
    browser_page.open(exported(records, serials[-1], tmp_path / "deep.html"))
    assert selected(browser_page) == [serials[-1]]
    bottom = row(browser_page, serials[-1])
    assert bottom["level"] == depth
    assert details(browser_page)["path"] == "".join(serials)
    browser_page.page.click("#collapse-all")
    assert [r["serial"] for r in rows(browser_page)] == [serials[0]]
    browser_page.page.click("#expand-all")
    assert len(rows(browser_page)) == depth
    finished(browser_page)


@pytest.mark.graphviz
def test_station_and_user_both_show_and_a_unit_not_fetched_has_no_child_count(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    both = next(
        serial
        for serial, attrs in demo_graph.nodes(data=True)
        if attrs.get("created_by_station") and attrs.get("created_by_user")
    )
    browser_page.open(demo / "genealogy.html")
    search(browser_page, both)
    assert details(browser_page)["made_by"] == expected_made_by(demo_graph.nodes[both])
    search(browser_page, MISSING_SERIAL)
    shown = details(browser_page)
    assert shown["children_count"] == "\u2014"
    assert shown["run_outcome"] == "unknown (not found)"
    finished(browser_page)


@pytest.mark.graphviz
def test_a_legend_click_is_not_undone_by_a_search_still_waiting_to_run(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    browser_page.open(demo / "genealogy.html")
    page = browser_page.page
    failed = [s for s, a in demo_graph.nodes(data=True) if outcome(a) == "FAIL"]
    page.evaluate(
        """() => {
            const box = document.getElementById('search');
            box.value = 'mod';
            box.dispatchEvent(new Event('input', {bubbles: true}));  // search waits to run
            document.querySelector('#legend [data-outcome="fail"]').click();
        }"""
    )
    page.wait_for_timeout(400)  # well past the search's wait
    assert page.get_attribute('#legend [data-outcome="fail"]', "aria-pressed") == "true"
    assert (page.text_content("#search-status") or "").startswith(f"1 of {len(failed)} fail")
    assert details(browser_page)["serial"] in failed
    finished(browser_page)


@pytest.mark.graphviz
def test_collapse_all_also_closes_rows_inside_an_already_closed_subtree(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    (root,) = demo_graph.graph["roots"]
    path = [DEMO_START, *demo_graph.predecessors(DEMO_START)]
    module = path[1]
    assert next(iter(demo_graph.predecessors(module))) == root
    page.click("#expand-all")
    page.click(f'#tree [data-serial="{root}"] > .row .twisty')  # the module stays open inside
    page.click("#collapse-all")
    page.click(f'#tree [data-serial="{root}"] > .row .twisty')
    assert row(browser_page, module)["expanded"] == "false"
    assert DEMO_START not in {entry["serial"] for entry in rows(browser_page)}
    finished(browser_page)


@pytest.mark.graphviz
def test_a_finding_click_ends_the_search_it_interrupts(
    browser_page: BrowserPage, demo: Path
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    assert search(browser_page, "CELL").startswith("1 of ")
    page.locator("#findings-list button.finding").first.click()
    assert not any(entry["match"] for entry in rows(browser_page))
    assert page.input_value("#search") == "" and page.text_content("#search-status") == ""
    page.keyboard.press("Escape")
    assert page.locator('#findings-list [aria-pressed="true"]').count() == 0
    finished(browser_page)


@pytest.mark.slow
def test_a_start_unit_with_thousands_of_children_opens_on_its_first_level(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    children = [f"C{i:04d}" for i in range(2500)]
    records = [unit("WIDE", children=children)] + [unit(c, parent="WIDE") for c in children]
    browser_page.open(exported(records, "WIDE", tmp_path / "wide.html"))
    shown = [entry["serial"] for entry in rows(browser_page)]
    assert shown == ["WIDE", *children]
    assert selected(browser_page) == ["WIDE"]
    finished(browser_page)


@pytest.mark.graphviz
def test_a_click_opens_a_row_and_a_second_click_closes_it(
    browser_page: BrowserPage, demo: Path, demo_graph: nx.DiGraph
) -> None:
    page = browser_page.page
    browser_page.open(demo / "genealogy.html")
    (root,) = demo_graph.graph["roots"]
    page.click("#collapse-all")
    page.locator(f'#tree [data-serial="{root}"]').click()
    assert row(browser_page, root)["expanded"] == "true"
    assert selected(browser_page) == [root] == [details(browser_page)["serial"]]
    child = sorted(demo_graph.successors(root))[0]
    page.locator(f'#tree [data-serial="{child}"]').click()  # opens the child, root stays open
    assert row(browser_page, child)["expanded"] == "true"
    assert row(browser_page, root)["expanded"] == "true"
    page.locator(f'#tree [data-serial="{root}"]').click()  # not current: selected, still open
    assert row(browser_page, root)["expanded"] == "true" and selected(browser_page) == [root]
    page.locator(f'#tree [data-serial="{root}"]').click()  # current: closed
    assert [entry["serial"] for entry in rows(browser_page)] == [root]
    finished(browser_page)


@pytest.mark.slow
def test_every_text_that_upsets_escaping_is_shown_exactly_as_the_exports_show_it(
    browser_page: BrowserPage, tmp_path: Path
) -> None:
    """Each troublesome text as part number, part name and batch: every row and details panel
    shows `printable(text)` (controls and invisible characters as escapes), character for
    character, and the page holds no element it did not make itself."""
    serials = [f"N{position:02d}" for position in range(len(NASTY))]
    records = [unit("ROOT", children=serials)]
    for serial, text in zip(serials, NASTY, strict=True):
        record = unit(serial, parent="ROOT", part=text or "-", batch={"id": "b", "number": text})
        record["part"]["name"] = text
        records.append(record)
    graph = load(exported(records, "ROOT", tmp_path / "nasty.json").read_text("utf-8"))
    browser_page.open(exported(records, "ROOT", tmp_path / "nasty.html"))
    page = browser_page.page
    page.click("#expand-all")
    shown_rows = {entry["serial"]: entry["text"] for entry in rows(browser_page)}
    for serial in serials:
        page.locator(f'#tree [data-serial="{serial}"]').click()
        shown = details(browser_page)
        expected = printable(graph.nodes[serial]["part_name"])
        assert shown["part_name"] == (expected or "\u2014"), serial
        assert shown["batch"] == (expected or "\u2014"), serial
        assert expected in shown_rows[serial]
    tags = page.evaluate(
        "() => [...new Set([...document.body.querySelectorAll('*')].map((e) => e.localName))]"
    )
    assert set(tags) <= {
        "header",
        "h1",
        "p",
        "div",
        "label",
        "input",
        "button",
        "span",
        "ul",
        "li",
        "main",
        "section",
        "aside",
        "h2",
        "h3",
        "dl",
        "dt",
        "dd",
        "ol",
        "mark",
        "noscript",
        "script",
    }
    finished(browser_page)
