"""Shared fixtures and helpers: a real local TofuPilot-compatible server on 127.0.0.1, stopped
per test; graphs built in memory for the query and renderer tests (`plant_graph`, `demo_graph`);
crawling over HTTP (`crawl`), the command line (`run_cli`), and headless Chromium for the browser
tests (tests/browser.py).

Queries and renderers are tested on graphs `genealogy.from_records` builds: the crawl over an
in-memory source, the graph a server would give, without one. What only a server gives (HTTP
faults and their reasons, the 404 text, request counts, the cache) is tested over HTTP.

Every test that uses the `chromium` or `browser_page` fixture is marked `browser` here, and
Playwright is imported only when such a test runs: `pytest -m "not browser"` never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

from genealogy.datasets import DEMO_START, factory
from genealogy.localserver import LocalTofuPilot
from genealogy.nodes import Status

if TYPE_CHECKING:
    import networkx as nx
    from click.testing import Result
    from playwright.sync_api import Browser

    from genealogy.crawler import CrawlResult
    from tests.browser import BrowserPage

# `GENEALOGY_HYPOTHESIS=derandomized` (as `.ci/run` sets it): every property test draws the
# same examples each run, so a landing is never refused for a case a new draw happened upon,
# and no example is timed; a local run draws new ones each time, which is how bugs are found
settings.register_profile(
    "derandomized",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
if profile := os.environ.get("GENEALOGY_HYPOTHESIS"):
    settings.load_profile(profile)

API_KEY = "test-key-5f0c2a9e"
BROWSER_FIXTURES = frozenset({"chromium", "browser_page"})
"""A test using any of these drives Chromium: it is marked `browser`."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def demo_units() -> list[dict[str, Any]]:
    return factory()


@pytest.fixture
def server(demo_units: list[dict[str, Any]]) -> Iterator[LocalTofuPilot]:
    """The demo factory served over HTTP; tests may add `server.faults` or change units."""
    with LocalTofuPilot(demo_units, api_key=API_KEY) as running:
        yield running


ServerT = TypeVar("ServerT", bound=LocalTofuPilot)
MakeServer = Callable[..., LocalTofuPilot]
"""The type of the `make_server` fixture."""


def server_starter(kind: type[ServerT]) -> Iterator[Callable[..., ServerT]]:
    """Yields a function that starts `kind` servers; all are stopped when the test ends."""
    started: list[ServerT] = []

    def start(units: list[dict[str, Any]], **kwargs: Any) -> ServerT:
        kwargs.setdefault("api_key", API_KEY)
        running = kind(units, **kwargs).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalTofuPilot]]:
    """Start servers with custom records/options; all are stopped at the end of the test."""
    yield from server_starter(LocalTofuPilot)


# --- graphs: in memory for queries and renderers, over HTTP for the crawl -----------------------


def crawl(server: LocalTofuPilot, start: str, **options: Any) -> nx.DiGraph:
    """Crawl `server` from `start` over HTTP and build the graph (`CrawlOptions` as keywords)."""
    from genealogy.graph import build_graph
    from genealogy.runner import CrawlOptions, run_crawl

    return build_graph(
        run_crawl(start, CrawlOptions(base_url=server.url, api_key=API_KEY, **options))
    )


def fetch_failed(graph: nx.DiGraph, serial: str, reason: str) -> None:
    """Make `serial`, which no record has (`from_records` made it `not_found`), the `error` node
    an HTTP failure gives, with that failure's `reason`. Only for tests of queries and renderers:
    the in-memory source has no HTTP faults."""
    assert graph.nodes[serial]["status"] == Status.NOT_FOUND, graph.nodes[serial]
    graph.nodes[serial].update(status=str(Status.ERROR), reason=reason)


@pytest.fixture(scope="session")
def plant_graph() -> nx.DiGraph:
    """The plant (tests/plant.py) from C1, built in memory; shared, so no test may change it."""
    from tests.plant import grown, plant

    return grown(plant(), "C1")


@pytest.fixture(scope="session")
def demo_graph() -> nx.DiGraph:
    """The demo factory from its failed cell, built in memory; shared, so no test may change it."""
    import genealogy

    return genealogy.from_records(factory(), DEMO_START)


def statuses(result: CrawlResult) -> dict[str, Status]:
    """Each unit's status in a crawl result."""
    return {serial: state.status for serial, state in result.units.items()}


def comparable(graph: nx.DiGraph) -> tuple[Any, ...]:
    """Nodes, edges and attributes, without what depends on where records came from."""
    nodes = {
        node: {k: v for k, v in attrs.items() if k not in ("cached", "reason")}
        for node, attrs in graph.nodes(data=True)
    }
    return nodes, sorted(graph.edges(data=True)), graph.graph["start"], graph.graph["roots"]


def run_cli(
    server: LocalTofuPilot | str,
    *args: str,
    key: str | None = API_KEY,
    via: str | None = "get",
    **env: str | None,
) -> Result:
    """Run the `genealogy` command against `server` (or a URL) with `key`; `env` adds to or
    (with None) removes from the environment.

    `via` is the crawl path (GENEALOGY_VIA): `get` by default, one request per unit and no
    run histories, where the faults the tests inject per serial apply and every request is
    a unit's; None for the command's own default (the list endpoints and run histories),
    which tests/test_list_crawl.py and others exercise."""
    from click.testing import CliRunner

    from genealogy.cli import main

    url = server if isinstance(server, str) else server.url
    environment = {
        "TOFUPILOT_URL": url,
        "TOFUPILOT_API_KEY": key,
        "GENEALOGY_VIA": via,
        "GENEALOGY_NO_HISTORY": "1" if via == "get" else None,
        **env,
    }
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


# --- environment ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def private_cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads or writes the user's real cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def quiet_genealogy_logger() -> Iterator[None]:
    """The CLI points the `genealogy` logger at its stderr; undo that after each test."""
    import logging

    logger = logging.getLogger("genealogy")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, started once per session; fails (never skips) if missing."""
    from tests.browser import launch_chromium

    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium: Browser) -> Iterator[BrowserPage]:
    """A new context and page (1280x800) recording requests, console errors, page errors and
    dialogs (dismissed) in `.recorded`; open files with `.open(path)`."""
    from tests.browser import open_browser_page

    with open_browser_page(chromium) as opened:
        yield opened
