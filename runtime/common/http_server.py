"""A lean ASGI 3 HTTP/1.1 server: an ``asyncio.Protocol`` over httptools on uvloop.

``serve_asgi(factory, host, port, workers=..., graceful_timeout=..., keepalive_timeout=...)`` blocks until a
SIGTERM or SIGINT has been handled. ``factory()`` builds the app in the serving process (after the fork when
``workers > 1``; see :mod:`helixflow.runtime.common.http_workers` for the process model).

Per process: the ASGI lifespan runs first (an app that raises before calling ``receive()``, or returns without
answering, does not support it; a failed startup prints one line on stderr and exits 3), then connections are
accepted. A stop signal stops accepting, closes idle keep-alive connections, lets in-flight requests finish for
up to ``graceful_timeout`` seconds, cancels what is left, then runs the lifespan shutdown (also bounded by
``graceful_timeout``) and exits 0. The lifespan ``scope["state"]`` is shallow-copied into each request's scope.

HTTP/1.1 as served here:

- Keep-alive by default on HTTP/1.1; HTTP/1.0 only with ``Connection: keep-alive``; ``Connection: close`` (from
  the client or the app) is answered with ``connection: close`` and the connection is closed after the response.
  A connection idle for ``keepalive_timeout`` seconds (no request in progress) is closed by a sweep that runs a
  few times a second, not by a timer per request. A request whose head takes that long to arrive is dropped too.
- Pipelined requests are answered in order, one at a time; reading pauses while one waits, and while more than
  64 KiB of request body is buffered for an app that has not read it.
- More than 64 KiB of request line and headers: 431. A malformed request, an HTTP version other than 1.0/1.1,
  CONNECT, or an upgrade request with a body: 400. Both close the connection. Other upgrade requests (h2c,
  WebSocket) are answered as plain HTTP/1.1, ignoring ``Upgrade`` as RFC 9110 allows, so clients fall back.
- Response framing: the app's ``content-length`` is sent as given (more bytes than it says is an app error);
  a single body message without one gets one; a streamed body without one is sent chunked on HTTP/1.1 and
  delimited by closing the connection on HTTP/1.0. HEAD, 1xx, 204 and 304 responses carry no body bytes.
  ``date`` and ``server: helixflow`` are added unless the app set them.
- A request body the app did not read before its response completed is read and dropped (the connection stays
  open), unless the client was still waiting for ``100 Continue``: then the connection is closed.
- An app that raises, or returns without completing its response, is logged (logger ``helixflow.http``, never
  per request otherwise); the client gets a 500 in the OpenAI error shape when no response byte was written
  yet, else the connection is closed. The client never sees a traceback.

Client disconnects: once the connection is lost, ``receive()`` returns ``{"type": "http.disconnect"}`` and
``send()`` silently drops what it is given (it never raises for a gone client). After the request body has been
delivered, ``receive()`` waits until the response is complete or the client leaves, then says disconnect.
A half-closed connection (the client shut down its sending side) counts as a disconnect.

Extension ``helixflow.cancel_on_disconnect``: every http scope carries ``scope["extensions"]
["helixflow.cancel_on_disconnect"]``, a fresh dict per request. When the client disconnects before the response
is complete, the server sets that dict's ``"disconnected"`` to True and cancels the task running the app for
this request, so an app can abort upstream work at once (and tell, in a ``CancelledError`` handler, why it was
cancelled). Neither a cancelled app nor one that handles the cancellation and returns is logged as an error.

``serve_asgi`` must run in the main thread (it handles signals).
"""

from __future__ import annotations

import asyncio
import collections
import email.utils
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import httptools
import uvloop

from helixflow.runtime.common import http_workers, write_batch
from helixflow.runtime.common.http_exchange import SERVER_LINE, STATUS_LINES, Cycle
from helixflow.runtime.common.http_workers import ASGIApp, Scope

logger = logging.getLogger("helixflow.http")

CANCEL_ON_DISCONNECT = "helixflow.cancel_on_disconnect"
MAX_HEAD_BYTES = 64 * 1024
BODY_HIGH_WATER = 64 * 1024
STARTUP_FAILED_EXIT = 3

_ASGI_HTTP = {"version": "3.0", "spec_version": "2.3"}
_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")}
_VERSIONS = {"1.1": "1.1", "1.0": "1.0"}
_NOTED_REQUEST_HEADERS = frozenset({b"expect", b"connection"})
_IDLE_NEVER = float("inf")


