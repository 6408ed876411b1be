"""The TofuPilot API as a unit source: one pooled `httpx.AsyncClient`, retries, pacing, limits.

Every GET, of one unit (`get`) or of any JSON endpoint (`get_json`), goes through one machinery:
a slot among `concurrency`, the shared `RateLimiter`, a timeout per attempt, the body limit,
retries, the crawl's deadline, and redaction of the API key from every message.

Retries. A timeout, a network error (connection refused or reset), 408 and 5xx use up the retry
budget: `retries` more attempts, with exponential backoff or the server's Retry-After. A 429
(throttling) does not use it up while the server is still serving, that is while it answered
some request without throttling in the last `SERVING_WINDOW` seconds: under steady throttling a
crawl slows down and loses nothing. Such free retries are capped per request by
`throttle_retries` and `throttle_wait` (seconds of waiting); past either cap, or when the server
has served nothing lately (every request refused), a 429 is an ordinary failed attempt. A 429
with Retry-After also pauses every request of the source. No retry for what no retry can mend:
a request that cannot be built or sent (a URL over `MAX_URL_BYTES`), a host name that does not
resolve (unless the host answered before: then the resolver failed in passing), a TLS failure.

Deadline. With `deadline`, that many seconds after the source is created no request starts,
a request in flight is cut, and no retry waits past it: each of those fails with a reason that
names the deadline, and `deadline_passed` turns true.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json
import logging
import random
import re
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx
import pydantic

from genealogy import __version__
from genealogy.config import DEFAULT_BASE_URL
from genealogy.errors import KEY_HINT, AuthError, Forbidden, KeyRejected, MissingApiKey
from genealogy.models import ApiError, Unit
from genealogy.perf import build_ahead
from genealogy.records import UnreadableRecord, read_unit
from genealogy.redact import redact, secret_forms
from genealogy.sources import (
    Counters,
    Failed,
    Fetched,
    FetchOutcome,
    JsonFailed,
    JsonFetched,
    JsonOutcome,
    NotFound,
)
from genealogy.sources.ratelimit import RateLimiter
from genealogy.sources.transport import (
    AiohttpTransport,
    NameNotResolved,
    RequestNotSendable,
    TLSRejected,
    scrub_tls_setting,
)
from genealogy.text import clip, shown

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
"""A server asking for a longer pause gets this much; the attempt budget still bounds the wait."""
MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_URL_BYTES = 8000
"""Longest request URL sent, in bytes once percent-encoded. RFC 9110 (4.1) asks every server to
take 8,000 octets; many front ends stop there or a little above (nginx and aiohttp at about
8 KiB, CloudFront at 8,192 bytes, Node at 16 KiB of headers), and httpx itself refuses 65,536
characters. A longer URL fails its request before anything is sent."""
SERVING_WINDOW = 120.0
"""A 429 is free throttling while some request was served (not 429, 408 nor 5xx) this recently."""
NOT_FOLLOWED = "not followed, so the API key is only ever sent to the configured base URL"
REASON_LIMIT = 300
MAX_BACKOFF = 30.0


def unit_url(base_url: str, serial: str) -> str:
    """The unit's URL, with the serial number percent-encoded as exactly one path segment.

    `serial` must be non-empty and encodable as UTF-8 (see `unaddressable`).
    """
    segment = quote(serial, safe="")
    if segment.strip(".") == "":  # "." and ".." would be removed as dot-segments
        segment = segment.replace(".", "%2E")
    return f"{base_url.rstrip('/')}/v2/units/{segment}"


def unaddressable(serial: str, base_url: str | None = None) -> str | None:
    """Why `serial` has no unit URL, or None: an empty one would address the list endpoint.

    With `base_url`, a serial whose unit URL would be longer than `MAX_URL_BYTES` is refused too.
    """
    if not serial:
        return "empty serial number: no unit can be requested for it"
    try:
        serial.encode("utf-8")
    except UnicodeEncodeError:
        return "serial number is not valid Unicode text (lone surrogate), so it cannot be requested"
    if base_url is not None:
        size = _url_bytes(unit_url(base_url, serial))
        if size > MAX_URL_BYTES:
            return _too_long(serial, size)
    return None


def _url_bytes(url: str) -> int:
    return len(url.encode("utf-8", "surrogatepass"))


def _too_long(serial: str, size: int, limit: int = MAX_URL_BYTES) -> str:
    return (
        f"serial number of {len(serial):,} characters is too long to request: its URL would "
        f"be {size:,} bytes, over the {limit:,}-byte limit servers are expected to take"
    )


def query_string(params: Iterable[tuple[str, str]]) -> str:
    """`key=value&key=value`, in order, repeated keys repeated (form style, exploded).

    Keys and values are percent-encoded leaving only letters, digits and `-._~` as they are:
    `&`, `=`, `#`, `/`, `%` and `+` are encoded and a space is `%20`, never `+`, so each value
    arrives whole and as itself whatever query decoder the server uses. Raises
    `UnicodeEncodeError` for text that is not valid Unicode (a lone surrogate).
    """
    return "&".join(f"{_quoted(key)}={_quoted(value)}" for key, value in params)


@functools.lru_cache(maxsize=65536)
def _quoted(text: str) -> str:
    """Remembered: a chunk of 100 serials is quoted to size it, then for each page again."""
    return quote(text, safe="")


_READ = httpx.ByteStream(b"")
"""What a response's stream is once its body is read (see `HttpSource._exchange`)."""


