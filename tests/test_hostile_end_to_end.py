"""Hostile and broken input, end to end: the real CLI against a real local server over HTTP.

The server holds records whose serial numbers, part names, batches, users, stations,
procedures and metadata carry path tricks, markup, formulas, ANSI escapes, line breaks and
diagram syntax, and answers some children with broken responses (invalid JSON, an HTML error
page, an empty body, a 200 with an error body, wrong types, a redirect to another host, a 404
echoing the key). Every command and every export format must then: exit 3 (some units failed)
without a traceback, keep every referenced unit with its status and reason, print and write no
control character, stay well-formed and inert in its own format, and never show the API key.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import Result

from genealogy.cli.report import LISTED_FAILURES
from genealogy.errors import ExitCode
from genealogy.localserver import Fault, LocalTofuPilot
from genealogy.renderers import csv as csv_format
from genealogy.renderers.json import load
from genealogy.text import printable
from tests.conftest import run_cli
from tests.mermaid_parser import mermaid_parse, needs_mermaid
from tests.records import unit
from tests.strategies import (
    LEGEND_NODES,
    arrows,
    as_drawn,
    dot_structure,
    strict_json,
    svg_facts,
)

PLANTED_KEY = "tp_live_PLANTED_9a8b7c6d5e4f3a2b"
"""The server's key: echoed back by broken answers, it must never leave the process."""

START = "RACK 7/A?b=1#c%20+d \"q' \u00fc"
PLANT = "PLANT#1 \u00fcber/.."
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
HYPERLINK = '=HYPERLINK("http://x")'
SUM = "@SUM(A1)"
ANSI = "op\x1b[31m red\x1b[0m\r\nforged: line\x07"
DOT_BREAK = '"]; evil [label="x'
MERMAID_BREAK = "a --> b %% c\n    click n0 call alert(1)"
CONTROLS = "\x1b[2J\x1b]0;title\x07\r\x00\x7f\x85\u202eevil\u202c\t"

OK_CHILDREN = (
    "../runs",
    "..",
    "a+b c%2F?x#y",
    "q\"uote's \u00fcn\u00ef\u20acode \U0001f600",
    "\x1b[31mANSI\r\nserial\x07",
    '-1"]; evil [label="x',
    "x --> y %% z",
)
MISSING = "MISSING/404 ?#"
"""Referenced, but unknown to the server: the plain 404."""

BROKEN: dict[str, tuple[Fault, str]] = {
    "GONE": (
        Fault(
            404,
            times=None,
            body=json.dumps(
                {"code": "NOT_FOUND", "message": f"no unit, Bearer {PLANTED_KEY}", "issues": []}
            ).encode(),
        ),
        "not_found",
    ),
    "BAD-JSON": (
        Fault(200, times=None, body=b'{"id": "x", "serial_number": '),
        "error",
    ),
    "HTML-500": (
        Fault(
            500,
            times=None,
            content_type="text/html; charset=utf-8",
            body=f"<html><script>alert(1)</script>\x1b[31m {PLANTED_KEY}</html>".encode(),
        ),
        "error",
    ),
    "EMPTY": (Fault(200, times=None, body=b""), "error"),
    "ERR-200": (
        Fault(
            200,
            times=None,
            body=json.dumps(
                {
                    "code": "INTERNAL\x1b[31m",
                    "message": f"boom Bearer {PLANTED_KEY}\r\nforged line",
                    "issues": [],
                }
            ).encode(),
        ),
        "error",
    ),
    "WRONG-TYPES": (
        Fault(
            200,
            times=None,
            body=json.dumps(
                {
                    "id": 5,
                    "serial_number": ["x"],
                    "created_at": True,
                    "part": "p",
                    "parent": 3,
                    "children": "abc",
                }
            ).encode(),
        ),
        "error",
    ),
    "REDIRECT": (
        Fault(
            302,
            times=None,
            body=b"",
            headers={"Location": f"http://evil.example/steal?key={PLANTED_KEY}"},
        ),
        "error",
    ),
}
"""Children answered with a broken response: the fault, and the status the unit must end with."""

