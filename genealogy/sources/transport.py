"""An httpx transport that sends requests with aiohttp.

httpx's own transport (httpcore on anyio) spends about 1.5 ms of CPU on each request, which
made a crawl at 20 ms latency CPU-bound (benchmarks/crawl_benchmark.py). aiohttp does the same
work in a fraction of that, so `HttpSource` keeps the httpx client API (request building,
redirect handling, exceptions) and hands only the wire to aiohttp.

URLs go out byte for byte as httpx built them (`encoded=True`): aiohttp would otherwise decode
`%2E%2E` back to `..` and drop it as a dot-segment, so a serial number could reach another
endpoint. Cookies are neither stored nor sent; the API authenticates with its Bearer key.

Content-Encoding is decoded here, not by httpx: httpx decodes each layer of a stacked encoding
whole before anyone counts a byte, so 443 bytes of `gzip, gzip, gzip` grew to gigabytes. Here
one layer at most (`gzip`, `x-gzip` or `deflate`, zlib-wrapped or raw), decoded in steps of at
most `CHUNK_BYTES` and counted as they come: past the body limit (`MAX_BODY_BYTES` of
`genealogy.sources.http`) decoding stops. A stacked encoding, or one the request did not offer,
is refused. Accept-Encoding offers only what this decodes (never `br` or `zstd`, which httpx
adds when their packages are installed: their decoders cannot bound one step's output). Every
refusal is an `httpx.DecodingError`, which the source reports for that unit alone. httpx gets
the decoded body without the Content-Encoding header, so it does not decode again.

aiohttp's errors become httpx's, with messages written here: aiohttp's own messages name the
connector's TLS setting (`ssl:default`, `ssl:<ssl.SSLContext ...>`) even for an http:// URL.
Failures no retry can mend are told apart by class, so the source fails them at once:
`NameNotResolved` (DNS), `TLSRejected` (certificate not trusted, handshake failed) and
`RequestNotSendable` (a URL aiohttp or yarl refuses before anything is sent).
"""

from __future__ import annotations

import errno
import os
import re
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import yarl

from genealogy.sources.quick_aiohttp import aiohttp
from genealogy.text import clip

CHUNK_BYTES = 64 * 1024
"""Most bytes read from the wire, or produced by one decoding step, at a time."""
DECODED = {"gzip": "gzip", "x-gzip": "gzip", "deflate": "deflate"}
"""Content codings this transport decodes, by name, to the decoder's name."""


class NameNotResolved(httpx.ConnectError):
    """The host name did not resolve (DNS)."""


class TLSRejected(httpx.ConnectError):
    """The TLS handshake failed, or the server's certificate is not trusted."""


