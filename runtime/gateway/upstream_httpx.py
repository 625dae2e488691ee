"""The pool client on httpx (httpcore): same interface and error kinds as ``upstream.UpstreamConnections``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx

from helixflow.runtime.gateway.upstream import UpstreamError


def _error(err: httpx.HTTPError) -> UpstreamError:
    if isinstance(err, httpx.TimeoutException):
        return UpstreamError("timeout", "the pool did not answer in time")
    if isinstance(err, httpx.ConnectError):
        return UpstreamError("unavailable", f"cannot connect to the pool: {err}")
    if isinstance(err, httpx.RemoteProtocolError | httpx.DecodingError):
        return UpstreamError("protocol", f"invalid response from the pool: {type(err).__name__}")
    return UpstreamError("unavailable", f"the pool closed the connection: {type(err).__name__}")


class HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code

    def header(self, name: bytes) -> bytes | None:
        value = self._response.headers.get(name.decode("latin-1"))
        return None if value is None else value.encode("latin-1")

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.HTTPError as err:
            raise _error(err) from err

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.HTTPError as err:
            raise _error(err) from err

    def release(self) -> None:
        # An unread stream's connection is closed by httpcore when the stream is closed; closing it is async, so
        # it is scheduled rather than awaited (release is called from finally blocks that may not await).
        if not self._response.is_closed:
            import asyncio

            asyncio.get_running_loop().create_task(self._response.aclose())


class HttpxUpstream:
    """Keep-alive connections to one base URL through one httpx client. ``request`` raises UpstreamError."""

    def __init__(self, base_url: str, *, api_key: str = "", connect_timeout: float = 2.0,
                 read_timeout: float = 300.0, max_connections: int = 512) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the pool URL must be http(s)://host:port, got {base_url!r}")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections))

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> HttpxResponse:
        sent = dict(headers or ())
        if body or method == "POST":
            sent["Content-Type"] = "application/json"
        try:
            request = self._client.build_request(method, path, content=body or None, headers=sent)
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as err:
            raise _error(err) from err
        return HttpxResponse(response)

    async def aclose(self) -> None:
        await self._client.aclose()