REASONS = {
    MISSING: "not found (404",
    "GONE": "not found (404",
    "BAD-JSON": "answered 200 with a body that is not JSON",
    "HTML-500": "HTTP 500, text/html body",
    "EMPTY": "answered 200 with an empty body",
    "ERR-200": "answered 200 with an error body",
    "WRONG-TYPES": "answered 200 but not a unit",
    "REDIRECT": "HTTP 302 redirect to http://evil.example/",
}
"""What the reason of each unit that could not be fetched must say."""

EXPECTED_STATUS: dict[str, str] = {
    START: "ok",
    PLANT: "ok",
    **dict.fromkeys(OK_CHILDREN, "ok"),
    MISSING: "not_found",
    **{serial: status for serial, (_, status) in BROKEN.items()},
}
CHILDREN = (*OK_CHILDREN, MISSING, *BROKEN)
UNITS = len(EXPECTED_STATUS)
EDGES = 1 + len(CHILDREN)  # PLANT -> START, START -> each child


def hostile_units() -> list[dict[str, Any]]:
    root = unit(
        START,
        parent=PLANT,
        children=list(CHILDREN),
        part="P-<b>#59;",
        batch={"id": "batch-1", "number": HYPERLINK},
        created_by_user={"id": "user-1", "name": ANSI},
        created_by_station={"id": "station-1", "name": DOT_BREAK},
        metadata={
            "note": MERMAID_BREAK,
            DOT_BREAK: HYPERLINK,
            "ctl\x1b[31m": CONTROLS,
            "%%": "-->",
        },
    )
    root["part"]["name"] = SCRIPT
    root["created_during"]["procedure"]["name"] = f"proc {MERMAID_BREAK} {ANSI}"
    plant = unit(
        PLANT,
        children=[START],
        part="+PLANT",
        outcome="FAIL",
        created_by_user={"id": "user-2", "name": CONTROLS},
        created_by_station={"id": "station-2", "name": SUM},
    )
    plant["part"]["name"] = IMG
    records = [root, plant]
    for index, serial in enumerate(OK_CHILDREN):
        child = unit(
            serial,
            parent=START,
            part=f"-P{index}",
            batch={"id": f"batch-c{index}", "number": SUM},
            created_by_user={"id": f"user-c{index}", "name": ANSI},
            created_by_station={"id": f"station-c{index}", "name": MERMAID_BREAK},
            metadata={"m": CONTROLS, "d": DOT_BREAK},
        )
        child["part"]["name"] = IMG
        child["created_during"]["procedure"]["name"] = DOT_BREAK + CONTROLS
        records.append(child)
    return records


def hostile_server() -> LocalTofuPilot:
    server = LocalTofuPilot(hostile_units(), api_key=PLANTED_KEY)
    server.faults.update({serial: fault for serial, (fault, _) in BROKEN.items()})
    return server


def run(server: LocalTofuPilot, *args: str, key: str = PLANTED_KEY) -> Result:
    return run_cli(server, *args, key=key, NO_COLOR=None)


# --- every command, every format, run once against the hostile server ------------------------

EXPORTS = {
    "text": "tree.txt",
    "json": "graph.json",
    "dot": "graph.dot",
    "svg": "graph.svg",
    "mermaid": "graph.mmd",
    "graphml": "graph.graphml",
    "csv": "units.csv",
}
"""Export format -> the file it is written to (the extension picks the format)."""

COMMANDS: dict[str, tuple[str, ...]] = {
    **{f"export-{fmt}": ("export", START, "-o", name) for fmt, name in EXPORTS.items()},
    "export-json-stdout": ("export", START, "-f", "json"),
    "export-text-stdout": ("export", START),
    "export-verbose": ("export", START, "-f", "mermaid", "-vv", "--refresh"),
    "export-debug": ("export", START, "-f", "csv", "--debug", "--refresh"),
    "export-strict": ("export", START, "-f", "json", "--strict", "--refresh", "-v"),
    "tree": ("tree", START),
    "tree-ascii": ("tree", START, "--charset", "ascii", "-v"),
    "tree-colour": ("tree", START, "--color", "always"),
    "trace": ("trace", START, "--problems", "-v"),
    "trace-json": ("trace", START, "--problems", "-f", "json"),
    "trace-child": ("trace", OK_CHILDREN[0], "--charset", "ascii", "--problems"),
    "audit": ("audit", START),
    "audit-json": ("audit", START, "-f", "json", "--debug"),
    "summary": ("summary", START),
    "summary-json": ("summary", START, "-f", "json", "-vv"),
}
"""Name -> command line (file names are relative to the run's folder)."""

