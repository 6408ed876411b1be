"""The browser harness itself: Chromium clicks, and the recorders catch requests and dialogs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser import BrowserPage, RecordedDialog, allow_asyncio, screenshot_artifact


def write_page(folder: Path, body: str) -> Path:
    path = folder / "page.html"
    path.write_text(f"<!doctype html><meta charset=utf-8><title>t</title>{body}", "utf-8")
    return path


@pytest.fixture
def http_port() -> Iterator[tuple[int, list[str]]]:
    """A server on 127.0.0.1 that answers 404 to everything; yields its port and the paths."""
    seen: list[str] = []

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_click_changes_the_text(browser_page: BrowserPage, tmp_path: Path) -> None:
    page = write_page(
        tmp_path,
        '<button id=b>go</button><p id=out>before</p><script>document.getElementById("b")'
        '.onclick = () => { document.getElementById("out").textContent = "after"; };</script>',
    )
    browser_page.open(page)
    out = browser_page.page.locator("#out")
    assert out.text_content() == "before"
    browser_page.page.click("#b")
    assert out.text_content() == "after"
    shot = screenshot_artifact(browser_page.page, "harness click")
    assert shot.name == "harness_click.png"
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert browser_page.recorded.requests == [page.as_uri()]
    browser_page.assert_no_network()
    browser_page.assert_no_errors()


def test_the_recorder_catches_a_request_to_a_server(
    browser_page: BrowserPage, tmp_path: Path, http_port: tuple[int, list[str]]
) -> None:
    port, seen = http_port
    url = f"http://127.0.0.1:{port}/x.png"
    browser_page.open(write_page(tmp_path, f'<img src="{url}" alt=x>'))
    assert url in browser_page.recorded.requests
    assert seen == ["/x.png"]
    with pytest.raises(AssertionError, match=r"the page used the network:\n.*/x\.png"):
        browser_page.assert_no_network()


def test_the_recorder_catches_a_dialog(browser_page: BrowserPage, tmp_path: Path) -> None:
    browser_page.open(write_page(tmp_path, "<button onclick=alert(1)>go</button>"))
    browser_page.page.click("button")
    assert browser_page.recorded.dialogs == [RecordedDialog("alert", "1")]
    with pytest.raises(AssertionError, match="dialogs"):
        browser_page.assert_no_errors()


def test_asyncio_runs_beside_the_browser(browser_page: BrowserPage, tmp_path: Path) -> None:
    async def one() -> int:
        await asyncio.sleep(0)
        return 1

    with allow_asyncio():
        assert asyncio.run(one()) == 1
    browser_page.open(write_page(tmp_path, "<p>still here</p>"))
    assert browser_page.page.text_content("p") == "still here"


@pytest.mark.browser
def test_asyncio_runs_after_the_browser_tests() -> None:
    """Playwright's loop is not left marked as running between tests (see tests/browser.py)."""
    assert asyncio.run(asyncio.sleep(0, result=2)) == 2
