"""A lean keep-alive HTTP/1.1 client for the inference pool, on asyncio protocols and httptools' parser.

Why not httpx: on the gateway's hot path httpx costs about a millisecond of CPU per
request (see shared/reference/gateway-performance.md); this client passes bytes
through and costs a fraction of that. It speaks only what the pool needs: one
request at a time per connection, Content-Length request bodies, chunked or sized
responses, connect and read timeouts, and a connection is dropped (never reused)
when a response was not read to its end, e.g. when the client went away.

Latency on kept-alive connections: sglang-router does not set ``TCP_NODELAY``, so it
writes the SSE response headers and holds the first event (Nagle) until they are
ACKed, while this side's kernel, having just sent a request on the connection,
delays that ACK (delayed ACK, ~40 ms on Linux): every stream's first token came
~40 ms late. The client sets ``TCP_NODELAY`` on its own writes and re-arms
``TCP_QUICKACK`` (Linux; the kernel clears it again by itself) whenever it has read
part of a response that is not complete yet, which sends the pending ACK at once.
A response that arrived whole costs no extra system call.

Read timeouts: instead of a timer per wait (``asyncio.timeout`` costs ~7 us a request),
each set of connections runs one sweeper that fails waits older than ``read_timeout``, checking
every ``read_timeout / 10`` (at most every second).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Protocol, cast
from urllib.parse import urlsplit

import httptools

from helixflow.runtime.common import write_batch
from helixflow.runtime.common.write_batch import WriteBatch

# Where the platform lacks them (TCP_QUICKACK is Linux-only) the options are simply not set.
_NODELAY: int | None = getattr(socket, "TCP_NODELAY", None)
_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class UpstreamError(Exception):
    """The pool could not be reached or broke the exchange; ``kind`` is unavailable, timeout or protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PoolResponse(Protocol):
    """What the proxy reads of a pool answer, whichever client got it."""

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


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.sock: socket.socket | None = None  # the transport's socket object, kept for setsockopt
        self.parser = httptools.HttpResponseParser(self)
        self.closed = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: collections.deque[bytes] = collections.deque()
        self.complete = False
        self.error: UpstreamError | None = None
        self.headers_done: asyncio.Future[None] | None = None
        self.wakeup: asyncio.Future[None] | None = None
        self.received_any = False
        self.keep_alive = False
        self.waiting_since: float | None = None  # loop time when a reader began to wait, None when none does

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            self.sock = sock
            _set_option(sock, _NODELAY)
            _set_option(sock, _QUICKACK)

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as err:
            self._fail(UpstreamError("protocol", f"invalid response from the pool: {err}"))
            self.close()
            return
        if not self.complete and self.sock is not None and _QUICKACK is not None:
            # More of this response is to come: ACK what was read now, or the pool may hold it back (see above).
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                self.sock = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.sock = None
        if not self.complete:
            self._fail(UpstreamError("unavailable", "the pool closed the connection"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        # Read now: the parser forgets it once the message is complete.
        self.keep_alive = self.parser.should_keep_alive()
        if self.headers_done is not None and not self.headers_done.done():
            self.headers_done.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    def _wake(self) -> None:
        if self.wakeup is not None and not self.wakeup.done():
            self.wakeup.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        self.error = error
        for future in (self.headers_done, self.wakeup):
            if future is not None and not future.done():
                future.set_exception(error)

    def reset(self) -> None:
        self.status, self.headers, self.complete, self.error = 0, [], False, None
        self.chunks.clear()
        self.received_any = False
        loop = asyncio.get_running_loop()
        self.headers_done = loop.create_future()
        self.wakeup = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


def _set_option(sock: socket.socket, option: int | None) -> None:
    if option is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, option, 1)


class UpstreamResponse:
    """Headers are read; the body is read with ``read()`` or ``chunks()``; ``release()`` always, after."""

    def __init__(self, connections: UpstreamConnections, connection: _Connection) -> None:
        self._connections, self._conn = connections, connection
        self.status = connection.status
        self.headers = connection.headers
        self._released = False

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    async def _next(self) -> bytes | None:
        conn = self._conn
        while True:
            if conn.chunks:
                return conn.chunks.popleft()
            if conn.complete:
                return None
            if conn.error is not None:
                raise conn.error
            conn.wakeup = asyncio.get_running_loop().create_future()
            await self._connections._wait(conn, conn.wakeup)

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._next()) is not None:
            yield chunk

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.chunks()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._connections._release(self._conn)


