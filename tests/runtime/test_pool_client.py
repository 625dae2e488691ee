"""The gateway's pool client (aiohttp): error kinds, timeouts, keep-alive reuse, and a connection dropped when
its response was not read to the end. In-process servers only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from helixflow.runtime.gateway.upstream import UpstreamError
from helixflow.runtime.gateway.upstream_aiohttp import AiohttpUpstream
from tests.support.processes import free_port

pytestmark = pytest.mark.unit

CHUNKED = (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n")
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serving(handler: Handler, scenario: Callable[[str], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        await scenario(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
    finally:
        server.close()


def test_an_unreachable_pool_is_unavailable() -> None:
    async def scenario() -> None:
        client = AiohttpUpstream(f"http://127.0.0.1:{free_port()}")
        try:
            with pytest.raises(UpstreamError) as caught:
                await client.request("GET", "/v1/models")
            assert caught.value.kind == "unavailable"
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_a_silent_pool_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    async def scenario(url: str) -> None:
        client = AiohttpUpstream(url, read_timeout=0.3)
        try:
            with pytest.raises(UpstreamError) as caught:
                await client.request("POST", "/v1/chat/completions", b"{}")
            assert caught.value.kind == "timeout"
        finally:
            await client.aclose()

    asyncio.run(_serving(silent, scenario))


def test_connections_are_kept_alive_and_one_released_early_is_dropped() -> None:
    connections = 0

    async def streams(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(CHUNKED)  # the rest a moment later, as a stream's events come
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b"5\r\nworld\r\n0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def scenario(url: str) -> None:
        client = AiohttpUpstream(url, api_key="pool-secret")
        try:
            for _ in range(3):
                response = await client.request("GET", "/v1/models")
                assert [chunk async for chunk in response.chunks()] != [] and response.status == 200
                response.release()
            assert connections == 1
            response = await client.request("GET", "/v1/models")
            assert response.header(b"content-type") == b"text/event-stream"
            response.release()  # before its end: the connection may hold the rest, so it is not reused
            body = await (await client.request("GET", "/v1/models")).read()
            assert body == b"helloworld" and connections == 2
        finally:
            await client.aclose()

    asyncio.run(_serving(streams, scenario))


def test_the_pool_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        AiohttpUpstream("ftp://pool")


def test_what_a_pool_sent_before_breaking_off_is_handed_out_before_the_error() -> None:
    async def breaks_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(CHUNKED)
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"5\r\nworld\r\n")  # then the connection drops, the stream unfinished
        await writer.drain()
        writer.transport.abort()

    async def scenario(url: str) -> None:
        client = AiohttpUpstream(url)
        received: list[bytes] = []
        try:
            response = await client.request("POST", "/v1/chat/completions", b"{}")
            with pytest.raises(UpstreamError):
                async for chunk in response.chunks():
                    received.append(chunk)
            response.release()
        finally:
            await client.aclose()
        assert b"".join(received) == b"helloworld"

    asyncio.run(_serving(breaks_off, scenario))
