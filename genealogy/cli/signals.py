"""SIGTERM and SIGHUP end a crawl as Ctrl-C does, and no signal cuts a write in half.

A cancelled CI job or `timeout` sends SIGTERM, a closed terminal SIGHUP: the crawl stops,
what was learned so far is written and marked interrupted, and the exit code says which
signal it was (128 + its number, as shells report it: 130 Ctrl-C, 129 SIGHUP, 143 SIGTERM).
While the output is being written, signals wait: a second Ctrl-C 50 ms after the first used
to leave nothing at all.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType

import click

from genealogy.errors import ExitCode

HANDLED = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt, so both stop a crawl
    the same way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


received: list[int] = []
"""The signals that ended this run, first first."""


def exit_code(default: ExitCode) -> ExitCode:
    """128 + the signal that interrupted the run, or `default` (130, Ctrl-C)."""
    codes = {code.value: code for code in ExitCode}
    return codes.get(128 + received[0], default) if received else default


def _terminate(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    raise Terminated(signum)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM and SIGHUP interrupt like Ctrl-C (the main thread only: signals go there)."""
    for signum in HANDLED:
        if signum != signal.SIGINT:
            signal.signal(signum, _terminate)
        elif signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signum, _interrupt)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, saying so on stderr: the output
    is then whole or not there at all. The first held signal is raised afterwards."""
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        if not held:
            click.echo("genealogy: finishing the output first...", err=True)
        held.append(signum)
        received.append(signum)

    previous = {signum: signal.getsignal(signum) for signum in HANDLED}
    for signum in HANDLED:
        signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if held:
        sys.stderr.flush()
        if held[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(held[0])
