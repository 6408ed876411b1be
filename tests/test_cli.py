"""The `genealogy` command as a user runs it, against the local server over real HTTP."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from genealogy.cli import main
from genealogy.datasets import DEMO_START, MISSING_SERIAL
from genealogy.errors import ExitCode
from genealogy.localserver import Fault, LocalTofuPilot
from genealogy.renderers.json import load
from tests.conftest import API_KEY
from tests.conftest import run_cli as run
from tests.records import unit


def svg_texts(svg: str) -> set[str]:
    """Every text line Graphviz drew, entities decoded."""
    return {
        "".join(el.itertext()) for el in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")
    }


def test_exports_json_that_loads_back_into_the_crawled_graph(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    out = tmp_path / "tree.json"
    result = run(server, "export", DEMO_START, "-o", str(out), "--no-cache")
    assert result.exit_code == ExitCode.OK, result.output
    graph = load(out.read_text(encoding="utf-8"))
    assert graph.number_of_nodes() == len(server.units) + 1  # + the referenced missing cell
    assert graph.nodes[MISSING_SERIAL]["status"] == "not_found"
    assert graph.nodes[DEMO_START]["start"] is True
    assert graph.nodes[DEMO_START]["run_outcome"] == "FAIL"
    assert graph.graph["roots"] == ["ESS-R48-0007"]
    assert server.total_requests == graph.number_of_nodes()
    assert f"wrote {out} (json)" in result.stderr


def test_json_export_has_each_unit_and_each_link_on_a_line_of_its_own(
    server: LocalTofuPilot,
) -> None:
    text = run(server, "export", DEMO_START, "-f", "json", "--no-cache", "-q").stdout
    lines = text.splitlines()
    unit_lines = [line for line in lines if line.startswith('  {"id": ')]
    link_lines = [line for line in lines if line.startswith('  {"source": ')]
    data = json.loads(text)
    assert len(unit_lines) == len(data["nodes"]) == 80
    assert len(link_lines) == len(data["edges"]) == 79
    (start_line,) = [line for line in unit_lines if f'"id": "{DEMO_START}"' in line]
    assert json.loads(start_line.rstrip(","))["start"] is True  # a grep finds a whole unit
    assert '"stats": {' in text  # the header stays indented


def test_json_keys_are_never_replaced_by_attributes_of_the_same_name() -> None:
    import networkx as nx

    from genealogy.renderers.json import node_link, render_json

    graph = nx.DiGraph()
    graph.add_node("SN-1", id="uuid-1", status="ok")
    graph.add_edge("SN-1", "SN-2", source="elsewhere", target="nowhere")
    assert node_link(graph) == nx.node_link_data(graph, edges="edges")
    assert set(load(render_json(graph)).edges) == {("SN-1", "SN-2")}


def test_stdout_gets_only_the_export_and_the_summary_goes_to_stderr(server: LocalTofuPilot) -> None:
    result = run(server, "export", DEMO_START, "-f", "json", "--no-cache")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["nodes"]) == 80
    assert "80 units" in result.stderr


@pytest.mark.parametrize(
    "name", [pytest.param("tree.svg", marks=pytest.mark.graphviz), "tree.dot", "tree.gv"]
)
def test_format_follows_the_file_extension(
    server: LocalTofuPilot, tmp_path: Path, name: str
) -> None:
    out = tmp_path / name
    result = run(server, "export", DEMO_START, "-o", str(out), "--no-cache")
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if name.endswith(".svg"):
        assert set(server.units) | {MISSING_SERIAL} <= svg_texts(text)
    else:
        assert text.startswith("digraph genealogy {")
        for serial in (*server.units, MISSING_SERIAL):
            assert f"<B>{serial}</B>" in text


def test_unknown_extension_is_a_usage_error_before_any_request(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    result = run(server, "export", DEMO_START, "-o", str(tmp_path / "tree.xyz"))
    assert result.exit_code == ExitCode.USAGE
    assert "--format" in result.stderr
    assert server.total_requests == 0


def test_wrong_key_fails_after_one_request_with_a_clear_message(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    out = tmp_path / "tree.json"
    result = run(server, "export", DEMO_START, "-o", str(out), key="wrong-key")
    assert result.exit_code == ExitCode.KEY_REJECTED
    assert "TOFUPILOT_API_KEY" in result.stderr and "--api-key" in result.stderr
    assert "Traceback" not in result.output
    assert server.total_requests == 1
    assert not out.exists()


def test_missing_key_fails_without_any_request(server: LocalTofuPilot) -> None:
    result = CliRunner().invoke(
        main,
        ["export", DEMO_START, "--no-cache"],
        env={"TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": None},
    )
    assert result.exit_code == ExitCode.NO_API_KEY
    assert "TOFUPILOT_API_KEY" in result.stderr
    assert server.total_requests == 0


def test_forbidden_key_has_its_own_exit_code(make_server: Any) -> None:
    server = make_server([unit("A")], forbidden_keys=["station-key"])
    result = run(server, "export", "A", key="station-key")
    assert result.exit_code == ExitCode.FORBIDDEN
    assert "403" in result.stderr


@pytest.mark.graphviz
def test_start_not_found_writes_nothing(server: LocalTofuPilot, tmp_path: Path) -> None:
    out = tmp_path / "tree.svg"
    result = run(server, "export", "NO-SUCH-UNIT", "-o", str(out), "--no-cache")
    assert result.exit_code == ExitCode.START_NOT_FOUND
    assert "'NO-SUCH-UNIT' was not found" in result.stderr
    assert not out.exists()


def test_unreachable_api_names_the_base_url_option(tmp_path: Path) -> None:
    result = run("http://127.0.0.1:9/api", "export", "A", "--retries", "0", "--no-cache")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "--base-url" in result.stderr


@pytest.mark.slow
def test_failed_units_still_write_output_and_exit_3(make_server: Any, tmp_path: Path) -> None:
    server = make_server(
        [unit("A", children=["B", "C"]), unit("B", parent="A"), unit("C", parent="A")]
    )
    server.faults["C"] = Fault(status=500, times=None)
    out = tmp_path / "tree.json"
    result = run(server, "export", "A", "-o", str(out), "--retries", "1", "--no-cache")
    assert result.exit_code == ExitCode.INCOMPLETE
    graph = load(out.read_text(encoding="utf-8"))
    assert graph.nodes["C"]["status"] == "error"
    assert "HTTP 500" in graph.nodes["C"]["reason"]
    assert graph.nodes["B"]["status"] == "ok"
    assert re.search(r"✗ C: error: HTTP 500", result.stderr)


def test_not_found_fails_only_with_strict(server: LocalTofuPilot) -> None:
    lenient = run(server, "export", DEMO_START, "--no-cache", "-q")
    strict = run(server, "export", DEMO_START, "--no-cache", "-q", "--strict")
    assert lenient.exit_code == ExitCode.OK
    assert strict.exit_code == ExitCode.INCOMPLETE
    # --quiet: one line, why the exit code is not 0
    assert strict.stderr == f"genealogy: exit 3: 1 unit failed: {MISSING_SERIAL} (not found)\n"
    assert lenient.stderr == ""


def test_second_crawl_within_max_age_makes_no_request(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite3"
    first = run(server, "export", DEMO_START, "--cache", str(cache), "-o", str(tmp_path / "a.json"))
    requests_after_first = server.total_requests
    second = run(
        server, "export", DEMO_START, "--cache", str(cache), "-o", str(tmp_path / "b.json")
    )
    assert first.exit_code == second.exit_code == 0
    assert requests_after_first == 80
    assert server.total_requests == requests_after_first
    assert "80 from cache" in second.stderr
    assert (tmp_path / "a.json").read_text() != ""  # same graph, apart from crawl statistics
    a, b = (load((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    assert sorted(a.edges) == sorted(b.edges)


def test_offline_and_no_cache_contradict(server: LocalTofuPilot) -> None:
    result = run(server, "export", DEMO_START, "--offline", "--no-cache")
    assert result.exit_code == ExitCode.USAGE


def test_up_and_down_restrict_the_crawl(server: LocalTofuPilot) -> None:
    up = json.loads(
        run(server, "export", DEMO_START, "--up", "--no-cache", "-q", "-f", "json").stdout
    )
    assert sorted(n["id"] for n in up["nodes"]) == [DEMO_START, "ESS-R48-0007", "MOD-16S-0313"]
    down = json.loads(
        run(server, "export", "BMS-R48-0031", "--down", "--no-cache", "-q", "-f", "json").stdout
    )
    assert sorted(n["id"] for n in down["nodes"]) == [
        "BMS-R48-0031",
        "PCB-BMS-2207",
        "PCB-COM-0577",
        "PCB-CTR-1180",
    ]


def test_limits_keep_unexplored_units_as_nodes(server: LocalTofuPilot) -> None:
    result = run(server, "export", DEMO_START, "--max-depth", "1", "--no-cache", "-q", "-f", "json")
    graph = json.loads(result.stdout)
    statuses = {n["id"]: (n["status"], n["reason"]) for n in graph["nodes"]}
    assert statuses["MOD-16S-0313"] == ("ok", None)
    assert statuses["ESS-R48-0007"][0] == "unexplored"
    assert "depth limit (1)" in statuses["ESS-R48-0007"][1]
    assert result.exit_code == 0


@pytest.mark.graphviz
def test_api_key_never_leaves_the_process(make_server: Any, tmp_path: Path) -> None:
    planted = "tp_live_PLANTED_3c5d7e9f1a2b"
    records = [unit("A", children=["B", "C", "D"]), unit("B", parent="A"), unit("C", parent="A")]
    server = make_server(records, api_key=planted)
    # A server that echoes the key back in an error message must not make us print it.
    server.faults["C"] = Fault(
        status=500,
        times=None,
        body=json.dumps(
            {
                "code": "INTERNAL_SERVER_ERROR",
                "message": f"bad header Bearer {planted}",
                "issues": [],
            }
        ).encode(),
    )
    cache = tmp_path / "cache.sqlite3"
    outputs = [tmp_path / f"tree.{ext}" for ext in ("json", "dot", "svg")]
    results = [
        run(
            server,
            "export",
            "A",
            "-o",
            str(out),
            "--cache",
            str(cache),
            "-vv",
            "--retries",
            "0",
            key=planted,
        )
        for out in outputs
    ]
    results.append(
        run(server, "export", "A", "--api-key", "wrong", "--no-cache", "-vv", key=planted)
    )
    assert [r.exit_code for r in results] == [3, 3, 3, ExitCode.KEY_REJECTED]
    for result in results:
        assert planted not in result.output
    for path in [*outputs, cache]:
        assert planted.encode() not in path.read_bytes()
    assert "***" in load(outputs[0].read_text()).nodes["C"]["reason"]


@pytest.mark.graphviz
def test_demo_writes_every_export_with_every_unit(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    svg = (tmp_path / "genealogy.svg").read_text(encoding="utf-8")
    graph = load((tmp_path / "genealogy.json").read_text(encoding="utf-8"))
    assert graph.number_of_nodes() == 80
    assert set(graph) <= svg_texts(svg)
    written = {path.name for path in tmp_path.iterdir()}
    assert written == {
        *(f"genealogy.{ext}" for ext in ("json", "dot", "svg", "mmd", "graphml", "csv", "html")),
        "tree.txt",
        "trace.txt",
        "audit.txt",
        "audit.json",
    }
    for name in written:
        assert str(tmp_path / name) in result.output
    assert f"Open {(tmp_path / 'genealogy.html').resolve().as_uri()}" in result.output
    assert "in MOD-16S-0313" in (tmp_path / "trace.txt").read_text(encoding="utf-8")
    audit = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    assert audit["summary"]["findings"] == len(audit["findings"]) >= 4
    # the demo crawls through the list endpoints, with every unit's run history
    assert all("runs" in attrs for _, attrs in graph.nodes(data=True) if attrs["status"] == "ok")
    assert graph.nodes["MOD-16S-0313"]["latest_outcome"] == "FAIL"  # failed its last retest


def test_a_bug_is_one_redacted_line_and_exit_1(
    server: LocalTofuPilot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected exception (simulated: no real input produces one) never shows the key."""

    def broken(*args: Any) -> None:
        raise RuntimeError(f"boom near Bearer {API_KEY}")

    monkeypatch.setattr("genealogy.graph.build_graph", broken)
    plain = run(server, "export", DEMO_START, "--no-cache", "-q")
    debug = run(server, "export", DEMO_START, "--no-cache", "-q", "--debug")
    assert plain.exit_code == debug.exit_code == ExitCode.INTERNAL
    assert "internal error" in plain.stderr and "RuntimeError: boom" in plain.stderr
    assert "Traceback" not in plain.stderr and "Traceback" in debug.stderr
    assert API_KEY not in plain.output + debug.output
    assert "***" in plain.stderr


