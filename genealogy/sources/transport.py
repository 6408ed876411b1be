"""An httpx transport that sends requests with aiohttp.

httpx's own transport (httpcore on anyio) spends about 1.5 ms of CPU on each request, which
made a crawl at 20 ms latency CPU-bound (benchmarks/crawl_benchmark.py). aiohttp does the same
work in a fraction of that, so `HttpSource` keeps the httpx client API (request building,
redirect handling, decoding, exceptions) and hands only the wire to aiohttp.

URLs go out byte for byte as httpx built them (`encoded=True`): aiohttp would otherwise decode
`%2E%2E` back to `..` and drop it as a dot-segment, so a serial number could reach another
endpoint. Cookies are neither stored nor sent; the API authenticates with its Bearer key.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import aiohttp
import httpx
import yarl

CHUNK_BYTES = 64 * 1024


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, connections: int, tls: ssl.SSLContext) -> None:
        self._connections = connections
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        """Created on first use: aiohttp binds a session to the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, ssl=self._tls),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,  # httpx decodes, as with its own transport
                timeout=aiohttp.ClientTimeout(total=None),  # the source times each attempt
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = yarl.URL(str(request.url), encoded=True)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request.headers.raw
            if name.lower() != b"host"
        ]
        try:
            response = await self._open_session().request(
                request.method,
                url,
                headers=headers,
                allow_redirects=False,
                data=None,
            )
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(
                str(exc) or "server disconnected", request=request
            ) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=[(name, value) for name, value in response.raw_headers],
            stream=_Body(response, request),
            request=request,
        )

    async def aclose(self) -> None:
        """Idempotent: every client of a source shares this transport and closes it."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(CHUNK_BYTES):
                yield chunk
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=self._request) from exc

    async def aclose(self) -> None:
        self._response.release()