def _error_body(message: str, kind: str, code: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()


_ERRORS = {
    400: _error_body("malformed HTTP request", "invalid_request_error", "bad_request"),
    431: _error_body("request headers too large", "invalid_request_error", "request_header_fields_too_large"),
    500: _error_body("internal error", "server_error", "internal_error"),
    505: _error_body("HTTP version not supported", "invalid_request_error", "http_version_not_supported"),
}


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


class _HeadRejected(Exception):
    """Raised from a parser callback to stop parsing; the status is on the connection."""


def _address(value: Any) -> tuple[str, int] | None:
    return (str(value[0]), int(value[1])) if isinstance(value, tuple) and len(value) >= 2 else None


class _Server:
    """What the connections of one process share: the app, the lifespan state, the date line, the idle sweep."""

    def __init__(self, app: ASGIApp, state: dict[str, Any], keepalive_timeout: float,
                 loop: asyncio.AbstractEventLoop, on_tick: Callable[[], None] | None = None) -> None:
        self.app = app
        self.state = state
        self.keepalive_timeout = keepalive_timeout
        self.loop = loop
        self.on_tick = on_tick
        self.writes = write_batch.for_loop(loop)
        self.connections: set[HttpConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.shutting_down = False
        self.date_line = b""
        self._second = -1
        self._interval = min(0.5, max(0.02, keepalive_timeout / 4))
        self._timer: asyncio.TimerHandle | None = None
        self.refresh_date()

    def refresh_date(self) -> None:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self.date_line = b"date: %s\r\n" % email.utils.formatdate(now, usegmt=True).encode()

    def start(self) -> None:
        self._timer = self.loop.call_later(self._interval, self._tick)

    def _tick(self) -> None:
        self._timer = self.loop.call_later(self._interval, self._tick)
        self.refresh_date()
        limit = self.loop.time() - self.keepalive_timeout
        for conn in [c for c in self.connections if c.idle_since <= limit]:
            conn.close()
        if self.on_tick is not None:
            self.on_tick()

    async def drain(self, timeout: float) -> None:
        """Close idle connections, let in-flight requests finish for up to ``timeout`` s, then cancel them."""
        self.shutting_down = True
        for conn in list(self.connections):
            conn.shutdown()
        deadline = self.loop.time() + timeout
        while (self.connections or self.tasks) and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self._timer is not None:
            self._timer.cancel()
        if self.connections or self.tasks:
            logger.warning("%d requests still running after %gs: cancelling them", len(self.tasks), timeout)
            for task in list(self.tasks):
                task.cancel()
            for conn in list(self.connections):
                conn.close()
            if self.tasks:
                await asyncio.wait(list(self.tasks), timeout=1.0)


def _head_size(url: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    return len(url) + sum(len(name) + len(value) + 4 for name, value in headers)


class HttpConnection(asyncio.Protocol):
    """One client connection: parses requests with httptools and runs one ``Cycle`` at a time."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.loop = server.loop
        self.writes = server.writes  # every write to the client goes through it (see write_batch)
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.client: tuple[str, int] | None = None
        self.sockname: tuple[str, int] | None = None
        self.idle_since = server.loop.time()
        self.keep_alive = True
        self.closed = False
        self.read_paused = False
        self.write_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.cycle: Cycle | None = None  # the request being answered
        self.parsing: Cycle | None = None  # the request whose body is being read
        self.pipeline: collections.deque[Cycle] = collections.deque()
        self.in_head = True
        self.raw_head = 0
        self.reject_status = 400
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.expect = False
        self.has_connection_header = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.client = _address(transport.get_extra_info("peername"))
        self.sockname = _address(transport.get_extra_info("sockname"))
        self.server.connections.add(self)
        if self.server.shutting_down:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.flag["disconnected"] = True
            task = cycle.task
            task.cancel()
            # run() takes it off the list when done; a task cancelled before it started never runs run()
            task.add_done_callback(self.server.tasks.discard)
            cycle.wake()
        self.cycle = None
        self.pipeline.clear()
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        if self.in_head:
            self.raw_head += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # An Upgrade (h2c, websocket) we do not take: the request was served as plain HTTP/1.1 (see
            # on_headers_complete); the parser stops after such a message, so a fresh one reads what follows.
            self.parser = httptools.HttpRequestParser(self)
            rest = data[upgrade.args[0]:] if upgrade.args else b""
            if rest:
                self.data_received(rest)
            return
        except httptools.HttpParserError as err:
            if isinstance(err.__context__, Exception) and not isinstance(err.__context__, _HeadRejected):
                logger.error("HTTP parser callback failed", exc_info=err.__context__)
            self.reject(self.reject_status)
            return
        if self.in_head:
            if self.raw_head > MAX_HEAD_BYTES:
                self.reject(431)
        elif self.headers and _head_size(b"", self.headers) > MAX_HEAD_BYTES:  # trailers piling up
            self.reject(431)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        waiter = self.drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # httptools callbacks

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name in _NOTED_REQUEST_HEADERS:
            if name == b"connection":
                self.has_connection_header = True
            elif value.lower() == b"100-continue":
                self.expect = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        keep_alive = parser.should_keep_alive()
        if keep_alive and not self.has_connection_header:
            version: str | None = "1.1"  # llhttp keeps only HTTP/1.1 alive without a Connection header
        else:
            version = _VERSIONS.get(parser.get_http_version())  # formats a string: slower, so only when needed
            if version is None:
                self.reject_status = 505
                raise _HeadRejected
        if parser.should_upgrade() and (parser.get_method() == b"CONNECT" or _has_body(self.headers)):
            raise _HeadRejected  # the parser would not read such a body: refused rather than misread
        if self.raw_head > MAX_HEAD_BYTES and _head_size(self.url, self.headers) > MAX_HEAD_BYTES:
            self.reject_status = 431
            raise _HeadRejected
        self.in_head = False
        self.raw_head = 0
        url = self.url
        if url[:1] == b"/":
            raw_path, _, query = url.partition(b"?")
        elif url == b"*":
            raw_path, query = url, b""
        else:
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        path = (unquote_to_bytes(raw_path) if 37 in raw_path else raw_path).decode("utf-8", "replace")  # 37: %
        method = parser.get_method()
        flag: dict[str, Any] = {}
        server = self.server
        scope: Scope = {
            "type": "http",
            "asgi": _ASGI_HTTP,
            "http_version": version,
            "method": _METHODS.get(method) or method.decode("ascii"),
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self.headers,
            "client": self.client,
            "server": self.sockname,
            "state": server.state.copy(),
            "extensions": {CANCEL_ON_DISCONNECT: flag},
        }
        cycle = Cycle(self, scope, flag, keep_alive, self.expect and version == "1.1")
        self.url = b""  # ready for the next request (no on_message_begin callback: one Python call less)
        self.headers = []
        self.expect = self.has_connection_header = False
        self.parsing = cycle
        if self.cycle is None:  # self.start(cycle), inlined
            self.cycle = cycle
            self.idle_since = _IDLE_NEVER
            cycle.task = task = self.loop.create_task(cycle.run())
            server.tasks.add(task)
        else:
            self.pipeline.append(cycle)
            self.pause_reading()

    def on_body(self, body: bytes) -> None:
        cycle = self.parsing
        if cycle is None or cycle.response_complete:
            return  # the response is out: the rest of the body is read and dropped
        cycle.chunks.append(body)
        cycle.buffered += len(body)
        if cycle.waiters:
            cycle.wake()
        if cycle.buffered > BODY_HIGH_WATER:
            self.pause_reading()

    def on_message_complete(self) -> None:
        cycle = self.parsing
        self.parsing = None
        self.in_head = True
        self.raw_head = 0
        if self.headers:  # the trailers of a chunked body: dropped, not taken for the next request's headers
            self.headers = []
            self.expect = self.has_connection_header = False
        if cycle is not None:
            cycle.body_done = True
            if cycle.waiters:
                cycle.wake()

    # the rest

    def start(self, cycle: Cycle) -> None:
        self.cycle = cycle
        self.idle_since = _IDLE_NEVER
        task = self.loop.create_task(cycle.run())
        cycle.task = task
        self.server.tasks.add(task)

    def response_done(self, cycle: Cycle) -> None:
        self.cycle = None
        if cycle.waiters:
            cycle.wake()
        if cycle.chunks:  # body the app did not read: dropped, and the rest of it will be too
            cycle.chunks.clear()
            cycle.buffered = 0
        if not (cycle.keep_alive and self.keep_alive):
            self.close()
        elif self.pipeline:
            self.start(self.pipeline.popleft())
            if self.read_paused:
                self.resume_if_drained()
        else:
            self.idle_since = self.loop.time()
            if self.read_paused:
                self.resume_if_drained()

    def pause_reading(self) -> None:
        if not self.read_paused and not self.closed:
            self.read_paused = True
            self.transport.pause_reading()

    def resume_if_drained(self) -> None:
        parsing = self.parsing
        if (self.read_paused and not self.closed and not self.pipeline
                and (parsing is None or parsing.buffered <= BODY_HIGH_WATER)):
            self.read_paused = False
            self.transport.resume_reading()

    async def drain(self) -> None:
        waiter = self.drain_waiter
        if waiter is None or waiter.done():
            waiter = self.drain_waiter = self.loop.create_future()
        await waiter

    def write_error(self, status: int) -> None:
        body = _ERRORS[status]
        self.writes.write(self.transport, b"".join((
            STATUS_LINES[status], b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
            b"connection: close\r\n", self.server.date_line, SERVER_LINE, b"\r\n", body)))

    def reject(self, status: int) -> None:
        """A request we will not answer: an error response when nothing else is being answered, then close."""
        self.keep_alive = False
        if self.cycle is None and not self.closed:
            self.write_error(status)
            self.close()
        else:
            self.pipeline.clear()
            self.pause_reading()

    def shutdown(self) -> None:
        """Server stopping: close now when idle, else after the response in progress."""
        self.keep_alive = False
        self.pipeline.clear()
        if self.cycle is None:
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.idle_since = _IDLE_NEVER
            if self.cycle is not None:
                self.cycle.disconnected = True  # nothing more reaches the client: writes are dropped
            self.writes.close(self.transport)  # after what is queued for it


async def _serve(factory: Callable[[], ASGIApp], sock: socket.socket, graceful_timeout: float,
                 keepalive_timeout: float, parent_pid: int | None) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in http_workers.STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, http_workers.STOP_SIGNALS)

    app = factory()
    state: dict[str, Any] = {}
    lifespan = http_workers.Lifespan(app, state)
    starting = loop.create_task(lifespan.startup())
    stopping = loop.create_task(stop.wait())
    await asyncio.wait((starting, stopping), return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        starting.cancel()
        await lifespan.shutdown(graceful_timeout)
        return 0
    stopping.cancel()
    failure = starting.result()
    if failure is not None:
        sys.stderr.write(f"error: ASGI lifespan startup failed: {failure}\n")
        return STARTUP_FAILED_EXIT

    def watch_parent() -> None:
        if parent_pid is not None and os.getppid() != parent_pid:
            stop.set()  # the supervisor is gone: do not serve on as an orphan

    server = _Server(app, state, keepalive_timeout, loop, watch_parent)
    listener = await loop.create_server(lambda: HttpConnection(server), sock=sock, backlog=2048)
    server.start()
    await stop.wait()
    listener.close()
    await server.drain(graceful_timeout)
    failure = await lifespan.shutdown(graceful_timeout)
    if failure is not None:
        sys.stderr.write(f"error: ASGI lifespan shutdown failed: {failure}\n")
    return 0


def _run_process(factory: Callable[[], ASGIApp], sock: socket.socket, graceful_timeout: float,
                 keepalive_timeout: float, parent_pid: int | None) -> int:
    return uvloop.run(_serve(factory, sock, graceful_timeout, keepalive_timeout, parent_pid))


def serve_asgi(factory: Callable[[], ASGIApp], host: str, port: int, *, workers: int = 1,
               graceful_timeout: float = 10.0, keepalive_timeout: float = 5.0) -> None:
    """Serve ``factory()``'s app on host:port until SIGTERM/SIGINT. Exits non-zero (SystemExit) on failure."""
    if workers < 1:
        raise ValueError("workers must be >= 1")
    try:
        sock = http_workers.bind_socket(host, port)
    except OSError as err:
        sys.stderr.write(f"error: cannot listen on {host}:{port}: {err}\n")
        raise SystemExit(1) from None
    with sock:
        if workers == 1:
            code = _run_process(factory, sock, graceful_timeout, keepalive_timeout, None)
        else:
            stop_timeout = 2 * graceful_timeout + 5
            code = http_workers.run_workers(
                sock, workers,
                lambda: _run_process(factory, sock, graceful_timeout, keepalive_timeout, os.getppid()),
                stop_timeout)
    if code:
        raise SystemExit(code)
