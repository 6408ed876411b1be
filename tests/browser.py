"""End-to-end browser tests: Debian's Chromium in headless mode, driven by Playwright.

Playwright never downloads a browser here (the machine reaches only package registries): it
drives the `chromium` Debian package (`apt-get install chromium`, or `bash tests/run.sh`), or
the executable that `GENEALOGY_CHROMIUM` names. The fixtures `chromium` and `browser_page` in
tests/conftest.py are built on `launch_chromium` and `open_browser_page` below. In a browser
test, asyncio.run() (a crawl) needs `with allow_asyncio():`, see there. Playwright is imported
only when `launch_chromium` runs, so importing this module (collecting the browser tests, or
`pytest -m "not browser"`) does not need it.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urldefrag, urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:  # Playwright itself is imported only when a browser starts (launch_chromium)
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Page,
        Request,
        Response,
        ViewportSize,
        WebSocket,
    )
    from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parent.parent
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "install Debian's Chromium with 'apt-get install chromium' (as root) or run the tests "
    "with 'bash tests/run.sh', which installs it; or point GENEALOGY_CHROMIUM at a Chromium"
)
# Headless, and quiet on the network: without the background-networking flags Chromium calls
# Google's services at start. Playwright gives each launch a fresh temporary user-data-dir.
CHROMIUM_ARGS = (
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
TIMEOUT_MS = 15_000  # for each Playwright action and navigation; pages here are local files
LOCAL_SCHEMES = ("data:", "about:", "blob:")  # never leave the browser


def chromium_executable() -> Path:
    """`GENEALOGY_CHROMIUM`, else /usr/bin/chromium, else `chromium` on PATH; fails if none."""
    override = os.environ.get("GENEALOGY_CHROMIUM")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            pytest.fail(f"GENEALOGY_CHROMIUM={override} is not an executable file", pytrace=False)
        return path
    if DEBIAN_CHROMIUM.is_file() and os.access(DEBIAN_CHROMIUM, os.X_OK):
        return DEBIAN_CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            f"the browser tests need Chromium, and none was found: {INSTALL_HINT}", pytrace=False
        )
    return Path(found)


# Playwright's sync API marks its event loop as this thread's running loop between its calls
# (playwright/_impl/_greenlets.py), and asyncio.run() refuses to start while one is marked: every
# crawl after a browser test would fail. So the mark is kept only while a page of
# open_browser_page() is open, and lifted inside allow_asyncio().
_LOOPS: dict[int, asyncio.AbstractEventLoop | None] = {}  # id(browser) -> its Playwright loop


def _mark_running(loop: asyncio.AbstractEventLoop | None) -> None:
    asyncio.events._set_running_loop(loop)


@contextmanager
def allow_asyncio() -> Iterator[None]:
    """asyncio.run() (a crawl, the CLI in-process) may run inside the block, in a browser test;
    make no Playwright call inside it."""
    loop = asyncio.events._get_running_loop()
    _mark_running(None)
    try:
        yield
    finally:
        _mark_running(loop)


@contextmanager
def launch_chromium() -> Iterator[Browser]:
    """Playwright and one headless Chromium, both stopped when the block ends."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    playwright = sync_playwright().start()
    loop = asyncio.events._get_running_loop()
    try:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=list(CHROMIUM_ARGS)
            )
        except PlaywrightError as error:
            pytest.fail(
                f"Chromium ({executable}) did not start: {error}\n{INSTALL_HINT}", pytrace=False
            )
        _LOOPS[id(browser)] = loop
        _mark_running(None)
        try:
            yield browser
        finally:
            del _LOOPS[id(browser)]
            _mark_running(loop)
            browser.close()
    finally:
        _mark_running(loop)
        playwright.stop()
        _mark_running(None)


@dataclass(frozen=True)
class RecordedDialog:
    type: str  # "alert", "confirm", "prompt" or "beforeunload"
    message: str


@dataclass
class Recorded:
    """What a page did: every request URL (WebSocket URLs too), console errors, uncaught
    errors ("Name: message") and dialogs (each dismissed), in order."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[RecordedDialog] = field(default_factory=list)


def _bare(url: str) -> str:
    """The URL without its query and fragment."""
    parts = urlsplit(urldefrag(url).url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _as_url(target: Path | str) -> str:
    return target.resolve().as_uri() if isinstance(target, Path) else target


@dataclass
class BrowserPage:
    """A page in its own browser context (1280x800), with everything it does recorded."""

    page: Page
    context: BrowserContext
    recorded: Recorded = field(default_factory=Recorded)
    opened: list[str] = field(default_factory=list)  # URLs given to open()

    def open(self, target: Path | str) -> Response | None:
        """Go to a file (Path) or URL (str) and wait for its load event."""
        url = _as_url(target)
        self.opened.append(url)
        return self.page.goto(url, wait_until="load")

    def assert_no_network(self, *also_allowed: Path | str) -> None:
        """Every request so far was for a page given to open() (or to `also_allowed`), or a
        data:, about: or blob: URL; any other URL (http, https, ws, another file) fails."""
        allowed = {_bare(url) for url in self.opened} | {_bare(_as_url(a)) for a in also_allowed}
        offending = [
            url
            for url in self.recorded.requests
            if not url.startswith(LOCAL_SCHEMES) and _bare(url) not in allowed
        ]
        assert not offending, "the page used the network:\n" + "\n".join(offending)

    def assert_no_errors(self) -> None:
        """No console error, no uncaught error and no dialog so far."""
        rec = self.recorded
        assert not (rec.console_errors or rec.page_errors or rec.dialogs), (
            f"console errors: {rec.console_errors}\npage errors: {rec.page_errors}\n"
            f"dialogs: {rec.dialogs}"
        )


@contextmanager
def open_browser_page(browser: Browser) -> Iterator[BrowserPage]:
    """A fresh context and page that record what they do; the context is closed at the end."""
    parked = id(browser) in _LOOPS
    if parked:
        _mark_running(_LOOPS[id(browser)])
    try:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            context.set_default_timeout(TIMEOUT_MS)
            yield _recording(context)
        finally:
            context.close()
    finally:
        if parked:
            _mark_running(None)


def _recording(context: BrowserContext) -> BrowserPage:
    recorded = Recorded()

    def on_request(request: Request) -> None:
        recorded.requests.append(request.url)

    def on_websocket(socket: WebSocket) -> None:
        recorded.requests.append(socket.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            recorded.console_errors.append(message.text)

    def on_page_error(error: PlaywrightError) -> None:
        recorded.page_errors.append(f"{error.name}: {error.message}")

    def on_dialog(dialog: Dialog) -> None:
        recorded.dialogs.append(RecordedDialog(dialog.type, dialog.message))
        dialog.dismiss()

    context.on("request", on_request)  # every page of the context, popups included
    page = context.new_page()
    page.on("websocket", on_websocket)
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("dialog", on_dialog)
    return BrowserPage(page=page, context=context, recorded=recorded)


def artifacts_dir() -> Path:
    """`GENEALOGY_ARTIFACTS`, else tests/artifacts/ (git ignores it); made if missing."""
    folder = Path(os.environ.get("GENEALOGY_ARTIFACTS") or REPO / "tests" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot_artifact(page: Page, name: str) -> Path:
    """A full-page PNG of `page` in the artifacts folder, as `name` (made file-safe) + .png."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name.removesuffix(".png")).strip("._") or "page"
    path = artifacts_dir() / f"{stem}.png"
    page.screenshot(path=path, full_page=True)
    return path