JSON_STDOUT = {"export-json-stdout", "export-strict", "trace-json", "audit-json", "summary-json"}


@dataclass
class Crawled:
    results: dict[str, Result]
    files: dict[str, Path]  # export format -> the file written
    cache: Path
    folder: Path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    folder = tmp_path_factory.mktemp("hostile")
    cache = folder / "cache.sqlite3"
    results: dict[str, Result] = {}
    with hostile_server() as server:
        for name, args in COMMANDS.items():
            line = [str(folder / arg) if arg in EXPORTS.values() else arg for arg in args]
            results[name] = run(server, *line, "--cache", str(cache), "--retries", "0")
    files = {fmt: folder / name for fmt, name in EXPORTS.items()}
    yield Crawled(results, files, cache, folder)


def file_text(crawled: Crawled, fmt: str) -> str:
    return crawled.files[fmt].read_bytes().decode("utf-8")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.graphviz) if n == "export-svg" else n
        for n in sorted(COMMANDS)
    ],
)
def test_every_command_exits_3_with_a_clear_report_and_no_traceback(
    crawled: Crawled, name: str
) -> None:
    result = crawled.results[name]
    assert result.exit_code == ExitCode.INCOMPLETE, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    if name.startswith("export-") and name.removeprefix("export-") in EXPORTS:
        assert crawled.files[name.removeprefix("export-")].stat().st_size > 0
        assert result.stdout == ""  # the export went to the file
    else:
        assert result.stdout.strip()
    # the crawl summary on stderr names units that failed, and why, on one line each: the
    # first few, and how many more; with -v or --debug every unit that is not ok
    strict = "--strict" in COMMANDS[name]
    verbose = any(flag in COMMANDS[name] for flag in ("-v", "-vv", "--debug"))
    failing = sorted(s for s in REASONS if EXPECTED_STATUS[s] == "error" or strict)
    listed = REASONS if verbose else failing[:LISTED_FAILURES]
    for serial in listed:
        status = EXPECTED_STATUS[serial]
        mark = "✗" if status == "error" or strict else "·"
        prefix = f"  {mark} {printable(serial)}: {status}: "
        lines = [line for line in result.stderr.splitlines() if line.startswith(prefix)]
        assert len(lines) == 1, (prefix, result.stderr)
        assert REASONS[serial] in lines[0], (REASONS[serial], lines[0])
    if not verbose and len(failing) > LISTED_FAILURES:
        more = len(failing) - LISTED_FAILURES
        assert f"  ... and {more} more (-v lists them)" in result.stderr.splitlines()


def test_strict_marks_not_found_units_as_failures(crawled: Crawled) -> None:
    stderr = crawled.results["export-strict"].stderr
    assert f"  ✗ {printable(MISSING)}: not_found: " in stderr
    assert "  ✗ GONE: not_found: " in stderr
    lenient = crawled.results["tree-ascii"].stderr  # -v: every unit that is not ok
    assert f"  · {printable(MISSING)}: not_found: " in lenient
    assert printable(MISSING) not in crawled.results["export-json-stdout"].stderr


# --- control characters -----------------------------------------------------------------------

UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069"
    "\ufeff\ufffe\uffff]"
)
"""What text meant for a terminal or a document may not hold raw: every C0 and C1 control
(ESC included), zero-width and bidi controls, non-characters."""
C0 = re.compile("[\x00-\x09\x0b-\x1f]")
"""What a JSON document may not hold raw: JSON escapes C0 controls and keeps the rest of the
data exactly (DEL, C1 and bidi controls included), as the README says."""
SGR = re.compile(r"\x1b\[[0-9;]*m")


