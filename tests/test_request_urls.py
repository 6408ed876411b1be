"""The request URLs made from httpx's parse of the endpoint (`_unit_target`, `_with_query`) are
the URLs httpx would make from their text: same text, same bytes on the wire."""

from __future__ import annotations

import httpx
from hypothesis import given
from hypothesis import strategies as st

from genealogy.sources.http import _unit_target, _with_query, query_string, unaddressable, unit_url
from tests.strategies import texts

BASES = st.sampled_from(
    [
        "http://127.0.0.1:8000",
        "http://127.0.0.1:8000/",
        "https://example.test/api",
        "https://example.test/api/",
        "http://[::1]:9/deep/er/path",
        "https://example.test/a%20b/",
    ]
)


def same(made: httpx.URL | str, text: str) -> None:
    assert isinstance(made, httpx.URL)  # made from the parse, not handed back as text
    parsed = httpx.URL(text)
    assert str(made) == str(parsed)
    assert made.raw_path == parsed.raw_path
    assert (made.scheme, made.host, made.port) == (parsed.scheme, parsed.host, parsed.port)


@given(BASES, texts())
def test_a_unit_url_is_what_httpx_makes_of_its_text(base: str, serial: str) -> None:
    if unaddressable(serial, base) is not None:
        return
    same(_unit_target(base, serial), unit_url(base, serial))


@given(BASES, st.lists(texts(), min_size=1, max_size=5))
def test_a_list_url_is_what_httpx_makes_of_its_text(base: str, serials: list[str]) -> None:
    try:
        query = query_string([("limit", "100"), *(("serial_numbers", s) for s in serials)])
    except UnicodeEncodeError:
        return  # a lone surrogate: refused before any URL is made
    same(_with_query(base, "/v2/units", query), f"{base.rstrip('/')}/v2/units?{query}")


def test_a_dot_segment_serial_stays_one_segment() -> None:
    for serial in (".", "..", "..."):
        made = _unit_target("http://127.0.0.1:8000/api", serial)
        assert isinstance(made, httpx.URL)
        assert made.raw_path == b"/api/v2/units/" + serial.replace(".", "%2E").encode()
