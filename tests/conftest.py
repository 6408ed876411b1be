"""Shared fixtures: a real local TofuPilot-compatible server on 127.0.0.1, stopped per test;
headless Chromium for the browser tests (tests/browser.py).

Every test that uses the `chromium` or `browser_page` fixture is marked `browser` here, and
Playwright is imported only when such a test runs: `pytest -m "not browser"` never imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from genealogy.datasets import factory
from genealogy.localserver import LocalTofuPilot

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.browser import BrowserPage

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
