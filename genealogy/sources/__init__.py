"""Where unit records come from: the HTTP API, the on-disk cache, or both stacked.

Every source answers `get(serial)` with a `FetchOutcome`; the crawler needs nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from genealogy.models import Unit


@dataclass(frozen=True, slots=True)
class Fetched:
    unit: Unit
    cached: bool = False
    warnings: tuple[str, ...] = ()  # descriptive fields that were malformed and repaired


@dataclass(frozen=True, slots=True)
class NotFound:
    reason: str


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str


FetchOutcome = Fetched | NotFound | Failed


@dataclass(slots=True)
class Counters:
    """Live counts shared by the sources, the crawler and the progress line."""

    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    done: int = 0  # serials whose lookup has finished, whatever its outcome
    discovered: int = 0


class UnitSource(Protocol):
    """Anything that can look a unit up by serial number."""

    async def get(self, serial: str) -> FetchOutcome: ...


@dataclass(frozen=True, slots=True)
class JsonFetched:
    """A JSON endpoint's decoded answer to a GET (status 200)."""

    data: Any


@dataclass(frozen=True, slots=True)
class JsonFailed:
    """A JSON GET that brought no usable answer, and why.

    `status` is the HTTP status of the final answer (404 or 400 from an endpoint this server
    lacks, 503 after the retries...), None when none came: a network error, a timeout, the
    deadline, a request that could not be built. `code` is the `code` of a documented error
    body, when the server sent one.
    """

    reason: str
    status: int | None = None
    code: str | None = None


JsonOutcome = JsonFetched | JsonFailed