class UpstreamConnections:
    """Keep-alive connections to one base URL. ``request`` raises UpstreamError."""

    def __init__(self, base_url: str, *, api_key: str = "", connect_timeout: float = 2.0,
                 read_timeout: float = 300.0, max_idle: int = 512) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"the pool URL must be http://host:port, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.base_path = parts.path.rstrip("/")
        host_header = f"{self.host}:{self.port}".encode()
        auth = f"Authorization: Bearer {api_key}\r\n".encode() if api_key else b""
        self._fixed_headers = b"Host: " + host_header + b"\r\n" + auth
        self.connect_timeout, self.read_timeout, self.max_idle = connect_timeout, read_timeout, max_idle
        self._idle: collections.deque[_Connection] = collections.deque()
        self._writes: tuple[asyncio.AbstractEventLoop, WriteBatch] | None = None  # requests go out in batches
        self._waiting: set[_Connection] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def _wait(self, conn: _Connection, future: asyncio.Future[None]) -> None:
        """Awaits a read on ``conn``; the sweeper fails it with a timeout if the pool stays silent."""
        loop = asyncio.get_running_loop()
        if self._sweeper is None:
            self._sweeper = loop.create_task(self._sweep())
        conn.waiting_since = loop.time()
        self._waiting.add(conn)
        try:
            await future
        finally:
            conn.waiting_since = None
            self._waiting.discard(conn)

    async def _sweep(self) -> None:
        interval = min(1.0, self.read_timeout / 10)
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            late = loop.time() - self.read_timeout
            for conn in [c for c in self._waiting if c.waiting_since is not None and c.waiting_since <= late]:
                conn._fail(UpstreamError("timeout", "the pool did not answer in time"))
                conn.close()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, protocol = await loop.create_connection(_Connection, self.host, self.port)
        except TimeoutError as err:
            raise UpstreamError("unavailable", "timed out connecting to the pool") from err
        except OSError as err:
            raise UpstreamError("unavailable", f"cannot connect to the pool: {err.strerror or err}") from err
        return protocol

    def _release(self, conn: _Connection) -> None:
        if conn.complete and not conn.closed and conn.keep_alive and len(self._idle) < self.max_idle:
            self._idle.append(conn)
        else:
            conn.close()

    async def request(self, method: str, path: str, body: bytes = b"",
                      headers: list[tuple[str, str]] | None = None) -> UpstreamResponse:
        head = [f"{method} {self.base_path}{path} HTTP/1.1\r\n".encode(), self._fixed_headers]
        if body or method == "POST":
            head.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        for name, value in headers or ():
            head.append(f"{name}: {value}\r\n".encode("latin-1", "replace"))
        head.append(b"\r\n")
        payload = b"".join(head) + body
        loop = asyncio.get_running_loop()
        if self._writes is None or self._writes[0] is not loop:
            self._writes = (loop, write_batch.for_loop(loop))
        writes = self._writes[1]
        for attempt in range(2):
            reused = False
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    reused = True
                    break
            else:
                conn = await self._connect()
            conn.reset()
            assert conn.transport is not None and conn.headers_done is not None
            writes.write(conn.transport, payload)
            try:
                await self._wait(conn, conn.headers_done)
            except UpstreamError as err:
                conn.close()
                # A kept-alive connection the pool had already closed: retry once on a fresh one.
                if err.kind == "unavailable" and reused and not conn.received_any and attempt == 0:
                    continue
                raise
            except BaseException:
                conn.close()
                raise
            return UpstreamResponse(self, conn)
        raise UpstreamError("unavailable", "the pool closed the connection")

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        while self._idle:
            self._idle.pop().close()
