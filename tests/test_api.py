"""The public Python API: `import genealogy`, then only the names in `genealogy.__all__`."""

from __future__ import annotations

import asyncio
import dataclasses
import doctest
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import genealogy
import genealogy.api
from genealogy.datasets import synthetic_tree
from tests.conftest import API_KEY, MakeServer
from tests.records import unit

DEMO_START = "CELL-21700-C-0142"


def comparable(graph: nx.DiGraph) -> tuple[Any, ...]:
    """Nodes, edges and attributes, without what depends on where records came from."""
    nodes = {
        node: {k: v for k, v in attrs.items() if k not in ("cached", "reason")}
        for node, attrs in graph.nodes(data=True)
    }
    return nodes, sorted(graph.edges(data=True)), graph.graph["start"], graph.graph["roots"]


def test_every_public_name_resolves_and_nothing_else_is_offered() -> None:
    import genealogy.renderers.text  # a submodule import never shadows a public name

    for name in genealogy.__all__:
        assert getattr(genealogy, name) is not None, name
    assert callable(genealogy.render) and callable(genealogy.trace)
    assert sorted(dir(genealogy)) == sorted(genealogy.__all__)
    with pytest.raises(AttributeError):
        _ = genealogy.no_such_name  # type: ignore[attr-defined]


