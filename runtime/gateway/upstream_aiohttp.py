"""The pool client on aiohttp: keep-alive connections, connect and read timeouts, a connection cap.

Implements ``upstream.PoolClient`` (``request`` -> a response with ``status``, ``header``,
``read``, ``chunks``, ``release``); errors are ``UpstreamError`` with the same kinds, so the proxy does not
know which client it has. A response released before its end drops its connection (aiohttp does not
reuse a connection with unread body).

Delayed ACKs: sglang-router leaves Nagle on and holds a stream's first event until the response headers are
ACKed, which this side's kernel delays (~40 ms) on a kept-alive connection. So whenever part of a response has
been read and more is due, ``TCP_QUICKACK`` is re-armed on the socket (Linux; the kernel clears it itself),
which sends the pending ACK at once. A response that arrived whole costs no extra system call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp

from helixflow.runtime.gateway.upstream import UpstreamError

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only: elsewhere nothing is set


def _ack_now(response: aiohttp.ClientResponse) -> None:
    """ACK what was read if more of the response is due (see the module's docstring)."""
    if _QUICKACK is None or response.content.at_eof() or response.connection is None:
        return
    transport = response.connection.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


def _received_before(content: aiohttp.StreamReader) -> bytes:
    """The bytes buffered when the stream failed (``read_nowait`` would raise the stored error instead)."""
    read = getattr(content, "_read_nowait", None)  # private in aiohttp 3.x; without it nothing is salvaged
    return bytes(read(-1)) if read is not None else b""


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
                _ack_now(self._response)
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as err:
            # aiohttp raises a broken stream's error before handing out what it had already received: those
            # events were sent by the pool, so they are relayed (and billed) first.
            if rest := _received_before(self._response.content):
                yield rest
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
        _ack_now(response)
        return AiohttpResponse(response)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            await asyncio.sleep(0)
            self._session = None
