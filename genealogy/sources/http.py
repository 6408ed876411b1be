"""The TofuPilot API as a unit source: one pooled `httpx.AsyncClient`, retries, pacing, limits."""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import ssl
import time
from dataclasses import dataclass
from datetime import UTC
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import pydantic
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from genealogy import __version__
from genealogy.errors import KEY_HINT, Forbidden, KeyRejected, MissingApiKey
from genealogy.models import ApiError, Unit
from genealogy.records import UnreadableRecord, read_unit
from genealogy.redact import redact, secret_forms
from genealogy.sources import Counters, Failed, Fetched, FetchOutcome, NotFound
from genealogy.sources.ratelimit import RateLimiter
from genealogy.sources.transport import AiohttpTransport
from genealogy.text import clip, shown

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.tofupilot.app/api"
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 60.0
"""A server asking for a longer pause gets this much; the attempt budget still bounds the wait."""
MAX_BODY_BYTES = 8 * 1024 * 1024
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


def unaddressable(serial: str) -> str | None:
    """Why `serial` has no unit URL, or None: an empty one would address the list endpoint."""
    if not serial:
        return "empty serial number: no unit can be requested for it"
    try:
        serial.encode("utf-8")
    except UnicodeEncodeError:
        return "serial number is not valid Unicode text (lone surrogate), so it cannot be requested"
    return None


class _Retryable(Exception):
    """A failure worth another attempt: throttling, a server error, a timeout, a network error."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _BodyTooLarge(Exception):
    pass


@dataclass(frozen=True)
class HttpSettings:
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    retries: int = 4
    rate: float | None = None
    concurrency: int = 16
    backoff: float = 0.5
    """First backoff (s); it doubles each attempt, plus up to one `backoff` of jitter."""


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
                "header can carry (a line end copied from a secrets file?): check "
                "TOFUPILOT_API_KEY or --api-key."
            )
        self._api_key = api_key
        self.settings = settings or HttpSettings()
        self.counters = counters or Counters()
        self._limiter = RateLimiter(self.settings.rate)
        self._secrets = secret_forms(api_key)
        # requests wait for a slot here, before their timeout starts
        self._slots = asyncio.Semaphore(max(1, self.settings.concurrency))
        tls = ssl.create_default_context()
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

    async def get(self, serial: str) -> FetchOutcome:
        problem = unaddressable(serial)
        if problem is not None:
            return Failed(problem)
        outcome = await self._get(serial)  # KeyRejected and Forbidden messages are redacted
        # belt and braces: every reason passes one last redaction, whatever built it
        if isinstance(outcome, Failed):
            return Failed(self._redact(outcome.reason))
        if isinstance(outcome, NotFound):
            return NotFound(self._redact(outcome.reason))
        return outcome

    async def _get(self, serial: str) -> FetchOutcome:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            before_sleep=lambda state: self._on_retry(serial, state),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(serial)
        except _Retryable as exc:
            attempts = self.settings.retries + 1
            return Failed(f"{exc.reason} (gave up after {attempts} attempts)")
        raise AssertionError("unreachable: tenacity either returns or reraises")

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER)
        backoff = self.settings.backoff
        exponential = backoff * 2.0 ** min(state.attempt_number - 1, 30)
        return min(exponential + random.uniform(0, backoff), MAX_BACKOFF)

    def _on_retry(self, serial: str, state: RetryCallState) -> None:
        self.counters.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        reason = exc.reason if isinstance(exc, _Retryable) else "an error"
        pause = state.next_action.sleep if state.next_action else 0.0
        log.info("%s: %s; retry %d in %.1f s", shown(serial), reason, state.attempt_number, pause)

    async def _attempt(self, serial: str) -> FetchOutcome:
        url = unit_url(self.settings.base_url, serial)
        await self._slots.acquire()
        try:
            await self._limiter.wait()
            self.counters.requests += 1
            try:
                async with asyncio.timeout(self.settings.timeout):
                    async with self._client.stream("GET", url) as response:
                        body = await _read_limited(response)
            except (TimeoutError, httpx.TimeoutException) as exc:
                raise _Retryable(f"no answer within {self.settings.timeout:g} s") from exc
            except httpx.RemoteProtocolError as exc:
                if "location header" in str(exc).lower():  # httpx could not parse a redirect
                    return Failed(f"redirect to an invalid Location: {NOT_FOLLOWED}")
                raise _Retryable(self._text(f"network error: {_describe(exc)}")) from exc
            except httpx.TransportError as exc:
                raise _Retryable(self._text(f"network error: {_describe(exc)}")) from exc
            except httpx.DecodingError as exc:
                return Failed(self._text(f"could not decode the response body: {exc}"))
            except _BodyTooLarge:
                return Failed(f"response larger than {MAX_BODY_BYTES // 1024 // 1024} MiB")
        finally:
            self._slots.release()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("GET %s -> %d (%d bytes)", shown(url), response.status_code, len(body))
        return self._interpret(serial, response, body)

    def _interpret(self, serial: str, response: httpx.Response, body: bytes) -> FetchOutcome:
        status = response.status_code
        if status == 200:
            return self._parse_unit(response, body)
        detail = self._error_detail(response, body)
        if status == 401:
            raise KeyRejected(
                self._redact(
                    f"The API rejected the API key (401{detail}) while fetching {serial!r}: "
                    f"check the key, then {KEY_HINT}."
                )
            )
        if status == 403:
            raise Forbidden(
                self._redact(
                    f"The API key may not read units (403{detail}) while fetching {serial!r}: "
                    "use a user or station key with access, via TOFUPILOT_API_KEY or --api-key."
                )
            )
        if status == 404:
            return NotFound(f"not found (404{detail})")
        if status in RETRY_STATUSES:
            retry_after = _parse_retry_after(response.headers.get("Retry-After"))
            if status == 429 and retry_after is not None:
                self._limiter.pause(min(retry_after, MAX_RETRY_AFTER))
            raise _Retryable(f"HTTP {status}{detail}", retry_after)
        if 300 <= status < 400:
            target = self._text(response.headers.get("Location", "nowhere"), limit=120)
            return Failed(f"HTTP {status} redirect to {target}: {NOT_FOLLOWED}")
        return Failed(f"HTTP {status}{detail}")

    def _parse_unit(self, response: httpx.Response, body: bytes) -> FetchOutcome:
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
            kind = response.headers.get("Content-Type", "unknown type").split(";")[0]
            return Failed(f"answered 200 with a body that is not JSON ({self._text(kind, 60)})")
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

    def _error_detail(self, response: httpx.Response, body: bytes) -> str:
        """`: CODE: message` from a documented error body, or the content type of anything else."""
        try:
            error = ApiError.model_validate_json(body)
        except (pydantic.ValidationError, ValueError):
            kind = response.headers.get("Content-Type", "").split(";")[0]
            return f", {self._text(kind, 60)} body" if body.strip() and kind else ""
        return f": {self._text(f'{error.code}: {error.message}')}"

    def _redact(self, text: str) -> str:
        """A server may echo request headers back: the key never leaves through our messages."""
        return redact(text, self._secrets)

    def _text(self, text: str, limit: int = REASON_LIMIT) -> str:
        """Server-provided text fit for a reason: redacted first, then cut to `limit`."""
        return clip(self._redact(text), limit)


def _without_lone_surrogates(value: Any) -> Any:
    """JSON values with lone surrogates (`"\\ud83d"`) replaced by U+FFFD, so they stay usable.

    Python decodes such escapes into strings that cannot be encoded as UTF-8: they could be
    neither requested, nor cached, nor written out.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
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
