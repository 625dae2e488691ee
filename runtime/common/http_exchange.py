"""One request and its response on a connection of the lean HTTP server (:mod:`helixflow.runtime.common.
http_server`): the ASGI ``receive`` and ``send`` an app gets, the response head and the body's framing.

The connection (``HttpConnection``) parses requests and owns the socket; a ``Cycle`` runs the app for one
request, hands it the request body, and writes what the app sends, framed by content-length, chunked, or
not at all (HEAD, 1xx, 204, 304). The behaviour it implements is described in ``http_server``.
"""

from __future__ import annotations

import asyncio
import http
import logging
from typing import TYPE_CHECKING, Any

from helixflow.runtime.common.http_workers import Message, Scope

if TYPE_CHECKING:
    from helixflow.runtime.common.http_server import HttpConnection

logger = logging.getLogger("helixflow.http")

SERVER_LINE = b"server: helixflow\r\n"
_WATCHED_HEADERS = frozenset({b"content-length", b"transfer-encoding", b"connection", b"date", b"server"})
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# body framing of a response
_RAW, _CHUNKED, _NONE = 0, 1, 2


def status_line(status: int) -> bytes:
    if type(status) is not int or not 100 <= status <= 999:
        raise RuntimeError(f"invalid response status {status!r}")
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase.encode())


STATUS_LINES = {int(s): status_line(int(s)) for s in http.HTTPStatus}


class Cycle:
    """One request and its response: the ``receive`` and ``send`` the app gets."""

    __slots__ = ("body_done", "body_sent", "buffered", "chunks", "conn", "disconnected", "expect", "flag",
                 "framing", "head_written", "headers", "is_head", "keep_alive", "remaining", "response_complete",
                 "scope", "started", "status", "task", "waiters")
    task: asyncio.Task[None]  # set when the cycle starts
    status: int
    headers: Any  # the app's iterable of (name, value)
    framing: int
    remaining: int  # body bytes still due under the content-length, -1 when not counted

    def __init__(self, conn: HttpConnection, scope: Scope, flag: dict[str, Any], keep_alive: bool,
                 expect: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.flag = flag
        self.keep_alive = keep_alive
        self.expect = expect
        self.is_head = scope["method"] == "HEAD"
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.body_done = False
        self.body_sent = False
        self.waiters: list[asyncio.Future[None]] | None = None
        self.started = False
        self.head_written = False
        self.response_complete = False
        self.disconnected = False

    async def run(self) -> None:
        conn = self.conn
        try:
            await conn.server.app(self.scope, self.receive, self.send)
        except asyncio.CancelledError:
            if not self.response_complete:
                conn.close()
        except Exception:
            logger.exception("exception in ASGI application serving %s %s", self.scope["method"], self.scope["path"])
            self.fail()
        else:
            if not self.response_complete:
                if not self.disconnected:  # an app that caught the cancellation of a client gone is fine
                    logger.error("ASGI application returned without completing its response to %s %s",
                                 self.scope["method"], self.scope["path"])
                self.fail()
        finally:
            conn.server.tasks.discard(self.task)

    def fail(self) -> None:
        if self.response_complete:
            return
        conn = self.conn
        if not self.head_written and not conn.closed:
            self.head_written = True
            conn.write_error(500)
        self.response_complete = True
        conn.close()

    def wake(self) -> None:
        waiters = self.waiters
        if waiters:
            self.waiters = None
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def _wait(self) -> None:
        waiter = self.conn.loop.create_future()
        if self.waiters is None:
            self.waiters = [waiter]
        else:
            self.waiters.append(waiter)
        await waiter

    async def receive(self) -> Message:
        if self.body_sent or self.disconnected or self.response_complete:
            while not (self.disconnected or self.response_complete):
                await self._wait()
            return {"type": "http.disconnect"}
        if not self.chunks and not self.body_done:
            conn = self.conn
            if self.expect:
                self.expect = False
                conn.writes.write(conn.transport, _CONTINUE)
            if conn.read_paused:
                conn.resume_if_drained()
            while not (self.chunks or self.body_done or self.disconnected or self.response_complete):
                await self._wait()
            if self.disconnected or self.response_complete:
                return {"type": "http.disconnect"}
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.buffered = 0
        if self.conn.read_paused:
            self.conn.resume_if_drained()
        if self.body_done:
            self.body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.request", "body": body, "more_body": True}

    async def send(self, message: Message) -> None:
        if self.disconnected:
            return
        kind = message["type"]
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected 'http.response.start', got {kind!r}")
            self.started = True
            self.status = message["status"]
            self.headers = message.get("headers", ())
            return
        if kind != "http.response.body":
            raise RuntimeError(f"expected 'http.response.body', got {kind!r}")
        if self.response_complete:
            raise RuntimeError("the response is already complete")
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        conn = self.conn
        data = b"" if self.head_written else self._head(len(body), more)
        framing = self.framing
        if framing == _RAW:
            if self.remaining >= 0:
                self.remaining -= len(body)
                if self.remaining < 0:
                    raise RuntimeError("response body longer than its content-length")
                if not more and self.remaining:
                    raise RuntimeError("response body shorter than its content-length")
            data = data + body if data else body
        elif framing == _CHUNKED:
            if body:
                data += b"%x\r\n%b\r\n" % (len(body), body)
            if not more:
                data += b"0\r\n\r\n"
        self.head_written = True
        if data:
            conn.writes.write(conn.transport, data)
        if not more:
            self.response_complete = True
            conn.response_done(self)
        elif conn.write_paused:
            await conn.drain()

    def _head(self, length: int, more: bool) -> bytes:
        """The response head; sets the framing, the bytes left to send and whether the connection stays open."""
        status = self.status
        parts = [STATUS_LINES.get(status) or status_line(status)]
        content_length = -1
        chunked = close = has_date = has_server = False
        for name, value in self.headers:
            lowered = name.lower()
            if lowered in _WATCHED_HEADERS:
                if lowered == b"content-length":
                    content_length = int(value)
                elif lowered == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif lowered == b"connection":
                    close = b"close" in value.lower()
                elif lowered == b"date":
                    has_date = True
                else:
                    has_server = True
            parts.append(b"%b: %b\r\n" % (name, value))
        conn = self.conn
        keep_alive = self.keep_alive and conn.keep_alive and not close and not (self.expect and not self.body_done)
        self.remaining = -1
        if self.is_head or status < 200 or status == 204 or status == 304:
            self.framing = _NONE
        elif content_length >= 0:
            self.framing = _RAW
            self.remaining = content_length
        elif chunked:
            self.framing = _CHUNKED
        elif not more:
            self.framing = _RAW
            self.remaining = length
            parts.append(b"content-length: %d\r\n" % length)
        elif self.scope["http_version"] == "1.1":
            self.framing = _CHUNKED
            parts.append(b"transfer-encoding: chunked\r\n")
        else:
            self.framing = _RAW
            keep_alive = False
        if not keep_alive:
            self.keep_alive = False
            if not close:
                parts.append(b"connection: close\r\n")
        elif self.scope["http_version"] == "1.0":
            parts.append(b"connection: keep-alive\r\n")
        if not has_date:
            parts.append(conn.server.date_line)
        if not has_server:
            parts.append(SERVER_LINE)
        parts.append(b"\r\n")
        head = b"".join(parts)
        # every part ends with the one line break it may hold: more means a header value or name smuggles one in
        if head.count(b"\n") != len(parts) or head.count(b"\r") != len(parts):
            raise RuntimeError("a response header contains a line break")
        return head
