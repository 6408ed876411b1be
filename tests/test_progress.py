"""The live progress line: on stderr when it is a terminal, never on stdout, never with --quiet."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import API_KEY
from tests.records import unit


def _run_with_terminal_stderr(server: Any, *extra: str) -> tuple[str, str]:
    """Run the CLI with stderr on a pseudo-terminal; returns (stdout, what the terminal saw)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "genealogy", "export", "ROOT", "-f", "json", "--no-cache", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    return stdout.decode(), seen.decode(errors="replace")


@pytest.mark.slow
def test_progress_shows_on_a_terminal_and_stays_off_stdout(make_server: Any) -> None:
    children = [f"C{i:02d}" for i in range(30)]
    server = make_server(
        [unit("ROOT", children=children)] + [unit(c, parent="ROOT") for c in children],
        latency=0.05,
    )
    stdout, terminal = _run_with_terminal_stderr(server, "--concurrency", "2")
    assert "crawling: " in terminal and "units" in terminal and "requests" in terminal
    assert "\r" in terminal  # one line, rewritten in place
    assert "crawling" not in stdout and stdout.lstrip().startswith("{")

    _, quiet = _run_with_terminal_stderr(server, "--concurrency", "2", "--quiet")
    assert quiet.strip() == ""
