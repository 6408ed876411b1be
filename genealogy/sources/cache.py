"""An on-disk SQLite cache of unit records, so a re-crawl costs no requests.

Rows are keyed by base URL and serial number (folded: the service matches serials
case-insensitively, so `sn-1` and `SN-1` are one row) and hold the validated record with the
warnings its repair gave (or the fact that the unit was not found) and the time it was
fetched. Nothing about the request, in particular the API key, is ever stored. The file is
readable by its owner only, and never reached through a symlink.

The cache is a convenience, never a source of truth: a row that cannot be read, or that is
implausible (a NULL record, a time in the future, a record nested too deep), is a miss and the
unit is fetched again. A file written by another version (its `user_version` differs) is
emptied.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import pydantic

from genealogy.config import default_cache_path as default_cache_path
from genealogy.matching import fold
from genealogy.models import Unit
from genealogy.sources import Counters, Failed, Fetched, FetchOutcome, NotFound, UnitSource

SCHEMA_VERSION = 2
"""Version 2: serials folded to lower case, and a `warnings` column."""
SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    base_url   TEXT NOT NULL,
    serial     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('ok', 'not_found')),
    record     TEXT,
    reason     TEXT,
    warnings   TEXT,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (base_url, serial)
)
"""
_T = TypeVar("_T")
BUSY_TIMEOUT_S = 30.0  # another genealogy process writing the same cache
CLOCK_SLACK_S = 300.0
"""How far in the future a row's time may lie (clocks of machines sharing a cache differ)."""
log = logging.getLogger(__name__)


class CacheUnavailable(Exception):
    """The cache file cannot be opened or used; the crawl goes on without it."""


class UnitCache:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _open_private(path)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
            # WAL: readers never wait for a writer; each store is its own short transaction
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise CacheUnavailable(f"cannot use the cache {path}: {exc}") from exc

    def _migrate(self) -> None:
        """A file of another version is emptied: its rows could be read wrongly."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version != SCHEMA_VERSION:
            with self._db:
                tables = self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                for (name,) in tables.fetchall():
                    self._db.execute(f'DROP TABLE IF EXISTS "{name.replace(chr(34), "")}"')
                self._db.execute(SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        else:
            self._db.execute(SCHEMA)

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
        """The cached answer, if there is one younger than `max_age` seconds (any age if None).

        Any row that cannot be read back exactly as it was stored is a miss."""
        row = self.lookup_row(base_url, serial, max_age)
        if row is None:
            return None
        if row.status == "not_found":
            return NotFound(row.reason or "not found")
        try:
            unit = Unit.model_validate_json(row.record or "")
        except (pydantic.ValidationError, ValueError, RecursionError):
            return None  # damaged, or nested beyond reason: fetch it again
        return Fetched(unit, cached=True, warnings=row.warnings)

    def lookup_row(self, key: str, serial: str, max_age: float | None) -> CachedRow | None:
        """The row stored under `key` (a base URL, or a base URL and `#` the kind of record a
        list endpoint gives) and `serial`, if fresh and plausible; its record unparsed."""
        return self.lookup_rows(key, [serial], max_age).get(fold(serial))

    def lookup_rows(
        self, key: str, serials: Sequence[str], max_age: float | None
    ) -> dict[str, CachedRow]:
        """`lookup_row` for many serials, a few hundred per query; keyed by `fold(serial)`."""
        found: dict[str, CachedRow] = {}
        folded = list(dict.fromkeys(fold(serial) for serial in serials))
        for at in range(0, len(folded), LOOKUP_BATCH):
            batch = folded[at : at + LOOKUP_BATCH]
            marks = ", ".join("?" * len(batch))
            rows = self._db.execute(
                "SELECT serial, status, record, reason, warnings, fetched_at FROM units "
                f"WHERE base_url=? AND serial IN ({marks})",
                (_normalise(key), *batch),
            )
            for serial, *row in rows:
                cached = _plausible(row, max_age)
                if cached is not None:
                    found[serial] = cached
        return found

    def store_row(
        self,
        key: str,
        serial: str,
        record: str | None,
        reason: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> None:
        """Store `record` (JSON text), or the fact that `serial` was not found (`reason`)."""
        self.store_rows(key, [(serial, record, reason, warnings)])

    def store_rows(self, key: str, rows: Iterable[StoredRow]) -> None:
        """Store many rows in one transaction: a commit per row made caching a 7,122-unit
        pack cost three times its crawl."""
        now = time.time()
        values = [
            (
                _normalise(key),
                fold(serial),
                *(("ok", record, None) if record is not None else ("not_found", None, reason)),
                json.dumps(list(warnings)) if warnings else None,
                now,
            )
            for serial, record, reason, warnings in rows
        ]
        with self._db:  # commits, or rolls back on error
            self._db.executemany(
                "INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?, ?)", values
            )

    def store(self, base_url: str, serial: str, outcome: Fetched | NotFound) -> None:
        if isinstance(outcome, Fetched):
            self.store_row(base_url, serial, outcome.unit.model_dump_json(), None, outcome.warnings)
        else:
            self.store_row(base_url, serial, None, outcome.reason)


LOOKUP_BATCH = 500
"""Serials per cache query (SQLite allows 999 parameters in old versions, 32,766 since 3.32)."""

StoredRow = tuple[str, str | None, str | None, tuple[str, ...]]
"""A row to store: serial number, record (JSON text; None: not found), reason, warnings."""


@dataclass(frozen=True, slots=True)
class CachedRow:
    status: str  # "ok" or "not_found"
    record: str | None  # the record's JSON text when ok
    reason: str | None  # why it was not found
    warnings: tuple[str, ...]


def _plausible(row: list[Any], max_age: float | None) -> CachedRow | None:
    """A stored row as read back, if fresh and plausible (a damaged or forged one is a miss)."""
    status, record, reason, warnings, fetched_at = row
    if not isinstance(fetched_at, int | float) or not _fresh(fetched_at, max_age):
        return None
    if status == "not_found":
        return CachedRow(status, None, reason if isinstance(reason, str) else None, ())
    if status != "ok" or not isinstance(record, str):
        return None
    try:
        kept = tuple(str(w) for w in json.loads(warnings)) if warnings else ()
    except (ValueError, TypeError, RecursionError):
        return None
    return CachedRow(status, record, None, kept)


def _fresh(fetched_at: float, max_age: float | None) -> bool:
    """Younger than `max_age` (any age if None); a time in the future (a clock set back, or a
    forged row) counts as expired, or the row would never expire."""
    age = time.time() - fetched_at
    if age < -CLOCK_SLACK_S:
        return False
    return max_age is None or age <= max_age


def _open_private(path: Path) -> None:
    """Create `path` readable by its owner only, or tighten it; refuse a symlink or anything
    but a regular file, so `chmod` and SQLite never land on another file."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if path.is_symlink():
            raise OSError(exc.errno, "the cache path is a symlink, which is refused") from exc
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "the cache path is not a regular file")
        os.fchmod(fd, 0o600)  # also tightens a file created by an older version
    finally:
        os.close(fd)


def storable(serial: str) -> bool:
    """Whether SQLite can hold `serial` (not a lone surrogate)."""
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
        if not storable(serial):  # SQLite cannot hold it; the API could not be asked either
            return Failed("serial number is not valid Unicode text (lone surrogate)")
        if not self.refresh and self._usable:
            cached = self._guarded(self.cache.lookup, self.base_url, serial, self.max_age)
            if cached is not None:
                self.counters.cache_hits += 1
                return cached
        if self.inner is None:
            return Failed("not in the cache (offline): crawl once online to fetch it")
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