def unsafe_in(text: str, allowed: str = "\n") -> list[str]:
    return sorted({char for char in UNSAFE.findall(text) if char not in allowed})


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_output_carries_a_control_character_from_the_data(crawled: Crawled, name: str) -> None:
    result = crawled.results[name]
    assert unsafe_in(result.stderr) == [], result.stderr
    stdout = result.stdout
    if name == "tree-colour":
        assert "\x1b[" in stdout  # it was coloured
        stdout = SGR.sub("", stdout)  # the colours are ours; nothing else may be an escape
    if name in JSON_STDOUT:
        assert not C0.findall(stdout.replace("\n", "")), stdout
        strict_json(stdout)
    elif name == "export-debug":  # CSV on stdout: CRLF line ends are the format's own
        assert unsafe_in(stdout.replace("\r\n", "\n")) == []
    else:
        assert unsafe_in(stdout) == [], stdout


@pytest.mark.parametrize(
    "fmt",
    [pytest.param(f, marks=pytest.mark.graphviz) if f == "svg" else f for f in sorted(EXPORTS)],
)
def test_no_file_carries_a_control_character_from_the_data(crawled: Crawled, fmt: str) -> None:
    text = file_text(crawled, fmt)
    if fmt == "json":
        assert not C0.findall(text.replace("\n", ""))
    elif fmt == "csv":
        assert unsafe_in(text.replace("\r\n", "\n")) == []
    elif fmt == "dot":
        assert unsafe_in(text, allowed="\n\t") == []
    else:
        assert unsafe_in(text) == []


# --- the API key --------------------------------------------------------------------------------


@pytest.mark.graphviz
def test_the_api_key_appears_nowhere(crawled: Crawled) -> None:
    for name, result in crawled.results.items():
        assert PLANTED_KEY not in result.output, name
        assert PLANTED_KEY not in result.stdout + result.stderr, name
    # the cache was written and read back, so it held the records the key fetched
    hits = re.search(r"(\d+) from cache", crawled.results["tree"].stderr)
    assert hits is not None and int(hits.group(1)) > 0
    written = [p for p in crawled.folder.rglob("*") if p.is_file()]
    assert crawled.cache in written and len(written) >= len(EXPORTS) + 1
    for path in written:
        assert PLANTED_KEY.encode() not in path.read_bytes(), path
    # the key was there to leak: the broken answers echoed it, and it was masked
    assert "boom Bearer ***" in crawled.results["export-verbose"].stderr
    graph = load(file_text(crawled, "json"))
    assert "***" in graph.nodes["ERR-200"]["reason"]
    assert "***" in graph.nodes["REDIRECT"]["reason"]
    # -vv and --debug log every request, still without the key
    for name in ("export-verbose", "export-debug"):
        assert crawled.results[name].stderr.count("DEBUG genealogy.sources.http: GET ") >= UNITS - 1


# --- each format --------------------------------------------------------------------------------


def test_json_export_keeps_every_referenced_unit_with_its_status(crawled: Crawled) -> None:
    text = file_text(crawled, "json")
    strict_json(text)
    graph = load(text)
    assert {serial: graph.nodes[serial]["status"] for serial in graph} == EXPECTED_STATUS
    for serial, reason in REASONS.items():
        assert reason in graph.nodes[serial]["reason"], serial
    for serial in EXPECTED_STATUS:
        if EXPECTED_STATUS[serial] == "ok":
            assert graph.nodes[serial]["reason"] is None
    assert sorted(graph.edges()) == sorted([(PLANT, START), *((START, c) for c in CHILDREN)])
    # the data itself is kept exactly, hostile or not
    root = graph.nodes[START]
    assert root["part_name"] == SCRIPT
    assert root["batch"] == HYPERLINK
    assert root["created_by_user"] == ANSI
    assert root["created_by_station"] == DOT_BREAK
    assert root["metadata"]["ctl\x1b[31m"] == CONTROLS
    assert root["children_serials"] == list(CHILDREN)
    assert graph.graph["start"] == START
    # stdout gets the same graph as the file
    assert set(load(crawled.results["export-json-stdout"].stdout)) == set(graph)


