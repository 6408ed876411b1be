"""A wrong base URL is told apart from an unknown serial number: its own message and exit code.

Real servers over HTTP on 127.0.0.1: the local TofuPilot server addressed wrongly (a doubled
`/v2`, a made-up prefix), an HTML site answering every path with a page (200) or a 404 page,
and, for contrast, the right address with a serial number that does not exist, also on a
server without list endpoints, where the unit route must still be recognised.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genealogy.errors import ExitCode, StartNotFound, WrongBaseUrl
from genealogy.localserver import LocalTofuPilot
from genealogy.runner import CrawlOptions, run_crawl
from tests.conftest import API_KEY, MakeServer, run_cli

START = "CELL-21700-C-0142"
PAGE = b"<!DOCTYPE html><html><head><title>TofuPilot</title></head><body>Sign in</body></html>"


class Site(ThreadingHTTPServer):
    """A web site that is not the API: every path answers `status` with an HTML page, except
    the list endpoint when `list_status` is set (with a JSON error). It records each path."""

    def __init__(self, status: int, list_status: int | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Page)
        self.status = status
        self.list_status = list_status
        self.paths: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Page(BaseHTTPRequestHandler):
    server: Site

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        status, kind, body = self.server.status, "text/html; charset=utf-8", PAGE
        if self.server.list_status is not None and self.path.startswith("/v2/units?"):
            status, kind = self.server.list_status, "application/json"
            body = b'{"code": "BAD_GATEWAY", "message": "try again"}'
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(site: Site) -> Iterator[Site]:
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


@pytest.fixture(params=[200, 404], ids=["html-200", "html-404"])
def html_site(request: pytest.FixtureRequest) -> Iterator[str]:
    with serving(Site(request.param)) as site:
        yield site.url


@pytest.mark.parametrize("via", [None, "get"], ids=["default", "via-get"])
def test_an_html_site_is_a_wrong_base_url_not_an_unknown_serial(
    html_site: str, via: str | None
) -> None:
    result = run_cli(html_site, "tree", START, via=via)
    assert result.exit_code == ExitCode.WRONG_BASE_URL, result.output
    assert "HTML page" in result.stderr
    assert f"{html_site} is not the TofuPilot API" in result.stderr
    assert "--base-url" in result.stderr
    assert "check the serial number" not in result.stderr
    assert "no list endpoint" not in result.stderr  # the fallback's notice would mislead


@pytest.mark.parametrize("suffix", ["/api/v2", "/v2", "/tofupilot"])
@pytest.mark.parametrize("via", [None, "get"], ids=["default", "via-get"])
def test_a_wrong_prefix_on_the_api_server_is_a_wrong_base_url(
    server: LocalTofuPilot, suffix: str, via: str | None
) -> None:
    result = run_cli(server.url + suffix, "tree", START, via=via)
    assert result.exit_code == ExitCode.WRONG_BASE_URL, result.output
    assert "as it answers any unknown route" in result.stderr
    assert "check the serial number" not in result.stderr
    if suffix.endswith("/v2"):  # the usual slip: the documented URL already ends before /v2
        assert f"drop the trailing /v2 ({server.url}{suffix.removesuffix('/v2')})" in (
            result.stderr
        )


def test_an_unknown_serial_on_the_right_server_is_still_not_found(server: LocalTofuPilot) -> None:
    for via in (None, "get"):
        result = run_cli(server, "tree", "NO-SUCH-UNIT", via=via)
        assert result.exit_code == ExitCode.START_NOT_FOUND, result.output
        assert "NO-SUCH-UNIT" in result.stderr
        assert "not the TofuPilot API" not in result.stderr


def test_without_list_endpoints_an_unknown_serial_is_not_a_wrong_base_url(
    make_server: MakeServer, demo_units: list[dict[str, object]]
) -> None:
    legacy = make_server(demo_units, list_endpoints=False)
    result = run_cli(legacy, "tree", "NO-SUCH-UNIT", via=None)
    assert result.exit_code == ExitCode.START_NOT_FOUND, result.output
    found = run_cli(legacy, "tree", START, via=None)
    assert found.exit_code == 0, found.output
    assert "no list endpoint to use" in found.stderr  # said once, when the crawl went on


@pytest.mark.parametrize("status", [200, 404])
def test_the_probe_is_one_request_when_the_list_endpoint_answers_html(status: int) -> None:
    with serving(Site(status)) as site:
        result = run_cli(site.url, "tree", START, "--retries", "3", via="get")
    assert result.exit_code == ExitCode.WRONG_BASE_URL, result.output
    assert site.paths == [f"/v2/units/{START}", "/v2/units?limit=1"]


def test_the_probe_never_retries_and_an_unclear_answer_keeps_the_first_error() -> None:
    # the unit URL gives an HTML page (200): not a unit; the list endpoint a 502, which the
    # crawl would retry, the probe does not, and a 502 says nothing about the address
    with serving(Site(200, list_status=502)) as site:
        result = run_cli(site.url, "tree", START, "--retries", "3", via="get")
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert "not JSON (text/html)" in result.stderr
    assert site.paths == [f"/v2/units/{START}", "/v2/units?limit=1"]


def test_the_library_raises_the_same_errors(server: LocalTofuPilot) -> None:
    options = CrawlOptions(base_url=server.url + "/v2", api_key=API_KEY, via="auto")
    with pytest.raises(WrongBaseUrl, match="not the TofuPilot API"):
        run_crawl(START, options)
    right = CrawlOptions(base_url=server.url, api_key=API_KEY, via="auto")
    with pytest.raises(StartNotFound, match="NO-SUCH-UNIT"):
        run_crawl("NO-SUCH-UNIT", right)


def test_an_unreachable_server_gets_its_advice_once_in_command_line_words() -> None:
    with socket.socket() as probe:  # a port nothing listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_cli(f"http://127.0.0.1:{port}/api", "tree", START, "--retries", "0")
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert result.stderr.count("--base-url") == 1
    assert "Check --base-url (or TOFUPILOT_URL) and the network" in result.stderr
    assert "Check the base URL" not in result.stderr


@pytest.mark.parametrize("args", [("--batch", "CELL-LOT-2604"), ("CELL-21700-C-0142",)])
def test_where_used_tells_a_wrong_base_url_too(html_site: str, args: tuple[str, ...]) -> None:
    result = run_cli(html_site, "where-used", *args, via=None)
    assert result.exit_code == ExitCode.WRONG_BASE_URL, result.output
    assert f"{html_site} is not the TofuPilot API" in result.stderr
    assert "list endpoint" not in result.stderr.split("TofuPilot API")[0]


def test_where_used_on_the_right_server_finds_nothing_without_probing(
    server: LocalTofuPilot,
) -> None:
    result = run_cli(server, "where-used", "--batch", "NO-SUCH-LOT", via=None)
    assert result.exit_code == ExitCode.OK, result.output
    assert "No unit matches (--batch NO-SUCH-LOT)" in result.stdout
    assert server.endpoint_requests == {"units": 1}  # the search, and no probe
