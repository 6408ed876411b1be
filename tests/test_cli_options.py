"""Options the command line refuses or reports on: numbers that are not numbers, credentials in
the base URL, filters that match nothing, the crawl's limits, and serials starting with '-'."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result

from genealogy.cli import main
from genealogy.errors import ExitCode
from genealogy.localserver import Fault, LocalTofuPilot
from tests.conftest import API_KEY
from tests.records import unit


def run(url: str, *args: str) -> Result:
    environment = {"TOFUPILOT_URL": url, "TOFUPILOT_API_KEY": API_KEY}
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


@pytest.mark.parametrize("option", ["--timeout", "--rate", "--deadline"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_numbers_are_usage_errors(option: str, value: str) -> None:
    result = run("http://127.0.0.1:9/api", "tree", "A", option, value, "--no-cache")
    assert result.exit_code == ExitCode.USAGE, result.output
    assert option in result.stderr


@pytest.mark.parametrize(
    "url", ["https://user:secret@example.com/api", "http://key@127.0.0.1:8765/api"]
)
def test_credentials_in_the_base_url_are_refused(url: str) -> None:
    result = run(url, "tree", "A", "--no-cache")
    assert result.exit_code == ExitCode.USAGE
    assert "credentials in the base URL are refused" in result.stderr
    assert "secret" not in result.output


def test_a_filter_that_matches_nothing_says_so(make_server: Any) -> None:
    server = make_server([unit("A", children=["B"]), unit("B", parent="A")])
    result = run(server.url, "tree", "A", "--outcome", "fail", "--part", "P-1", "--no-cache")
    assert result.exit_code == ExitCode.OK
    assert "no unit matches --outcome fail --part P-1" in result.stderr
    quiet = run(server.url, "tree", "A", "--outcome", "fail", "--no-cache", "-q")
    assert quiet.stderr == ""


def test_the_unit_limit_is_named_with_the_option_that_moves_it(make_server: Any) -> None:
    children = [f"C{i}" for i in range(5)]
    records = [unit("A", children=children), *(unit(c, parent="A") for c in children)]
    server = make_server(records)
    result = run(server.url, "tree", "A", "--max-units", "3", "--no-cache")
    assert result.exit_code == ExitCode.OK
    assert "unit limit (3): 3 units were not fetched. Raise --max-units" in result.stderr


@pytest.mark.slow
def test_the_deadline_fails_what_it_cut_off(make_server: Any) -> None:
    server: LocalTofuPilot = make_server([unit("A", children=["B"]), unit("B", parent="A")])
    server.faults["B"] = Fault(status=200, delay=5.0, times=None)
    result = run(server.url, "tree", "A", "--deadline", "1s", "--no-cache", "--via", "get")
    assert result.exit_code == ExitCode.INCOMPLETE
    assert "The --deadline passed: 1 unit was not fetched." in result.stderr


def test_a_serial_starting_with_a_dash_goes_after_double_dash(make_server: Any) -> None:
    server = make_server([unit("-SN-1")])
    result = run(server.url, "tree", "--no-cache", "--", "-SN-1")
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout.startswith("-SN-1 ")
    assert "goes after '--'" in CliRunner().invoke(main, ["--help"]).output


def test_a_device_as_output_gets_the_text_tree(make_server: Any) -> None:
    server = make_server([unit("A")])
    result = run(server.url, "export", "A", "-o", "/dev/stdout", "--no-cache")
    assert result.exit_code == ExitCode.OK, result.output
