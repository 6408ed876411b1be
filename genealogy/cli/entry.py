"""The `genealogy` console script: the click group, then an exit without interpreter teardown.

At exit, Python frees every object one by one: 0.1 s after a 1,000-unit crawl, seconds after a
100,000-unit one, and all of it after the output is written. So once the command has finished,
the exit handlers run (logging's among them), stdout and stderr are flushed, and the process
ends at once with the command's exit code.

It also marks the process as the command's own (`genealogy.process`), before anything else is
imported, and keeps httpx from importing its own command line.
"""

from __future__ import annotations

import atexit
import os
import sys
from typing import NoReturn

import genealogy.process

genealogy.process.command = True  # before the commands import anything else
# httpx imports its own command line's modules (click, pygments, rich) when they are installed,
# for `httpx.main`, which this process never calls: 10 ms with pygments, more with rich
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

from genealogy.cli.commands import main  # noqa: E402

BROKEN_PIPE = 120
"""What Python itself exits with when stdout cannot be flushed at exit (here only when the
command itself succeeded: a failure keeps its own code)."""


def run() -> NoReturn:
    try:
        main(prog_name="genealogy")
    except SystemExit as stop:
        status = stop.code
    else:  # pragma: no cover - click's standalone mode always raises SystemExit
        status = 0
    end(status)


def end(status: object) -> NoReturn:
    """Exit as `sys.exit(status)` would, without freeing the interpreter's objects first."""
    if status is None:
        code = 0
    elif isinstance(status, int):
        code = status
    else:  # sys.exit("message"): the message on stderr, status 1
        print(status, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that descriptor closed
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: as Python reports it
            code = code or BROKEN_PIPE
    os._exit(code % 256)