class RequestNotSendable(httpx.TransportError):
    """aiohttp or yarl refused the request before sending it (an invalid URL)."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        connections: int,
        tls: ssl.SSLContext | bool,
        max_body_bytes: int | None = None,
    ) -> None:
        self._connections = connections
        self._tls = tls
        self._limit = _default_limit() if max_body_bytes is None else max_body_bytes
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        """Created on first use: aiohttp binds a session to the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._tls),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # `_Body` decodes, within the body limit
                timeout=aiohttp.ClientTimeout(total=None),  # the source times each attempt
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            url = yarl.URL(str(request.url), encoded=True)
        except (ValueError, TypeError) as exc:
            raise RequestNotSendable(f"invalid URL: {_scrubbed(exc)}", request=request) from exc
        offered = _offered(request.headers.get_list("Accept-Encoding", split_commas=True))
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() not in (b"host", b"accept-encoding")
        ]
        if offered:
            headers.append(("Accept-Encoding", ", ".join(offered)))
        try:
            response = await self._open_session().request(
                request.method,
                url,
                headers=headers,
                allow_redirects=False,
                data=None,
            )
        except aiohttp.ClientConnectorError as exc:
            raise _connect_error(exc, request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(
                _scrubbed(exc) or "server disconnected", request=request
            ) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise RequestNotSendable(
                f"URL refused: {_scrubbed(exc) or type(exc).__name__}", request=request
            ) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(_described(exc), request=request) from exc
        except ssl.SSLError as exc:  # raised bare by some TLS failures after the handshake
            raise TLSRejected(
                f"TLS error with {request.url.host}: {_ssl_text(exc)}", request=request
            ) from exc
        except (ValueError, TypeError) as exc:  # yarl parses parts lazily: a port of 99999
            raise RequestNotSendable(f"invalid URL: {_scrubbed(exc)}", request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=[
                (name, value)
                for name, value in response.raw_headers
                if name.lower() != b"content-encoding"  # decoded here: httpx must not again
            ],
            stream=_Body(response, request, self._decoder(response, offered)),
            request=request,
        )

    def _decoder(self, response: aiohttp.ClientResponse, offered: list[str]) -> _Decoder:
        """How to decode this response's body, or why it cannot be."""
        try:
            coding = _coding(response.headers.getall("Content-Encoding", ()), offered)
        except _Undecodable as refusal:
            return refusal
        return _Inflater(coding, self._limit) if coding else None

    async def aclose(self) -> None:
        """Idempotent: every client of a source shares this transport and closes it."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class _Body(httpx.AsyncByteStream):
    """The body as it arrives, decoded by `decoder` if it has a content coding."""

    def __init__(
        self, response: aiohttp.ClientResponse, request: httpx.Request, decoder: _Decoder
    ) -> None:
        self._response = response
        self._request = request
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder = self._decoder
        try:
            if isinstance(decoder, _Undecodable):
                raise decoder
            async for chunk in self._response.content.iter_chunked(CHUNK_BYTES):
                for piece in (chunk,) if decoder is None else decoder.feed(chunk):
                    yield piece
            if decoder is not None:
                decoder.end()
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(_described(exc), request=self._request) from exc
        except (_Undecodable, zlib.error) as exc:
            raise httpx.DecodingError(str(exc), request=self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


class _Undecodable(Exception):
    """Why a body cannot be decoded; the body stream raises it as `httpx.DecodingError`."""


class _Inflater:
    """One gzip or deflate layer, decoded in steps and counted against `limit`.

    No step makes more than `CHUNK_BYTES`, so a bomb costs at most about `limit` bytes of
    output (which the source keeps) before it is refused, whatever its ratio. The compressed
    input is counted too: nothing is read without bound, even data that decodes to nothing.
    """

    def __init__(self, coding: str, limit: int) -> None:
        self._coding = coding
        self._limit = limit
        self._decoded = 0
        self._fed = 0
        self._head = b""  # deflate: held until two bytes tell zlib-wrapped from raw
        self._zlib = _gzip() if coding == "gzip" else None

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._fed += len(data)
        if self._fed > self._limit:
            raise _Undecodable(f"compressed response body larger than {_size(self._limit)}")
        if self._zlib is None:
            data, self._head = self._head + data, b""
            if len(data) < 2:
                self._head = data
                return
            self._zlib = zlib.decompressobj(
                zlib.MAX_WBITS if _zlib_wrapped(data) else -zlib.MAX_WBITS
            )
        yield from self._inflate(self._zlib, data)

    def _inflate(self, inflater: zlib._Decompress, data: bytes) -> Iterator[bytes]:
        """Step by step; a full step may leave output inside zlib, so step until one is not."""
        while True:
            if inflater.eof:
                if not data:
                    return
                if self._coding != "gzip":
                    raise _Undecodable(f"data after the end of the {self._coding} stream")
                inflater = self._zlib = _gzip()  # the next member of a multi-member gzip
            piece = inflater.decompress(data, CHUNK_BYTES)
            data = inflater.unconsumed_tail or inflater.unused_data
            self._decoded += len(piece)
            if self._decoded > self._limit:
                raise _Undecodable(f"response body decodes to more than {_size(self._limit)}")
            if piece:
                yield piece
            if not data and len(piece) < CHUNK_BYTES:
                return

    def end(self) -> None:
        """At the end of the body: a stream cut short is an error, an empty body is not."""
        if self._fed and (self._zlib is None or not self._zlib.eof):
            raise _Undecodable(f"the {self._coding} stream ends early (truncated body)")


_Decoder = _Inflater | _Undecodable | None
"""How a body is decoded: a layer to inflate, a refusal to raise, or nothing to do."""


def _default_limit() -> int:
    """The source's body limit, imported here: `genealogy.sources.http` imports this module."""
    from genealogy.sources.http import MAX_BODY_BYTES

    return MAX_BODY_BYTES


def _offered(accepted: Iterable[str]) -> list[str]:
    """The codings of a request's Accept-Encoding that this transport decodes, in its order;
    `*` stands for every one not named with `q=0`."""
    items = [
        (name.strip().lower(), _refused(params))
        for name, _, params in (item.partition(";") for item in accepted)
    ]
    refused = {name for name, no in items if no}
    offered: list[str] = []
    for name, no in items:
        for coding in ("gzip", "deflate") if name == "*" else (name,):
            if coding in DECODED and not no and coding not in refused | set(offered):
                offered.append(coding)
    return offered


def _refused(params: str) -> bool:
    """Whether Accept-Encoding parameters give a weight of 0 (`gzip;q=0`: not acceptable)."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value) == 0
            except ValueError:
                return False
    return False


def _coding(values: Iterable[str], offered: list[str]) -> str:
    """The decoder for a response's Content-Encoding ("" for none), or `_Undecodable`."""
    names = [name.strip().lower() for value in values for name in value.split(",")]
    names = [name for name in names if name not in ("", "identity")]
    if len(names) > 1:
        listed = clip(", ".join(names), 80)
        raise _Undecodable(f"stacked content encodings ({listed}) are refused")
    if not names:
        return ""
    accepted = {DECODED[coding] for coding in offered}
    if DECODED.get(names[0]) not in accepted:
        raise _Undecodable(f"content encoding {clip(names[0], 40)!r} was not asked for")
    return DECODED[names[0]]


def _zlib_wrapped(head: bytes) -> bool:
    """Whether a deflate body starts with a zlib header (RFC 1950) rather than raw deflate."""
    return head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit} bytes"