@functools.lru_cache(maxsize=64)
def _endpoint(url: str) -> httpx.URL:
    return httpx.URL(url)


def _with_query(base_url: str, path: str, query: str) -> httpx.URL | str:
    """The endpoint's URL with `query`, made without httpx parsing the query again: it checks
    every character of a URL (0.45 ms for 100 serials, a third of a 7,000-unit crawl's CPU),
    and `query_string` only makes characters a query may hold."""
    url = base_url.rstrip("/") + path
    return _parsed_with(url, f"{url}?{query}", lambda reference: reference._replace(query=query))


def _unit_target(base_url: str, serial: str) -> httpx.URL | str:
    """`unit_url`, made without httpx parsing the whole URL again for each unit (about 25 µs,
    against 2 µs here): the serial's segment is percent-encoded whole by `unit_url`, which
    leaves nothing for httpx to quote or normalize."""
    url = unit_url(base_url, serial)
    units, _, segment = url.rpartition("/")
    return _parsed_with(
        units, url, lambda reference: reference._replace(path=f"{reference.path}/{segment}")
    )


def _parsed_with(endpoint: str, text: str, change: Callable[[Any], Any]) -> httpx.URL | str:
    """The URL `text`: `endpoint` as httpx parsed it (once, remembered), with `change` made to
    its parsed parts. If httpx's URL stops having the internals this relies on, or the
    endpoint is no URL, `text` is given: httpx parses it, and says what is wrong with it."""
    try:
        made = httpx.URL.__new__(httpx.URL)
        made._uri_reference = change(_endpoint(endpoint)._uri_reference)
    except (AttributeError, TypeError, ValueError, httpx.InvalidURL):
        return text
    return made


