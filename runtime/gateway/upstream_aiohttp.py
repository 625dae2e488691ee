"""The pool client on aiohttp: keep-alive connections, connect and read timeouts, a connection cap.

Same interface as ``upstream.UpstreamConnections`` (``request`` -> a response with ``status``, ``header``,
``read``, ``chunks``, ``release``); errors are ``UpstreamError`` with the same kinds, so the proxy does not
know which client it has. A response released before its end drops its connection (aiohttp does not
reuse a connection with unread body).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp

from helixflow.runtime.gateway.upstream import UpstreamError


def _error(err: BaseException) -> UpstreamError:
    if isinstance(err, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamError("timeout", "the pool did not answer in time")
    if isinstance(err, aiohttp.ClientConnectorError):
        return UpstreamError("unavailable", f"cannot connect to the pool: {err.os_error.strerror or err}")
    if isinstance(err, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        return UpstreamError("protocol", f"invalid response from the pool: {type(err).__name__}")
    return UpstreamError("unavailable", f"the pool closed the connection: {type(err).__name__}")


class AiohttpResponse:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status

    def header(self, name: bytes) -> bytes | None:
        value = self._response.headers.get(name.decode("latin-1"))
        return None if value is None else value.encode("latin-1")

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error(err) from err

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error(err) from err

    def release(self) -> None:
        self._response.release()


class AiohttpUpstream:
    """Keep-alive connections to one base URL through one aiohttp session. ``request`` raises UpstreamError."""

    def __init__(self, base_url: str, *, api_key: str = "", connect_timeout: float = 2.0,
                 read_timeout: float = 300.0, max_connections: int = 512) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the pool URL must be http(s)://host:port, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use: a session belongs to the running loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False,
                                                  skip_auto_headers=("User-Agent", "Accept-Encoding"))
        return self._session

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> AiohttpResponse:
        sent = {**self._auth, **dict(headers or ())}
        if body or method == "POST":
            sent["Content-Type"] = "application/json"
        try:
            response = await self._open().request(method, self.base_url + path, data=body or None, headers=sent)
        except (aiohttp.ClientError, TimeoutError) as err:
            raise _error(err) from err
        return AiohttpResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)
            self._session = None