@pytest.mark.graphviz
def test_svg_is_inert_and_shows_every_serial(crawled: Crawled) -> None:
    svg = file_text(crawled, "svg")
    facts = svg_facts(svg)  # well-formed XML; no script, on* attribute, link or data ID
    # nor in the raw markup: a `<` in a text is `&lt;`, so every `<` opens a real tag
    assert not re.search(r"<[^<>]*\son\w+\s*=", svg, re.IGNORECASE)
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert facts.nodes == UNITS + LEGEND_NODES
    assert facts.edges == arrows(load(file_text(crawled, "json")))
    bold = [as_drawn(text) for text in facts.bold]
    for serial in EXPECTED_STATUS:
        assert as_drawn(printable(serial)) in bold, serial
    texts = [as_drawn(text) for text in facts.texts]
    assert any(SCRIPT in text for text in texts)  # markup is drawn as text
    assert any(IMG in text for text in texts)


@pytest.mark.graphviz
def test_dot_holds_only_the_expected_nodes_and_edges(crawled: Crawled) -> None:
    source = file_text(crawled, "dot")
    _, labels, edges = dot_structure(source)  # only our statements; labels well-formed
    assert len(labels) == UNITS
    assert edges == arrows(load(file_text(crawled, "json")))
    dot = shutil.which("dot")
    assert dot is not None
    laid_out = json.loads(
        subprocess.run(
            [dot, "-Tjson0"], input=source.encode(), capture_output=True, check=True, timeout=60
        ).stdout
    )
    names = {o["_gvid"]: o["name"] for o in laid_out["objects"] if "nodes" not in o}
    data_nodes = {gvid for gvid, node in names.items() if re.fullmatch(r"u\d+", node)}
    assert len(names) == UNITS + LEGEND_NODES
    assert len(data_nodes) == UNITS
    data_edges = [
        e
        for e in laid_out.get("edges", [])
        if (e["tail"] in data_nodes or e["head"] in data_nodes) and e.get("style") != "invis"
    ]
    assert len(data_edges) == arrows(load(file_text(crawled, "json")))
    assert all(e["tail"] in data_nodes and e["head"] in data_nodes for e in data_edges)


@pytest.mark.slow
@needs_mermaid
def test_mermaid_export_parses_with_mermaid_as_written(crawled: Crawled) -> None:
    from_file = file_text(crawled, "mermaid")
    from_stdout = crawled.results["export-verbose"].stdout
    assert from_file == from_stdout
    (result,) = mermaid_parse(from_file)
    assert "error" not in result, result.get("error")
    assert result["type"] == "flowchart-v2"
    vertices = result["vertices"]
    assert len(vertices) == UNITS
    assert len(result["edges"]) == EDGES
    serial_of = {}
    for vertex in vertices:
        label = vertex["label"]
        assert vertex["labelType"] == "string"  # not Markdown
        assert set(label["tags"]) == {"br"}, label  # no markup but our line breaks
        assert not label["icon"]
        serial_of[vertex["id"]] = label["text"].split("\n")[0]
    assert sorted(serial_of.values()) == sorted(printable(s) for s in EXPECTED_STATUS)
    by_shown = {printable(serial): serial for serial in EXPECTED_STATUS}
    edges = sorted((by_shown[serial_of[a]], by_shown[serial_of[b]]) for a, b in result["edges"])
    assert edges == sorted([(PLANT, START), *((START, c) for c in CHILDREN)])
    texts = {vertex["label"]["text"] for vertex in vertices}
    assert any(SCRIPT in text for text in texts)  # markup arrives as text
    assert any(IMG in text for text in texts)


