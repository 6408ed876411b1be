"""Is the base URL the TofuPilot API at all? Asked only after the start unit failed.

Without this, a wrong `--base-url` (the web app's address, an HTML server, or `.../api/v2`,
which doubles the `/v2`) reads as "unit not found: check the serial number". The question is
answered with two requests at most, each sent once (no retries), and only when the start unit
could not be crawled:

1. `GET {base}/v2/units?limit=1`, the list endpoint. A list answer means the API is there, and
   the start unit's own error stands. An HTML page or other JSON means it is not.
2. When the list endpoint is unknown too (a 404, as on a server without list endpoints), the
   start unit's URL is asked again. If it answers exactly as the unknown list route did (once
   the paths are taken out of both bodies), no route is there to look units up: the server
   answers every unknown address alike. A server that knows the route answers its own
   "unit not found" instead, and then the serial number is what is wrong.

No answer at all (network, timeouts) proves nothing here: the start unit's error already says
to check the address and the network.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

from genealogy.errors import WrongBaseUrl
from genealogy.sources.http import HttpSource, RawAnswer, endpoint_url, unit_url

UNIT_ROUTE = "/v2/units/{serial_number}"


async def misdirection(http: HttpSource, base_url: str, start: str) -> str | None:
    """Why `base_url` does not serve the TofuPilot API, or None when it does or we cannot tell."""
    list_url = endpoint_url(base_url, "/v2/units", [("limit", "1")])
    listing = await http.answer_once(list_url)
    if listing is None:
        return None
    if _is_html(listing):
        return f"GET {_path(list_url)} answered with an HTML page, not the API's JSON"
    if listing.status == 200:
        if _is_list(listing.body):
            return None
        return f"GET {_path(list_url)} answered JSON that is not a TofuPilot list of units"
    if listing.status != 404:
        return None  # 400, 5xx and the like: a server that is there, with its own problem
    start_url = unit_url(base_url, start)
    unit = await http.answer_once(start_url)
    if unit is None:
        return None
    if _is_html(unit):
        return f"GET {_path(start_url)} answered with an HTML page, not the API's JSON"
    if unit.status == 404 and _same(listing, list_url, unit, start_url, start):
        return (
            f"it answers {UNIT_ROUTE} as it answers any unknown route (the same 404 as "
            f"GET {_path(list_url)})"
        )
    return None


async def check_base_url(
    http: HttpSource, base_url: str, serial: str, error: Exception | None = None
) -> None:
    """Raise `WrongBaseUrl` (from `error`, what the first request failed with) when the base
    URL is not the TofuPilot API; `serial` is a unit the failed work asked about (any text)."""
    why = await misdirection(http, base_url, serial or "-")
    if why is not None:
        raise WrongBaseUrl(
            f"The server at {base_url} is not the TofuPilot API: {why}. Nothing was looked up "
            f"there; {advice(base_url)}."
        ) from error


def advice(base_url: str) -> str:
    """What to change in the base URL: the part before `/v2`, without it."""
    path = urlsplit(base_url).path.rstrip("/")
    if path.endswith("/v2"):
        shorter = base_url.rstrip("/").removesuffix("/v2")
        return f"drop the trailing /v2 ({shorter})"
    return "the base URL is the API's address before /v2, such as https://www.tofupilot.app/api"


def _is_html(answer: RawAnswer) -> bool:
    head = answer.body.lstrip()[:15].lower()
    return answer.content_type in ("text/html", "application/xhtml+xml") or head.startswith(
        (b"<!doctype html", b"<html")
    )


def _is_list(body: bytes) -> bool:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("data"), list)


def _same(
    first: RawAnswer, first_url: str, second: RawAnswer, second_url: str, serial: str
) -> bool:
    """Whether two answers are one and the same once each request's own path is taken out."""
    if first.content_type != second.content_type:
        return False
    return _without(first.body, first_url) == _without(second.body, second_url, serial)


def _without(body: bytes, url: str, *names: str) -> bytes:
    path = urlsplit(url).path
    for text in sorted({path, unquote(path), *names}, key=len, reverse=True):
        if text:
            body = body.replace(text.encode("utf-8", "surrogatepass"), b"")
    return body


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
