"""An on-disk SQLite cache of unit records, so a re-crawl costs no requests.

Rows are keyed by base URL and serial number and hold the validated record (or the fact that
the unit was not found) with the time it was fetched. Nothing about the request, in
particular the API key, is ever stored. The file is readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import platformdirs
import pydantic

from genealogy.models import Unit
from genealogy.sources import Counters, Failed, Fetched, FetchOutcome, NotFound, UnitSource

SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    base_url   TEXT NOT NULL,
    serial     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'not_found')),
    record     TEXT,
    reason     TEXT,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (base_url, serial)
)
"""
_T = TypeVar("_T")
BUSY_TIMEOUT_S = 30.0  # another genealogy process writing the same cache
log = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The cache file cannot be opened or used; the crawl goes on without it."""


def default_cache_path() -> Path:
    """The platform's place for user cache files (`~/.cache/genealogy/` on Linux)."""
    return platformdirs.user_cache_path("genealogy") / "units.sqlite3"


class UnitCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            os.chmod(path, 0o600)  # also tightens a file created by an older version
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
            # WAL: readers never wait for a writer; each store is its own short transaction
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise CacheUnavailable(f"cannot use the cache {path}: {exc}") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._db.commit()
        finally:
            self._db.close()

    def lookup(self, base_url: str, serial: str, max_age: float | None) -> FetchOutcome | None:
        """The cached answer, if there is one younger than `max_age` seconds (any age if None)."""
        row = self._db.execute(
            "SELECT status, record, reason, fetched_at FROM units WHERE base_url=? AND serial=?",
            (_normalise(base_url), serial),
        ).fetchone()
        if row is None:
            return None
        status, record, reason, fetched_at = row
        if max_age is not None and time.time() - fetched_at > max_age:
            return None
        if status == "not_found":
            return NotFound(reason or "not found")
        try:
            return Fetched(Unit.model_validate(json.loads(record)), cached=True)
        except (pydantic.ValidationError, ValueError):
            return None  # written by an incompatible version: fetch it again

    def store(self, base_url: str, serial: str, outcome: Fetched | NotFound) -> None:
        values: tuple[str, str | None, str | None]
        if isinstance(outcome, Fetched):
            values = ("ok", json.dumps(outcome.unit.model_dump(mode="json")), None)
        else:
            values = ("not_found", None, outcome.reason)
        with self._db:  # commits, or rolls back on error
            self._db.execute(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)",
                (_normalise(base_url), serial, *values, time.time()),
            )


def _storable(serial: str) -> bool:
    try:
        serial.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _normalise(base_url: str) -> str:
    return base_url.rstrip("/")


class CachedSource:
    """Answers from the cache when it can, otherwise asks `inner` and remembers the answer.

    With no `inner` source (offline), a unit missing from the cache is a failure, whatever its age.
    """

    def __init__(
        self,
        cache: UnitCache,
        base_url: str,
        inner: UnitSource | None,
        *,
        max_age: float | None = None,
        refresh: bool = False,
        counters: Counters | None = None,
    ) -> None:
        self.cache = cache
        self.base_url = base_url
        self.inner = inner
        self.max_age = max_age if inner is not None else None
        self.refresh = refresh and inner is not None
        self.counters = counters or Counters()
        self._usable = True

    async def get(self, serial: str) -> FetchOutcome:
        if not _storable(serial):  # SQLite cannot hold it; the API could not be asked either
            return Failed("serial number is not valid Unicode text (lone surrogate)")
        if not self.refresh and self._usable:
            cached = self._guarded(self.cache.lookup, self.base_url, serial, self.max_age)
            if cached is not None:
                self.counters.cache_hits += 1
                return cached
        if self.inner is None:
            return Failed("not in the cache (offline): crawl once without --offline to fetch it")
        outcome = await self.inner.get(serial)
        if isinstance(outcome, Fetched | NotFound) and self._usable:
            self._guarded(self.cache.store, self.base_url, serial, outcome)
        return outcome

    def _guarded(self, operation: Callable[..., _T], *args: Any) -> _T | None:
        """A cache that fails mid-crawl (locked too long, disk full) is dropped, with a warning."""
        try:
            return operation(*args)
        except sqlite3.Error as exc:
            self._usable = False
            log.warning("cache %s failed (%s): continuing without it", self.cache.path, exc)
            return None