def test_graphml_loads_with_networkx(crawled: Crawled) -> None:
    text = file_text(crawled, "graphml")
    graph = nx.read_graphml(io.BytesIO(text.encode("utf-8")))
    assert graph.is_directed()
    assert set(graph) == {printable(serial) for serial in EXPECTED_STATUS}
    assert graph.number_of_edges() == EDGES
    for serial, status in EXPECTED_STATUS.items():
        assert graph.nodes[printable(serial)]["status"] == status
    root = graph.nodes[printable(START)]
    assert root["part_name"] == SCRIPT
    assert root["batch"] == HYPERLINK
    assert json.loads(root["metadata"])["ctl\x1b[31m"] == CONTROLS


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.mark.parametrize("source", ["file", "stdout"])
def test_csv_parses_and_no_cell_is_a_formula(crawled: Crawled, source: str) -> None:
    text = file_text(crawled, "csv") if source == "file" else crawled.results["export-debug"].stdout
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(csv_format.COLUMNS)
    assert len(rows) == 1 + UNITS
    assert all(len(row) == len(rows[0]) for row in rows)
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), (cell, row)
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    serials = {record["serial"].removeprefix("'"): record for record in records}
    assert set(serials) == {printable(serial) for serial in EXPECTED_STATUS}
    for serial, status in EXPECTED_STATUS.items():
        assert serials[printable(serial)]["status"] == status
    root = serials[printable(START)]
    assert root["batch"] == "'" + HYPERLINK
    assert root["part_name"] == SCRIPT
    assert root["created_by_user"] == printable(ANSI)
    assert serials[printable(PLANT)]["part_number"] == "'+PLANT"
    assert serials[printable(PLANT)]["created_by_station"] == "'" + SUM


@pytest.mark.parametrize("name", ["export-text", "export-text-stdout", "tree", "tree-colour"])
def test_text_tree_has_one_line_per_unit(crawled: Crawled, name: str) -> None:
    text = file_text(crawled, "text") if name == "export-text" else crawled.results[name].stdout
    plain = SGR.sub("", text)
    assert "\x1b" not in plain
    lines = plain.splitlines()
    assert len(lines) == UNITS  # no line break from the data
    for serial in EXPECTED_STATUS:
        assert sum(printable(serial) in line for line in lines) >= 1, serial
    assert lines[0].startswith(printable(PLANT) + " ")
    assert lines[1].startswith("└── " + printable(START) + " ") and "◀ start" in lines[1]
    if name != "tree-colour":
        assert text == crawled.results["tree"].stdout


def test_trace_lists_every_broken_unit_as_a_problem(crawled: Crawled) -> None:
    data = strict_json(crawled.results["trace-json"].stdout)
    assert data["serial"] == START
    assert data["tops"] == [PLANT]
    assert [[step["serial"] for step in path["steps"]] for path in data["paths"]] == [
        [START, PLANT]
    ]
    report = data["problems"]
    kinds = {"not_found": "not_found", "error": "fetch_error"}
    by_kind: dict[str, set[str]] = {}
    for group in report["groups"]:
        assert group["count"] == len(group["units"])
        by_kind[group["kind"]] = {problem["serial"] for problem in group["units"]}
    for serial in REASONS:
        assert serial in by_kind[kinds[EXPECTED_STATUS[serial]]], serial
    assert by_kind["failed"] == {PLANT}  # its run failed
    assert report["units_looked_at"] == UNITS and report["unexplored"] == 0
    text = crawled.results["trace"].stdout  # -v: every unit of each kind, with its path
    for serial in REASONS:
        assert printable(serial) in text
    assert f"✗ {len(REASONS) - 2} could not be fetched" in text
    child = crawled.results["trace-child"].stdout
    assert child.startswith(f"{printable(OK_CHILDREN[0])} (")
    assert f"in {printable(START)} (" in child
    assert "x 6 could not be fetched\n" in child  # without -v: the first few serials only
    assert "(-v lists every unit with its path; -f json too)" in child


