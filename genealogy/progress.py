"""A one-line live progress display on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from genealogy.sources import Counters

REFRESH_SECONDS = 0.1


class Progress:
    def __init__(
        self, counters: Counters, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.counters = counters
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._last = 0.0
        self._shown = False

    def update(self) -> None:
        now = time.monotonic()
        if not self.enabled or now - self._last < REFRESH_SECONDS:
            return
        self._last = now
        c = self.counters
        line = (
            f"crawling: {c.done}/{c.discovered} units, {c.requests} requests, "
            f"{c.retries} retries, {c.cache_hits} from cache"
        )
        self.stream.write(f"\r\x1b[2K{line}")
        self.stream.flush()
        self._shown = True

    def finish(self) -> None:
        """Erase the line, so the summary that follows starts clean."""
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False