def _gzip() -> zlib._Decompress:
    return zlib.decompressobj(16 + zlib.MAX_WBITS)


_SSL_SETTING = re.compile(r"\s*\[?\bssl:(?:default|True|False|None|<[^>]*>|\S+)\]?")
"""aiohttp's `ssl:default` / `ssl:<ssl.SSLContext object at 0x...>` / `[ssl:...]`: noise, and
wrong for an http:// URL."""


def scrub_tls_setting(text: str) -> str:
    """`text` without aiohttp's TLS-setting fragment (`ssl:default` and the like)."""
    return _SSL_SETTING.sub("", text).strip()


def _scrubbed(exc: BaseException) -> str:
    """An exception's message without aiohttp's TLS-setting fragment."""
    return scrub_tls_setting(str(exc))


def _described(exc: BaseException) -> str:
    text = _scrubbed(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _connect_error(exc: aiohttp.ClientConnectorError, request: httpx.Request) -> httpx.ConnectError:
    """The httpx error for a failed connection, by cause, with a message naming host and port."""
    cause = exc.os_error
    if isinstance(exc, aiohttp.ClientConnectorDNSError) or isinstance(cause, socket.gaierror):
        why = (cause.strerror or _scrubbed(cause)) if cause is not None else ""
        tail = f" ({why})" if why else ""
        return NameNotResolved(f"cannot resolve host {exc.host!r}{tail}", request=request)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        problem = exc.certificate_error
        detail = (
            problem.verify_message or _ssl_text(problem)
            if isinstance(problem, ssl.SSLCertVerificationError)
            else _ssl_text(problem)
        )
        return TLSRejected(
            f"TLS certificate of {exc.host!r} not trusted: {detail}", request=request
        )
    if isinstance(exc, aiohttp.ClientSSLError) or isinstance(cause, ssl.SSLError):
        return TLSRejected(
            f"TLS handshake with {exc.host}:{exc.port} failed: {_ssl_text(cause)}",
            request=request,
        )
    return httpx.ConnectError(
        f"cannot connect to {exc.host}:{exc.port} ({_os_text(cause)})", request=request
    )


def _os_text(error: BaseException | None) -> str:
    """`Connection refused` rather than asyncio's `Connect call failed ('127.0.0.1', 9)`."""
    if isinstance(error, OSError) and error.errno:
        try:
            return os.strerror(error.errno)
        except ValueError:
            pass
        name = errno.errorcode.get(error.errno)
        if name:
            return name
    text = _scrubbed(error) if error is not None else ""
    return text or "connection failed"


def _ssl_text(error: BaseException | None) -> str:
    """An `ssl.SSLError` as its reason (`WRONG_VERSION_NUMBER`) and library message, short."""
    if error is None:
        return "unknown TLS error"
    if isinstance(error, ssl.SSLError):
        reason = getattr(error, "reason", None)
        message = getattr(error, "strerror", None) or _scrubbed(error)
        if reason and reason not in message:
            return clip(f"{reason}: {message}", 200)
        return clip(message or str(reason) or type(error).__name__, 200)
    return clip(_scrubbed(error) or type(error).__name__, 200)