def test_audit_reports_dangling_references_and_fetch_errors(crawled: Crawled) -> None:
    data = strict_json(crawled.results["audit-json"].stdout)
    by_code: dict[str, list[list[str]]] = {}
    for finding in data["findings"]:
        by_code.setdefault(finding["code"], []).append(finding["serials"])
    dangling = {serials[0] for serials in by_code["dangling-reference"]}
    assert dangling == {MISSING, "GONE"}
    errors = {serials[0] for serials in by_code["fetch-error"]}
    assert errors == {s for s, status in EXPECTED_STATUS.items() if status == "error"}
    assert data["summary"]["by_status"] == {"ok": 9, "not_found": 2, "error": 6}
    timeline = {entry["serial"] for entry in data["timeline"]}
    assert timeline == {s for s, status in EXPECTED_STATUS.items() if status == "ok"}
    text = crawled.results["audit"].stdout
    assert "dangling-reference" in text and "fetch-error" in text


def test_summary_counts_every_unit(crawled: Crawled) -> None:
    data = strict_json(crawled.results["summary-json"].stdout)
    assert data["units"] == UNITS
    assert data["by_status"] == {"ok": 9, "not_found": 2, "error": 6}
    assert data["root_serials"] == [PLANT]
    assert data["widest"] == {"serial": START, "children": len(CHILDREN)}
    assert printable(PLANT) in crawled.results["summary"].stdout


# --- --strict -----------------------------------------------------------------------------------

MakeServer = Callable[..., LocalTofuPilot]
ONLY_MISSING_START = "../runs?#% \u00fc"
MISSING_CHILD = "..%2F../gone \x1b[31m\u00fc"


@pytest.mark.parametrize(
    ("strict", "code"),
    [(False, ExitCode.OK), (True, ExitCode.INCOMPLETE)],
    ids=["lenient", "strict"],
)
def test_a_missing_child_fails_the_crawl_only_with_strict(
    make_server: MakeServer, tmp_path: Path, strict: bool, code: ExitCode
) -> None:
    records = [
        unit(ONLY_MISSING_START, children=["..", MISSING_CHILD]),
        unit("..", parent=ONLY_MISSING_START),
    ]
    server = make_server(records, api_key=PLANTED_KEY)
    out = tmp_path / "graph.json"
    cache = tmp_path / "cache.sqlite3"
    flags = ["--strict"] if strict else []
    result = run(
        server, "export", ONLY_MISSING_START, "-o", str(out), "--cache", str(cache), "-vv", *flags
    )
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert unsafe_in(result.stderr) == []
    graph = load(out.read_text(encoding="utf-8"))
    assert {serial: graph.nodes[serial]["status"] for serial in graph} == {
        ONLY_MISSING_START: "ok",
        "..": "ok",
        MISSING_CHILD: "not_found",
    }
    mark = "✗" if strict else "·"
    assert f"  {mark} {printable(MISSING_CHILD)}: not_found: not found (404" in result.stderr
    for path in (out, cache):
        assert PLANTED_KEY.encode() not in path.read_bytes()
    assert PLANTED_KEY not in result.output


# --- a redirect whose Location header is not even a URL ------------------------------------------


def malformed_redirect(make_server: MakeServer) -> tuple[LocalTofuPilot, Result]:
    """A child answered 302 with a control character (and the key) in its Location header."""
    server = make_server([unit("A", children=["R"])], api_key=PLANTED_KEY)
    location = f"http://evil.example/\x1b[31m?key={PLANTED_KEY}"
    server.faults["R"] = Fault(302, times=None, body=b"", headers={"Location": location})
    return server, run(server, "export", "A", "-f", "json", "--no-cache", "--retries", "1")


def test_a_malformed_redirect_is_an_error_with_a_clean_reason(make_server: MakeServer) -> None:
    _, result = malformed_redirect(make_server)
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "Traceback" not in result.output
    assert PLANTED_KEY not in result.output
    assert unsafe_in(result.stderr) == []
    graph = load(result.stdout)
    assert graph.nodes["R"]["status"] == "error"
    assert not UNSAFE.search(printable(graph.nodes["R"]["reason"]))


def test_a_malformed_redirect_is_reported_as_a_redirect_and_not_retried(
    make_server: MakeServer,
) -> None:
    server, result = malformed_redirect(make_server)
    reason = load(result.stdout).nodes["R"]["reason"]
    assert "redirect to an invalid Location: not followed" in reason, reason
    assert server.requests["R"] == 1  # a redirect is an answer, not a transient failure