def test_debug_logs_every_request_without_the_key(server: LocalTofuPilot) -> None:
    result = run(server, "export", DEMO_START, "--no-cache", "--debug", "-f", "json")
    assert result.stderr.count("GET http://127.0.0.1") == 80
    assert API_KEY not in result.output


def test_key_with_a_trailing_line_end_works_and_an_unsendable_key_is_refused(
    server: LocalTofuPilot,
) -> None:
    trailing = run(server, "export", DEMO_START, "--no-cache", "-q", key=API_KEY + "\n")
    inner = run(server, "export", DEMO_START, "--no-cache", key="tp live\x1bkey")
    assert trailing.exit_code == ExitCode.OK
    assert inner.exit_code == ExitCode.NO_API_KEY
    assert "TOFUPILOT_API_KEY" in inner.stderr and "tp live" not in inner.output


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--outcome", "fial"], "'fial'"),
        (["--base-url", "localhost:1/api"], "not an http(s) URL"),
        (["--base-url", "http://[::1/api"], "not a URL"),
        (["--up", "--down"], "--up and --down"),
        (["--offline", "--refresh"], "--refresh"),
    ],
)
def test_contradictory_or_malformed_options_are_usage_errors(
    server: LocalTofuPilot, args: list[str], complaint: str
) -> None:
    result = run(server, "export", DEMO_START, *args)
    assert result.exit_code == ExitCode.USAGE
    assert complaint in result.stderr
    assert server.total_requests == 0


def test_an_unusable_cache_file_is_skipped_with_a_warning(
    server: LocalTofuPilot, tmp_path: Path
) -> None:
    broken = tmp_path / "cache.sqlite3"
    broken.write_bytes(b"this is not an SQLite database" * 100)
    result = run(server, "export", DEMO_START, "--cache", str(broken), "-f", "json")
    assert result.exit_code == ExitCode.OK
    assert "continuing without the cache" in result.stderr
    assert len(json.loads(result.stdout)["nodes"]) == 80
    offline = run(server, "export", DEMO_START, "--cache", str(broken), "--offline")
    assert offline.exit_code == ExitCode.UNREACHABLE
    assert "an offline crawl has nothing to read" in offline.stderr


def test_missing_graphviz_fails_before_crawling(server: LocalTofuPilot, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run(server, "export", DEMO_START, "-o", str(tmp_path / "a.svg"), PATH=str(empty))
    assert result.exit_code == ExitCode.OUTPUT_FAILED
    assert "apt-get install graphviz" in result.stderr
    assert server.total_requests == 0