def endpoint_url(base_url: str, path: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """`base_url` + `path` (already percent-encoded, from `/`) + the query of `params`."""
    if not path.startswith("/") or "?" in path or "#" in path:
        raise ValueError(f"path must start with / and hold no query or fragment: {path!r}")
    url = base_url.rstrip("/") + path
    query = query_string(params)
    return f"{url}?{query}" if query else url


@dataclass(frozen=True)
class SerialChunks:
    """Serial numbers grouped for list requests by `chunk_serials`."""

    chunks: list[list[str]]
    """Groups in the order given, each small enough for one request."""
    unrequestable: dict[str, str]
    """Serial numbers no request can carry (empty, not Unicode text, too long for any URL),
    each with the reason to fail it with."""


def chunk_serials(
    base_url: str,
    path: str,
    serials: Iterable[str],
    *,
    key: str = "serial_numbers",
    params: Sequence[tuple[str, str]] = (),
    max_items: int = 100,
    max_url_bytes: int = MAX_URL_BYTES,
    reserve: int = 32,
) -> SerialChunks:
    """Split `serials` into groups of at most `max_items` whose URL stays within `max_url_bytes`.

    The URL is `endpoint_url(base_url, path, [*params, (key, s1), (key, s2), ...])`, encoded as
    `get_json` sends it; `reserve` bytes are kept free for parameters added per page (such as
    `&cursor=12345`). An empty serial is never sent (`serial_numbers=` might filter nothing).
    """
    base = _url_bytes(endpoint_url(base_url, path, params)) + reserve
    separator = 1  # "?" or "&"
    chunks: list[list[str]] = []
    unrequestable: dict[str, str] = {}
    current: list[str] = []
    size = base
    key_bytes = len(_quoted(key)) + 1  # "key="
    for serial in serials:
        problem = unaddressable(serial)
        if problem is not None:
            unrequestable[serial] = problem
            continue
        piece = separator + key_bytes + len(_quoted(serial))  # as query_string makes it
        if base + piece > max_url_bytes:
            unrequestable[serial] = _too_long(serial, base - reserve + piece, max_url_bytes)
            continue
        if current and (len(current) >= max_items or size + piece > max_url_bytes):
            chunks.append(current)
            current, size = [], base
        current.append(serial)
        size += piece
    if current:
        chunks.append(current)
    return SerialChunks(chunks, unrequestable)


class _Retryable(Exception):
    """A failure worth another attempt: throttling, a server error, a timeout, a network error."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status
        self.code = code

    @property
    def throttled(self) -> bool:
        return self.status == 429


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RawAnswer:
    """An answer as it came: see `HttpSource.answer_once`."""

    status: int
    content_type: str  # lower case, without parameters; "" when absent
    body: bytes


@dataclass(frozen=True, slots=True)
class _Answer:
    """A final answer: not retried, not an authentication error, not a redirect."""

    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class _Subject:
    """What a request is for, as messages name it: a unit's serial number, or a path."""

    name: str
    unit: bool = False

    @property
    def label(self) -> str:
        """In the log."""
        return shown(self.name)

    @property
    def doing(self) -> str:
        return f"fetching {self.name!r}" if self.unit else f"requesting {self.name}"

    @property
    def reading(self) -> str:
        """What a 403 says the key may not read."""
        return "units" if self.unit else self.name


@dataclass(frozen=True)
class HttpSettings:
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    retries: int = 4
    rate: float | None = None
    concurrency: int = 16
    backoff: float = 0.5
    """First backoff (s); it doubles each attempt, plus up to one `backoff` of jitter."""
    deadline: float | None = None
    """Seconds from the source's creation after which no request starts; None: no deadline."""
    throttle_retries: int = 100
    """Most retries after a 429 that leave the retry budget alone, per request."""
    throttle_wait: float = 600.0
    """Once one request has waited this many seconds in such retries, a 429 uses up the budget."""


class HttpSource:
    """Fetches units from the API. Use as an async context manager around a crawl."""

    def __init__(
        self,
        api_key: str | None,
        settings: HttpSettings | None = None,
        counters: Counters | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise MissingApiKey(f"No TofuPilot API key: {KEY_HINT}.")
        if not all("!" <= char <= "~" for char in api_key):
            raise MissingApiKey(
                "The API key holds spaces, control or non-ASCII characters, which no HTTP "
                "header can carry (a line end copied from a secrets file?): check the key "
                "in TOFUPILOT_API_KEY or the one given."
            )
        self._api_key = api_key
        self.settings = settings or HttpSettings()
        self.counters = counters or Counters()
        self._limiter = RateLimiter(self.settings.rate)
        self._secrets = secret_forms(api_key)
        deadline = self.settings.deadline
        self._deadline_at = None if deadline is None else time.monotonic() + deadline
        self._deadline_told = False
        self._last_served: float | None = None  # when an answer other than 429/408/5xx came
        self._answered = False  # whether the host answered at all: its name resolved then
        # requests wait for a slot here, before their timeout starts
        self._slots = asyncio.Semaphore(max(1, self.settings.concurrency))
        # an http:// base URL never needs TLS (redirects are not followed): building the
        # context (loading the CA store, ~35 ms) waits for an https:// one
        plain = self.settings.base_url.lower().startswith("http://")
        tls: ssl.SSLContext | bool = True if plain else ssl.create_default_context()
        self._client = _CookielessClient(
            verify=tls,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"genealogy/{__version__}",
            },
            timeout=httpx.Timeout(self.settings.timeout),
            follow_redirects=False,
            # aiohttp on the wire: httpx's own transport costs several times the CPU
            transport=transport or AiohttpTransport(max(1, self.settings.concurrency), tls),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:  # never show the key, even in a debugger or traceback
        return f"HttpSource(base_url={self.settings.base_url!r})"

    @property
    def deadline_passed(self) -> bool:
        """Whether the deadline (if any) has passed: from then on every request fails at once."""
        return self._deadline_at is not None and time.monotonic() >= self._deadline_at

    async def get(self, serial: str) -> FetchOutcome:
        problem = unaddressable(serial, self.settings.base_url)
        if problem is not None:
            return Failed(problem)
        build_ahead(Unit)
        target = _unit_target(self.settings.base_url, serial)
        answer = await self._fetch(target, _Subject(serial, True))
        # KeyRejected and Forbidden messages are redacted where they are raised
        outcome = self._unit_outcome(answer)
        # belt and braces: every reason passes one last redaction, whatever built it
        if isinstance(outcome, Failed):
            return Failed(self._redact(outcome.reason))
        if isinstance(outcome, NotFound):
            return NotFound(self._redact(outcome.reason))
        return outcome

    async def get_json(
        self,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        fast: type[pydantic.BaseModel] | None = None,
    ) -> JsonOutcome:
        """GET `path` (percent-encoded, from `/`, below the base URL) with the query `params`
        (repeated keys stay repeated; see `query_string`), and decode the JSON answer.

        Retries, pacing, limits, the deadline and redaction are those of `get`; 401 and 403
        raise `KeyRejected` and `Forbidden` as there. Any other answer than 200 with JSON is
        `JsonFailed`, with the status (if an answer came) and the error body's `code`.

        With `fast`, a body that model validates whole is returned as that model, parsed and
        checked in one pass (pydantic's JSON reader: about half the time of decoding, then
        validating item by item); any other body is decoded as usual, to be read leniently.
        """
        try:
            url = endpoint_url(self.settings.base_url, path, params)
        except UnicodeEncodeError:
            return JsonFailed(
                "a query value is not valid Unicode text (lone surrogate), so it cannot be sent"
            )
        if _url_bytes(url) > MAX_URL_BYTES:
            return JsonFailed(
                f"request URL of {_url_bytes(url):,} bytes is too long to send (the limit is "
                f"{MAX_URL_BYTES:,}): ask for fewer items at once"
            )
        query = url.partition("?")[2]
        target = _with_query(self.settings.base_url, path, query) if query else url
        answer = await self._fetch(target, _Subject(path))
        if isinstance(answer, JsonFailed):
            return JsonFailed(self._redact(answer.reason), answer.status, answer.code)
        if answer.status != 200:
            detail, code = self._error_info(answer.headers, answer.body)
            return JsonFailed(self._redact(f"HTTP {answer.status}{detail}"), answer.status, code)
        if not answer.body.strip():
            return JsonFailed("answered 200 with an empty body", 200)
        if fast is not None and b"\\u" not in answer.body:  # escapes may hide lone surrogates
            try:
                return JsonFetched(fast.model_validate_json(answer.body))
            except pydantic.ValidationError:
                pass  # below: decoded, then read leniently item by item
        try:
            data = json.loads(answer.body)
            if b"\\u" in answer.body:  # only escapes can smuggle in lone surrogates
                data = _without_lone_surrogates(data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return JsonFailed(self._not_json(answer.headers), 200)
        return JsonFetched(data)

    async def answer_once(self, url: str) -> RawAnswer | None:
        """One GET of `url`, not retried: its status, content type and body, or None when no
        final answer came (network, timeout, redirect, an error worth a retry). For probing
        what a server is, after it has answered before."""
        try:
            request = self._client.build_request("GET", url)
            answer = await self._attempt(request, _Subject(urlsplit(url).path))
        except (_Retryable, AuthError, httpx.InvalidURL, ValueError, TypeError):
            return None  # a 401 or 403 was reported where it first came
        if isinstance(answer, JsonFailed):
            return None
        kind = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return RawAnswer(answer.status, kind, answer.body)

    def _unit_outcome(self, answer: _Answer | JsonFailed) -> FetchOutcome:
        if isinstance(answer, JsonFailed):
            return Failed(answer.reason)
        if answer.status == 200:
            return self._parse_unit(answer.headers, answer.body)
        detail, _ = self._error_info(answer.headers, answer.body)
        if answer.status == 404:
            return NotFound(f"not found (404{detail})")
        return Failed(f"HTTP {answer.status}{detail}")

    async def _fetch(self, url: str | httpx.URL, subject: _Subject) -> _Answer | JsonFailed:
        """GET `url` until an answer that is not retried, or a failure; see the module."""
        try:
            request = self._client.build_request("GET", url)
        except (httpx.InvalidURL, ValueError, TypeError) as exc:  # UnicodeError is a ValueError
            return JsonFailed(self._text(f"the request cannot be built: {_describe(exc)}"))
        settings = self.settings
        failures = throttled = 0  # attempts that used the budget; free throttled ones
        throttle_waited = 0.0
        while True:
            try:
                return await self._attempt(request, subject)
            except _Retryable as exc:
                problem = exc
            free = (
                problem.throttled
                and self._serving()
                and throttled < settings.throttle_retries
                and throttle_waited < settings.throttle_wait
            )
            if free:
                throttled += 1
            else:
                failures += 1
            if failures > settings.retries:
                made = f"{failures} attempts"
                if throttled:
                    made += f" and {throttled} throttled retries"
                return JsonFailed(
                    f"{problem.reason} (gave up after {made})", problem.status, problem.code
                )
            pause = self._pause(problem, failures + throttled)
            if self._deadline_at is not None and time.monotonic() + pause >= self._deadline_at:
                return JsonFailed(
                    f"{problem.reason}; not retried: {self._deadline()} passes before "
                    "the next retry is due",
                    problem.status,
                    problem.code,
                )
            self.counters.retries += 1
            if free:
                throttle_waited += pause
            log.info(
                "%s: %s; retry %d in %.1f s",
                subject.label,
                problem.reason,
                failures + throttled,
                pause,
            )
            await asyncio.sleep(pause)

    def _serving(self) -> bool:
        """Whether the server answered some request without throttling or failing lately."""
        served = self._last_served
        return served is not None and time.monotonic() - served <= SERVING_WINDOW

    def _pause(self, problem: _Retryable, attempts: int) -> float:
        if problem.retry_after is not None:
            return min(problem.retry_after, MAX_RETRY_AFTER)
        backoff = self.settings.backoff
        exponential = backoff * 2.0 ** min(attempts - 1, 30)
        return min(exponential + random.uniform(0, backoff), MAX_BACKOFF)

    def _deadline(self) -> str:
        return f"the deadline of {self.settings.deadline:g} s"

    def _deadline_failure(self, reason: str) -> JsonFailed:
        if not self._deadline_told:
            self._deadline_told = True
            log.info("%s has passed: no further requests", self._deadline())
        return JsonFailed(reason)

    async def _attempt(self, request: httpx.Request, subject: _Subject) -> _Answer | JsonFailed:
        """One request, within the deadline; raises `_Retryable` for a failure worth a retry."""
        remaining = None if self._deadline_at is None else self._deadline_at - time.monotonic()
        if remaining is not None and remaining <= 0:
            return self._deadline_failure(f"not requested: {self._deadline()} had passed")
        sent = False
        guard = asyncio.timeout(remaining)
        try:
            async with guard:
                await self._slots.acquire()
                try:
                    await self._limiter.wait()
                    sent = True
                    self.counters.requests += 1
                    exchanged = await self._exchange(request)
                finally:
                    self._slots.release()
        except TimeoutError:
            if not guard.expired():
                raise
            if sent:
                return self._deadline_failure(
                    f"cut off: {self._deadline()} passed while waiting for the answer"
                )
            return self._deadline_failure(
                f"not requested: {self._deadline()} passed while it waited for its turn"
            )
        if isinstance(exchanged, JsonFailed):
            return exchanged
        response, body = exchanged
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "GET %s -> %d (%d bytes)", shown(request.url), response.status_code, len(body)
            )
        return self._interpret(subject, response, body)

    async def _exchange(self, request: httpx.Request) -> tuple[httpx.Response, bytes] | JsonFailed:
        """Send `request` and read its body within the timeout and the body limit."""
        try:
            async with asyncio.timeout(self.settings.timeout):
                response = await self._client.send(request, stream=True)
                try:
                    body = await _read_limited(response)
                finally:
                    await response.aclose()
                    # httpx's bound stream refers back to its response: a reference cycle per
                    # request, which only the garbage collector frees. Paused during a crawl
                    # (`perf.paused_gc`), it piled up 42 objects a request, then took 60 ms
                    # per 1,000 requests to collect; unbound, each is freed when done with.
                    response.stream = _READ
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise _Retryable(f"no answer within {self.settings.timeout:g} s") from exc
        except NameNotResolved as exc:
            if self._answered:  # it resolved before: a resolver failing in passing
                raise _Retryable(self._network_reason(exc)) from exc
            return JsonFailed(self._text(str(exc)))
        except TLSRejected as exc:
            return JsonFailed(self._text(str(exc)))
        except (RequestNotSendable, httpx.UnsupportedProtocol) as exc:
            return JsonFailed(self._text(f"the request cannot be sent: {exc}"))
        except httpx.RemoteProtocolError as exc:
            if "location header" in str(exc).lower():  # httpx could not parse a redirect
                return JsonFailed(f"redirect to an invalid Location: {NOT_FOLLOWED}")
            raise _Retryable(self._network_reason(exc)) from exc
        except httpx.TransportError as exc:
            raise _Retryable(self._network_reason(exc)) from exc
        except httpx.DecodingError as exc:
            return JsonFailed(self._text(f"could not decode the response body: {exc}"))
        except _BodyTooLarge:
            return JsonFailed(f"response larger than {MAX_BODY_BYTES // 1024 // 1024} MiB")
        return response, body

    def _network_reason(self, exc: httpx.TransportError) -> str:
        """`network error: ...`, without aiohttp's `ssl:default` noise."""
        text = str(exc) if isinstance(exc, httpx.ConnectError) else _describe(exc)
        return self._text(f"network error: {scrub_tls_setting(text)}")

    def _interpret(
        self, subject: _Subject, response: httpx.Response, body: bytes
    ) -> _Answer | JsonFailed:
        """Raises for 401 and 403, `_Retryable` for statuses worth a retry; fails a redirect."""
        status = response.status_code
        self._answered = True
        if status < 500 and status not in (408, 429):
            self._last_served = time.monotonic()
        if status in (200, 404):
            return _Answer(status, response.headers, body)
        detail, code = self._error_info(response.headers, body)
        if status == 401:
            raise KeyRejected(
                self._redact(
                    f"The API rejected the API key (401{detail}) while {subject.doing}: "
                    f"check the key, then {KEY_HINT}."
                )
            )
        if status == 403:
            raise Forbidden(
                self._redact(
                    f"The API key may not read {subject.reading} (403{detail}) while "
                    f"{subject.doing}: use a user or station key that may read units (the key "
                    "comes from TOFUPILOT_API_KEY unless one is given)."
                )
            )
        if status in RETRY_STATUSES:
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if status == 429 and retry_after is not None:
                self._limiter.pause(min(retry_after, MAX_RETRY_AFTER))
            raise _Retryable(f"HTTP {status}{detail}", retry_after, status, code)
        if 300 <= status < 400:
            target = self._text(response.headers.get("Location", "nowhere"), limit=120)
            return JsonFailed(f"HTTP {status} redirect to {target}: {NOT_FOLLOWED}", status)
        return _Answer(status, response.headers, body)

    def _parse_unit(self, headers: httpx.Headers, body: bytes) -> FetchOutcome:
        if b"\\u" not in body:  # the common case: pydantic parses and validates in one go
            try:
                return Fetched(Unit.model_validate_json(body))
            except pydantic.ValidationError:
                pass  # below, the slow path repairs descriptive fields or says what is wrong
        if not body.strip():
            return Failed("answered 200 with an empty body")
        try:
            data = json.loads(body)
            if b"\\u" in body:  # only escapes can smuggle in lone surrogates
                data = _without_lone_surrogates(data)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return Failed(self._not_json(headers))
        try:
            read = read_unit(data)
        except UnreadableRecord as exc:
            try:
                error = ApiError.model_validate(data)
            except pydantic.ValidationError:
                return Failed(self._text(f"answered 200 but not a unit: {exc}"))
            return Failed(
                self._text(f"answered 200 with an error body: {error.code}: {error.message}")
            )
        return Fetched(read.unit, warnings=tuple(self._redact(w) for w in read.warnings))

    def _not_json(self, headers: httpx.Headers) -> str:
        kind = headers.get("Content-Type", "unknown type").split(";")[0]
        return f"answered 200 with a body that is not JSON ({self._text(kind, 60)})"

    def _error_info(self, headers: httpx.Headers, body: bytes) -> tuple[str, str | None]:
        """`: CODE: message` from a documented error body, or the content type of anything
        else; and the error's code, if any."""
        try:
            error = ApiError.model_validate_json(body)
        except (pydantic.ValidationError, ValueError):
            kind = headers.get("Content-Type", "").split(";")[0]
            return (f", {self._text(kind, 60)} body" if body.strip() and kind else ""), None
        return f": {self._text(f'{error.code}: {error.message}')}", self._text(error.code, 60)

    def _redact(self, text: str) -> str:
        """A server may echo request headers back: the key never leaves through our messages."""
        return redact(text, self._secrets)

    def _text(self, text: str, limit: int = REASON_LIMIT) -> str:
        """Server-provided text fit for a reason: redacted first, then cut to `limit`."""
        return clip(self._redact(text), limit)


_SURROGATE = re.compile("[\ud800-\udfff]")
"""A surrogate code point: in a string JSON decoded, always a lone one (pairs are joined)."""


def _without_lone_surrogates(value: Any) -> Any:
    """JSON values with lone surrogates (`"\\ud83d"`) replaced by U+FFFD, so they stay usable.

    Python decodes such escapes into strings that cannot be encoded as UTF-8: they could be
    neither requested, nor cached, nor written out.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)  # one U+FFFD each, as Unicode advises
        return value
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


async def _read_limited(response: httpx.Response) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignored: the API authenticates with the Bearer key alone."""


class _CookielessClient(httpx.AsyncClient):
    """A client that neither keeps nor sends cookies: parsing them took a third of a
    millisecond per response (measured), and the API needs none."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NoCookies()

    @cookies.setter
    def cookies(self, value: object) -> None:
        """Ignored: see the class docstring."""


def _describe(exc: Exception) -> str:
    """The exception's class and message; never its repr, which may escape (and so hide from
    redaction) what it quotes."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" or no zone: HTTP dates are always in GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - time.time())
