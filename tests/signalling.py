"""A `genealogy` command in a process of its own, sent a signal mid-crawl: how Ctrl-C, SIGTERM
and SIGHUP are tested for real (the handlers act on the main thread of the whole process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from genealogy.localserver import LocalTofuPilot
from tests.conftest import API_KEY


def signalled(
    server: LocalTofuPilot, signum: signal.Signals, *args: str, after: int, **env: str
) -> tuple[int, str, str]:
    """`genealogy ARGS` against `server`, sent `signum` once `after` requests have reached the
    server (give it latency, so that the crawl is still under way): exit code, stdout, stderr."""
    environment = {
        **os.environ,
        "TOFUPILOT_URL": server.url,
        "TOFUPILOT_API_KEY": API_KEY,
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "genealogy", *args],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while server.total_requests < after:
            assert time.monotonic() < deadline, "the crawl never got under way"
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout, stderr
