"""A client-side request pacer shared by all concurrent requests of one crawl."""

from __future__ import annotations

import asyncio


class RateLimiter:
    """Spaces requests at most `rate` per second, and holds everyone back after a 429.

    Slots are handed out in call order, so waiting tasks never starve one another.
    """

    def __init__(self, rate: float | None = None) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._next_slot = 0.0
        self._paused_until = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        slot = self._reserve(loop.time())
        while True:
            delay = slot - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._paused_until <= slot:
                return
            # a 429 came in while this request waited for its slot: queue up after the pause
            slot = self._reserve(loop.time())

    def _reserve(self, now: float) -> float:
        slot = max(now, self._next_slot, self._paused_until)
        self._next_slot = slot + self._interval
        return slot

    def pause(self, seconds: float) -> None:
        """Make every request wait `seconds` from now (the server asked us to back off)."""
        until = asyncio.get_running_loop().time() + seconds
        self._paused_until = max(self._paused_until, until)