def test_import_genealogy_loads_no_heavy_module() -> None:
    """What keeps `import genealogy` and `genealogy --help` fast (measured by benchmarks)."""
    probe = (
        "import sys, genealogy; "
        "print(sorted(m for m in ('networkx', 'aiohttp', 'pydantic', 'httpx') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr
    cli = probe.replace("import sys, genealogy;", "import sys, genealogy.cli;")
    loaded = subprocess.run([sys.executable, "-c", cli], capture_output=True, text=True)
    assert loaded.stdout.strip() == "[]", loaded.stderr


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(genealogy.api)
    assert result.attempted >= 6 and result.failed == 0


def test_crawl_reads_the_key_and_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with genealogy.local_server(api_key=API_KEY) as server:
        monkeypatch.setenv("TOFUPILOT_URL", server.url)
        monkeypatch.setenv("TOFUPILOT_API_KEY", API_KEY)
        crawled = genealogy.crawl(DEMO_START.lower())
    in_memory = genealogy.from_records(genealogy.demo_records(), DEMO_START)
    assert sorted(crawled) == sorted(in_memory)
    assert sorted(crawled.edges()) == sorted(in_memory.edges())
    # the list endpoint: whole levels per request, with every unit's run history
    assert crawled.graph["stats"]["requests"] < 20
    cell = crawled.nodes[DEMO_START]
    assert cell["latest_outcome"] == "FAIL" and cell["run_count"] == len(cell["runs"]) >= 1


def test_crawl_works_inside_a_running_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a notebook: `asyncio.run` would refuse; the crawl runs on a loop of its own."""

    async def notebook_cell() -> nx.DiGraph:
        return genealogy.crawl(DEMO_START, direction="up")

    with genealogy.local_server(api_key=API_KEY) as server:
        monkeypatch.setenv("TOFUPILOT_URL", server.url)
        monkeypatch.setenv("TOFUPILOT_API_KEY", API_KEY)
        graph = asyncio.run(notebook_cell())
    assert sorted(graph) == ["CELL-21700-C-0142", "ESS-R48-0007", "MOD-16S-0313"]


def test_ctrl_c_in_a_notebook_stops_the_crawl_and_keeps_what_it_read(
    make_server: MakeServer,
) -> None:
    """In a running loop the crawl runs on a worker thread; Ctrl-C reaches the caller's
    thread, which must stop the worker's crawl (not leave it running) and return the graph
    read so far, marked interrupted, as outside a notebook."""
    records = synthetic_tree(300, 5)
    server = make_server(records, latency=0.05)
    stop = threading.Event()

    def interrupt_once_under_way() -> None:
        # Ctrl-C once 20 units were asked for (about 0.6 s into the crawl on an idle machine):
        # a fixed 0.6 s assumed the crawl was under way by then, but on a busy machine it may
        # still be importing its modules, and a Ctrl-C before anything is read rightly raises
        # KeyboardInterrupt (there is no graph to return)
        give_up = time.monotonic() + 20
        while server.endpoint_requests["unit"] < 20 and time.monotonic() < give_up:
            if stop.wait(0.01):
                return
        os.kill(os.getpid(), signal.SIGINT)

    signaller = threading.Thread(target=interrupt_once_under_way, daemon=True)

    async def notebook_cell() -> nx.DiGraph:
        signaller.start()
        return genealogy.crawl(
            records[0]["serial_number"],
            base_url=server.url,
            api_key=API_KEY,
            via="get",
            concurrency=2,
        )

    # a loop run as a notebook kernel runs it: Python's own SIGINT handler in place (asyncio.run
    # would install one that cancels the main task; an earlier in-process CLI test, genealogy's)
    loop = asyncio.new_event_loop()
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        graph = loop.run_until_complete(notebook_cell())
    except KeyboardInterrupt:  # not expected: it would have escaped the crawl
        pytest.fail("Ctrl-C escaped genealogy.crawl instead of ending the crawl")
    finally:
        stop.set()
        signaller.join()
        loop.close()
        signal.signal(signal.SIGINT, handler)
    assert graph.graph["interrupted"] is True
    fetched = [node for node, attrs in graph.nodes(data=True) if attrs["status"] == "ok"]
    assert 0 < len(fetched) < len(records)
    asked = sum(server.requests.values())
    time.sleep(0.3)  # a crawl left running would go on asking
    # but the requests it had in flight (concurrency 2) may reach the server only now
    assert sum(server.requests.values()) - asked <= 2
    assert not [t for t in threading.enumerate() if t.name == "genealogy" and t.is_alive()]


def test_acrawl_awaits_on_the_callers_loop() -> None:
    with genealogy.local_server(api_key=API_KEY) as server:
        graph = asyncio.run(
            genealogy.acrawl(DEMO_START, base_url=server.url, api_key=API_KEY, max_depth=1)
        )
    assert set(graph) >= {DEMO_START, "MOD-16S-0313"}
    assert any(attrs["status"] == "unexplored" for _, attrs in graph.nodes(data=True))


def test_a_missing_key_is_a_genealogy_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOFUPILOT_API_KEY", raising=False)
    with pytest.raises(genealogy.MissingApiKey) as raised:
        genealogy.crawl("SN-1", base_url="http://127.0.0.1:9/api")
    assert isinstance(raised.value, genealogy.GenealogyError)
    assert "TOFUPILOT_API_KEY" in str(raised.value)


def test_an_unknown_start_is_start_not_found() -> None:
    with genealogy.local_server(api_key=API_KEY) as server, pytest.raises(genealogy.StartNotFound):
        genealogy.crawl("NOPE", base_url=server.url, api_key=API_KEY)


def test_from_records_marks_what_it_cannot_read() -> None:
    records = [unit("A", children=["B", "C"]), {**unit("B", parent="A"), "part": None}]
    graph = genealogy.from_records(records, "a")
    assert graph.graph["start"] == "A"
    assert {n: a["status"] for n, a in graph.nodes(data=True)} == {
        "A": "ok",
        "B": "error",
        "C": "not_found",
    }
    assert "part" in graph.nodes["B"]["reason"]


def test_queries_return_frozen_results_with_to_dict() -> None:
    graph = genealogy.from_records(genealogy.demo_records(), DEMO_START)
    found = genealogy.trace(graph, DEMO_START.lower())  # any case, as the service matches
    assert found.serial == DEMO_START
    report = genealogy.audit(graph)
    assert all(f.code and f.severity and f.serials for f in report.findings)
    summary = genealogy.summary(graph)
    assert summary.findings == len(report.findings)
    for result in (found, report, summary):
        json.dumps(result.to_dict())
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(result, dataclasses.fields(result)[0].name, None)
    with pytest.raises(genealogy.UnknownSerial):
        genealogy.trace(graph, "NOT-THERE")


def test_several_units_crawled_up_together_are_traced_with_what_they_share() -> None:
    with genealogy.local_server() as server:
        asked = [DEMO_START, "cell-21700-c-0101", "NO-SUCH-CELL"]
        graph = genealogy.crawl(
            asked, base_url=server.url, api_key=server.api_key, direction="up"
        )
        requests = server.total_requests
    assert requests <= 6  # three levels: units and their run histories, batched
    assert {node for node, start in graph.nodes(data="start") if start} == {
        DEMO_START,
        "CELL-21700-C-0101",
        "NO-SUCH-CELL",
    }
    found = genealogy.trace_many(graph, asked)
    assert [one.serial for one in found.traces] == [DEMO_START, "CELL-21700-C-0101"]
    assert found.not_found == ("NO-SUCH-CELL",)
    assert found.shared == (("ESS-R48-0007", (DEMO_START, "CELL-21700-C-0101")),)
    json.dumps(found.to_dict())
    # problems from a crawl that went up only: counted as far as it goes, and it says so
    report = genealogy.trace(graph, DEMO_START, problems=True).problems
    assert report is not None
    assert [(group.kind, group.count) for group in report.groups] == [("failed", 2)]
    assert report.units == 5 and report.unexplored > 0  # the rack's other units, never asked


def test_render_write_and_load_round_trip(tmp_path: Path) -> None:
    graph = genealogy.from_records(genealogy.demo_records(), DEMO_START)
    genealogy.write(graph, tmp_path / "tree.json")
    loaded = genealogy.load(tmp_path / "tree.json")
    assert comparable(loaded) == comparable(graph)
    assert genealogy.render(graph, "text", charset="ascii").startswith("ESS-R48-0007")
    page = genealogy.render(graph, "html")
    assert isinstance(page, str) and "dangling-reference" in page  # the audit's findings
    with pytest.raises(genealogy.UnknownFormat) as raised:
        genealogy.render(graph, "xlsx")
    assert isinstance(raised.value, genealogy.UsageError)
    with pytest.raises(genealogy.UsageError):
        genealogy.write(graph, tmp_path / "tree.unknown")
    with pytest.raises(genealogy.UsageError):
        genealogy.render(graph, "text", colour=True)


def test_the_format_table_is_what_render_accepts() -> None:
    graph = genealogy.from_records([unit("A")], "A")
    for fmt in genealogy.FORMATS:
        if genealogy.FORMATS[fmt].needs_graphviz:
            continue  # tested with Graphviz in test_cli
        assert genealogy.render(graph, fmt)


def test_bad_arguments_are_usage_errors(tmp_path: Path) -> None:
    binary = tmp_path / "graph.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(genealogy.UsageError):
        genealogy.load(binary)
    with pytest.raises(genealogy.UsageError):
        genealogy.crawl("SN-1", bogus=1)
    graph = genealogy.from_records(
        [unit("A", children=["B", "C"]), unit("B", parent="A"), unit("C", parent="A")],
        "A",
        max_units=0,  # no limit, as on the command line
    )
    assert {a["status"] for _, a in graph.nodes(data=True)} == {"ok"}
