"""Ctrl-C, SIGTERM and SIGHUP during a crawl: the process stops promptly, still writes what it
crawled, marks it interrupted, leaves no temporary file, and exits 128 + the signal."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from genealogy.errors import ExitCode
from genealogy.renderers.json import load
from tests.records import unit
from tests.signalling import signalled


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code"),
    [
        (signal.SIGINT, ExitCode.INTERRUPTED),
        (signal.SIGTERM, ExitCode.TERMINATED),
        (signal.SIGHUP, ExitCode.HANGUP),
    ],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_signal_writes_the_partial_graph_and_exits_with_its_code(
    make_server: Any, tmp_path: Path, signum: signal.Signals, code: ExitCode
) -> None:
    children = [f"C{i:02d}" for i in range(40)]
    records = [unit("ROOT", children=children)] + [unit(c, parent="ROOT") for c in children]
    server = make_server(records, latency=0.5)
    out = tmp_path / "partial.json"
    returncode, _, stderr = signalled(
        server,
        signum,
        "export",
        "ROOT",
        "-o",
        str(out),
        "--no-cache",
        "--concurrency",
        "4",
        "--via",
        "get",  # one request per unit: several in flight when Ctrl-C comes
        after=6,  # the root is in and children are in flight
    )
    assert returncode == code, stderr
    assert [p.name for p in tmp_path.iterdir()] == ["partial.json"]  # no temporary file left
    assert "interrupted" in stderr
    graph = load(out.read_text(encoding="utf-8"))
    assert graph.graph["interrupted"] is True
    assert set(graph) == {"ROOT", *children}  # every referenced unit is still a node
    statuses = {graph.nodes[c]["status"] for c in children}
    assert statuses <= {"ok", "unexplored"} and "unexplored" in statuses
    unexplored = [c for c in children if graph.nodes[c]["status"] == "unexplored"]
    assert all("interrupted" in graph.nodes[c]["reason"] for c in unexplored)
    assert "Traceback" not in stderr


def test_signals_during_the_write_wait_until_it_is_done(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two Ctrl-C presses 50 ms apart used to leave nothing: now the write finishes first."""
    from genealogy.cli import signals

    finished = []
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), signals.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        finished.append("written")
    assert finished == ["written"]
    assert "finishing the output first" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored
    signals.received.clear()


def test_an_ignored_signal_stays_ignored() -> None:
    """Under nohup SIGHUP is ignored: logging out must not end the crawl."""
    from genealogy.cli import signals

    before = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signals.install()
        signals.hold()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is not before[signal.SIGTERM]
        signals.release()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
