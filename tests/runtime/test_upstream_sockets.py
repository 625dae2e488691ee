"""The gateway's upstream client sets TCP_NODELAY and re-arms TCP_QUICKACK while a response is incomplete.

sglang-router leaves Nagle on: it holds a stream's first event until its response headers are ACKed, and a
client that delays that ACK got every first token ~40 ms late. See runtime/gateway/upstream.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest

from helixflow.runtime.gateway import upstream
from helixflow.runtime.gateway.upstream import UpstreamConnections, _Connection

pytestmark = pytest.mark.unit

QUICKACK = getattr(socket, "TCP_QUICKACK", None)
needs_quickack = pytest.mark.skipif(QUICKACK is None, reason="TCP_QUICKACK is Linux-only")

HEADERS = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
EVENT = b'data: {"choices":[{"delta":{"content":"a"}}]}\n\n'
CHUNK = b"%x\r\n%s\r\n" % (len(EVENT), EVENT)
END = b"0\r\n\r\n"
SIZED = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class RecordingSocket:
    family = socket.AF_INET

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))


class FakeTransport:
    def __init__(self, sock: RecordingSocket) -> None:
        self.sock = sock

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.sock if name == "socket" else default

    def close(self) -> None:
        pass


def _connection() -> tuple[_Connection, RecordingSocket]:
    sock = RecordingSocket()
    conn = _Connection()
    conn.connection_made(FakeTransport(sock))  # type: ignore[arg-type]
    return conn, sock


def _quickacks(sock: RecordingSocket) -> int:
    return sock.options.count((socket.IPPROTO_TCP, QUICKACK, 1)) if QUICKACK is not None else 0


def test_nodelay_and_quickack_are_set_when_connecting() -> None:
    _, sock = _connection()
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1) in sock.options
    if QUICKACK is not None:
        assert _quickacks(sock) == 1


def _reset(conn: _Connection) -> None:
    async def reset() -> None:  # reset() makes futures on the running loop
        conn.reset()

    asyncio.run(reset())


@needs_quickack
def test_quickack_is_rearmed_after_each_read_of_an_incomplete_response() -> None:
    conn, sock = _connection()
    _reset(conn)
    before = _quickacks(sock)
    conn.data_received(HEADERS)
    assert _quickacks(sock) == before + 1  # the headers are ACKed at once, so the first event is not held
    conn.data_received(CHUNK)
    assert _quickacks(sock) == before + 2
    conn.data_received(CHUNK + END)
    assert conn.complete
    assert _quickacks(sock) == before + 2  # nothing more to come: no system call


@needs_quickack
def test_a_response_read_whole_costs_no_setsockopt() -> None:
    conn, sock = _connection()
    _reset(conn)
    before = len(sock.options)
    conn.data_received(SIZED)
    assert conn.complete and len(sock.options) == before


def test_real_connections_have_nodelay_and_keep_working() -> None:
    """Against a real server: the options are on the upstream socket and a kept-alive stream reads through."""
    asyncio.run(_real_connections())


async def _real_connections() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(HEADERS)
                await writer.drain()
                await asyncio.sleep(0.01)
                writer.write(CHUNK + CHUNK + END)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connections = UpstreamConnections(f"http://127.0.0.1:{port}")
    try:
        for _ in range(2):
            response = await connections.request("GET", "/stream")
            assert response.status == 200
            body = await response.read()
            response.release()
            assert body == EVENT + EVENT
        assert len(connections._idle) == 1  # the connection was kept alive and reused
        conn = connections._idle[0]
        assert conn.sock is not None
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        await connections.aclose()
        server.close()
        await server.wait_closed()


def test_a_socket_refusing_quickack_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing(RecordingSocket):
        def setsockopt(self, level: int, option: int, value: int) -> None:
            raise OSError("not supported")

    monkeypatch.setattr(upstream, "_QUICKACK", QUICKACK or 12)
    sock = Refusing()
    conn = _Connection()
    conn.connection_made(FakeTransport(sock))  # type: ignore[arg-type]
    _reset(conn)
    conn.data_received(HEADERS)  # does not raise
    assert conn.sock is None and conn.status == 200


def test_a_silent_pool_times_out_once_without_a_retry() -> None:
    """The sweeper fails a wait older than read_timeout, for the headers and between body chunks alike."""
    asyncio.run(_silent_pool())


async def _silent_pool() -> None:
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                requests.append(head)
                if b"/half" in head:
                    writer.write(HEADERS + CHUNK)  # then nothing more
                    await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connections = UpstreamConnections(f"http://127.0.0.1:{port}", read_timeout=0.3)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        with pytest.raises(upstream.UpstreamError) as silent:
            await connections.request("POST", "/silent", b"{}")
        assert silent.value.kind == "timeout"
        assert 0.3 <= loop.time() - started < 1.0
        assert len(requests) == 1  # a timeout is not retried on another connection

        response = await connections.request("GET", "/half")
        started = loop.time()
        with pytest.raises(upstream.UpstreamError) as stalled:
            await response.read()
        response.release()
        assert stalled.value.kind == "timeout"
        assert 0.3 <= loop.time() - started < 1.0
        assert not connections._waiting and not connections._idle  # the broken connections are gone
    finally:
        await connections.aclose()
        server.close()
        await server.wait_closed()
