"""The on-disk cache in front of the HTTP source: fewer requests, offline crawls, privacy."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genealogy.crawler import Direction
from genealogy.errors import StartUnreachable
from genealogy.localserver import Fault
from genealogy.nodes import Status
from genealogy.runner import CrawlOptions, run_crawl
from genealogy.sources import Failed, Fetched, NotFound
from genealogy.sources.cache import CachedSource, UnitCache, default_cache_path
from tests.conftest import API_KEY, statuses
from tests.records import unit
from tests.test_http_source import RecordingServer, recording

__all__ = ["recording"]  # the fixture, shared with the HTTP source tests

Server = Callable[..., RecordingServer]


def tree() -> list[dict[str, Any]]:
    return [
        unit("R", children=["M1", "M2"]),
        unit("M1", parent="R", children=["C1", "GHOST"]),
        unit("M2", parent="R"),
        unit("C1", parent="M1"),
    ]


FOUND = {"R", "M1", "M2", "C1"}


def options(server: RecordingServer | str, cache: Path, **kw: Any) -> CrawlOptions:
    base = server if isinstance(server, str) else server.url
    settings: dict[str, Any] = {"api_key": API_KEY, "backoff": 0.01, "timeout": 5.0, **kw}
    return CrawlOptions(base_url=base, cache_path=cache, **settings)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "units.sqlite3"


def test_second_crawl_within_max_age_makes_no_requests(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    first = run_crawl("M1", options(server, cache_path, keep_units=True))
    assert server.total_requests == 5
    assert not any(state.cached for state in first.units.values())

    second = run_crawl("M1", options(server, cache_path, max_age=3600, keep_units=True))
    assert server.total_requests == 5  # nothing new
    assert statuses(second) == statuses(first)
    assert second.counters.requests == 0 and second.counters.cache_hits == 5
    assert all(second.units[s].cached for s in FOUND)
    assert second.units["C1"].unit == first.units["C1"].unit  # the record survives the round trip


def test_not_found_is_cached_too(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    second = run_crawl("M1", options(server, cache_path))
    assert server.requests["GHOST"] == 1
    ghost = second.units["GHOST"]
    assert ghost.status is Status.NOT_FOUND
    assert ghost.reason and "404" in ghost.reason


def test_failures_are_not_cached(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    server.faults["M2"] = Fault(status=500, times=1)
    first = run_crawl("M1", options(server, cache_path, retries=0))
    assert first.units["M2"].status is Status.ERROR
    second = run_crawl("M1", options(server, cache_path, retries=0))
    assert second.units["M2"].status is Status.OK
    assert server.requests["M2"] == 2 and server.requests["R"] == 1


def test_expired_entries_are_fetched_again(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    with sqlite3.connect(cache_path) as db:  # as if the crawl had been two hours ago
        db.execute("UPDATE units SET fetched_at = fetched_at - 7200 WHERE serial != 'm2'")
    db.close()
    result = run_crawl("M1", options(server, cache_path, max_age=3600))
    assert server.requests == Counter({"R": 2, "M1": 2, "C1": 2, "GHOST": 2, "M2": 1})
    assert result.counters.cache_hits == 1 and result.units["M2"].cached
    assert not result.units["M1"].cached


def test_max_age_none_never_expires(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE units SET fetched_at = 0")
    db.close()
    run_crawl("M1", options(server, cache_path, max_age=None))
    assert server.total_requests == 5


def test_refresh_fetches_again_and_updates_the_cache(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    server.units["C1"] = unit("C1", parent="M1", children=["NEW"])  # reworked since
    server.units["NEW"] = unit("NEW", parent="C1")

    stale = run_crawl("M1", options(server, cache_path))
    assert "NEW" not in stale.units and server.total_requests == 5

    fresh = run_crawl("M1", options(server, cache_path, refresh=True))
    assert fresh.units["NEW"].status is Status.OK
    assert not fresh.units["C1"].cached
    assert server.requests == Counter({"R": 2, "M1": 2, "M2": 2, "C1": 2, "GHOST": 2, "NEW": 1})

    offline = run_crawl("M1", options(server, cache_path, offline=True, api_key=None))
    assert offline.units["NEW"].status is Status.OK  # the cache holds the new record
    assert offline.units["C1"].attrs["children_serials"] == ["NEW"]  # type: ignore[index]
    assert server.total_requests == 11


def test_offline_crawls_from_the_cache_alone(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path, direction=Direction.DOWN))  # M1, C1, GHOST
    before = server.total_requests
    result = run_crawl("M1", options(server, cache_path, offline=True, api_key=None))
    assert server.total_requests == before  # offline: not a single request
    assert result.counters.requests == 0
    assert statuses(result) == {
        "M1": Status.OK,
        "C1": Status.OK,
        "GHOST": Status.NOT_FOUND,
        "R": Status.ERROR,
    }
    reason = result.units["R"].reason or ""
    assert "offline" in reason and "cache" in reason


def test_offline_start_missing_from_the_cache_is_unreachable(cache_path: Path) -> None:
    with pytest.raises(StartUnreachable) as caught:
        run_crawl("R", options("http://127.0.0.1:9/api", cache_path, offline=True, api_key=None))
    assert "offline" in str(caught.value)


def test_offline_ignores_age_and_refresh(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE units SET fetched_at = 0")
    db.close()
    result = run_crawl(
        "M1", options(server, cache_path, offline=True, max_age=1, refresh=True, api_key=None)
    )
    assert statuses(result)["C1"] is Status.OK
    assert server.total_requests == 5


def test_keyed_by_base_url(recording: Server, cache_path: Path) -> None:
    first = recording(tree())
    other = recording(tree())
    run_crawl("M1", options(first, cache_path))
    run_crawl("M1", options(other, cache_path))
    assert other.total_requests == 5  # another service: nothing of the first one's answers
    run_crawl("M1", options(first.url + "/", cache_path))  # the same service, written otherwise
    assert first.total_requests == 5


def test_offline_with_another_base_url_misses(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    with pytest.raises(StartUnreachable):
        run_crawl(
            "M1", options("http://elsewhere.test/api", cache_path, offline=True, api_key=None)
        )


def test_file_and_directory_are_private(recording: Server, tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "units.sqlite3"
    server = recording(tree())
    run_crawl("M1", options(server, path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_readable_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "units.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    UnitCache(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_api_key_never_reaches_the_disk(recording: Server, cache_path: Path) -> None:
    server = recording(tree())
    echo = {"code": "NOT_FOUND", "message": f"no unit for Bearer {API_KEY}"}
    server.faults["GHOST"] = Fault(status=404, times=None, body=json.dumps(echo).encode())
    result = run_crawl("M1", options(server, cache_path))
    assert result.units["GHOST"].status is Status.NOT_FOUND
    files = [p for p in cache_path.parent.iterdir() if p.is_file()]
    assert cache_path in files
    key = API_KEY.encode()
    for path in files:
        data = path.read_bytes()
        assert key not in data and API_KEY.encode("utf-16-le") not in data, path
    assert b"C1" in cache_path.read_bytes()  # control: the records themselves are there


def test_records_from_an_incompatible_version_are_fetched_again(
    recording: Server, cache_path: Path
) -> None:
    server = recording(tree())
    run_crawl("M1", options(server, cache_path))
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE units SET record = '{\"id\": 1}' WHERE serial = 'c1'")
    db.close()
    result = run_crawl("M1", options(server, cache_path))
    assert result.units["C1"].status is Status.OK
    assert server.requests["C1"] == 2 and server.requests["M1"] == 1


def test_unit_cache_round_trip(tmp_path: Path) -> None:
    from genealogy.models import Unit

    record = Unit.model_validate(
        unit("A", children=["B"], metadata={"v": 1.5, "ok": True, "n": 3, "s": "x"}, extra=[1])
    )
    with UnitCache(tmp_path / "c.db") as cache:
        cache.store("http://h/api/", "A", Fetched(record))
        cache.store("http://h/api", "Z", NotFound("not found (404)"))
        hit = cache.lookup("http://h/api", "A", max_age=60)
        assert isinstance(hit, Fetched) and hit.cached and hit.unit == record
        assert cache.lookup("http://h/api", "Z", None) == NotFound("not found (404)")
        assert cache.lookup("http://other/api", "A", None) is None
        assert cache.lookup("http://h/api", "A", max_age=-1) is None  # older than allowed


def test_serial_sqlite_cannot_hold_is_failed(tmp_path: Path) -> None:
    async def main() -> Any:
        with UnitCache(tmp_path / "c.db") as cache:
            source = CachedSource(cache, "http://h/api", None)
            return await source.get("SN-\udcff")

    outcome = asyncio.run(main())
    assert isinstance(outcome, Failed) and "Unicode" in outcome.reason


def test_default_cache_path_is_per_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "genealogy" / "units.sqlite3"


def test_help_names_the_default_cache_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from genealogy.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shown = CliRunner().invoke(main, ["export", "--help"], terminal_width=400).output
    assert f"SQLite cache file  [default: {tmp_path / 'genealogy' / 'units.sqlite3'}]" in shown


def test_rows_are_stored_and_looked_up_in_batches_larger_than_one_query(tmp_path: Path) -> None:
    from genealogy.sources.cache import LOOKUP_BATCH

    count = 2 * LOOKUP_BATCH + 7
    rows = [(f"SN-{n:05d}", json.dumps({"n": n}), None, ()) for n in range(count)]
    rows.append(("GONE-1", None, "not in the list endpoint's answer", ()))
    with UnitCache(tmp_path / "c.db") as cache:
        cache.store_rows("http://x/api#listed", rows)
        asked = [f"sn-{n:05d}" for n in range(count)] + ["gone-1", "NEVER-STORED"]
        found = cache.lookup_rows("http://x/api#listed", asked, max_age=None)
        assert len(found) == count + 1
        assert json.loads(found["sn-00999"].record or "") == {"n": 999}
        assert found["gone-1"].status == "not_found"
        assert found["gone-1"].reason == "not in the list endpoint's answer"
        assert "never-stored" not in found
        assert cache.lookup_rows("http://x/api#runs", asked, max_age=None) == {}  # another kind
        assert cache.lookup_rows("http://x/api#listed", asked[:3], max_age=-1.0) == {}  # stale
