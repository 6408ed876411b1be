"""SIGTERM and SIGHUP end a crawl as Ctrl-C does, and no signal cuts a write in half.

A cancelled CI job or `timeout` sends SIGTERM, a closed terminal SIGHUP: the crawl stops,
what was learned so far is written and marked interrupted, and the exit code says which
signal it was (128 + its number, as shells report it: 130 Ctrl-C, 129 SIGHUP, 143 SIGTERM).
Once the crawl is over, signals wait until the output is written (a second Ctrl-C 50 ms after
the first used to leave nothing at all), and the exit code still says which signal came.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

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
    """SIGTERM and SIGHUP interrupt like Ctrl-C (the main thread only: signals go there).
    A signal the caller ignores (`nohup`, a background job) stays ignored."""
    for signum in HANDLED:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue
        if signum != signal.SIGINT:
            signal.signal(signum, _terminate)
        elif current is signal.default_int_handler:
            signal.signal(signum, _interrupt)


_previous: dict[int, Any] = {}
_held: list[int] = []


def hold() -> None:
    """From now until `release()`, SIGINT, SIGTERM and SIGHUP are noted, not acted on: the
    crawl is done, and its output is to be written whole."""
    for signum in HANDLED:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or signum in _previous:
            continue
        _previous[signum] = current
        signal.signal(signum, _note)


def _note(signum: int, frame: FrameType | None) -> None:
    if not _held:
        click.echo("genealogy: finishing the output first...", err=True)
    _held.append(signum)
    received.append(signum)


def release() -> list[int]:
    """Restore the handlers `hold()` replaced; the signals that came meanwhile."""
    for signum, handler in _previous.items():
        signal.signal(signum, handler)
    _previous.clear()
    came, _held[:] = list(_held), []
    return came


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold signals for the block; the first that came is raised afterwards."""
    hold()
    try:
        yield
    finally:
        came = release()
    if came:
        sys.stderr.flush()
        if came[0] == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(came[0])
