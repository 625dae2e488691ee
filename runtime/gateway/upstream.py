"""What the proxy knows of the pool client: its errors and the shape of a response.

The client itself is aiohttp (``upstream_aiohttp.py``). A home-made HTTP/1.1 client on httptools was retired by
the 2x rule (shared/DESIGN.md): in bench/gateway_bench.py it served 0.54-1.21x of aiohttp's requests a second
over TLS to Redis and PostgreSQL (the cloud path), at 1.13-1.28x less CPU a request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class UpstreamError(Exception):
    """The pool could not be reached or broke the exchange; ``kind`` is unavailable, timeout or protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PoolResponse(Protocol):
    """What the proxy reads of a pool answer: headers are in; the body comes by ``read()`` or ``chunks()``;
    ``release()`` always, after."""

    status: int

    def header(self, name: bytes) -> bytes | None: ...
    def chunks(self) -> AsyncIterator[bytes]: ...
    async def read(self) -> bytes: ...
    def release(self) -> None: ...


class PoolClient(Protocol):
    """A client of the pool: ``request`` raises UpstreamError."""

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> PoolResponse: ...
    async def aclose(self) -> None: ...
