"""The gateway's pipelining Redis client against a real Redis: replies in order, group commit, lost connections."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from helixflow.runtime.gateway.resp import RespClient, pack
from tests.support.redis import RedisServer

pytestmark = pytest.mark.services


def _client(redis_server: RedisServer) -> RespClient:
    return RespClient(redis_server.url.rsplit("/", 1)[0] + "/9")


def _run(redis_server: RedisServer, scenario: Callable[[RespClient], Awaitable[None]]) -> None:
    """Runs ``scenario`` with a fresh client, closed afterwards."""

    async def main() -> None:
        client = _client(redis_server)
        try:
            await scenario(client)
        finally:
            client.close()

    asyncio.run(main())


def _count_writes(client: RespClient) -> list[int]:
    """Wraps the connection's transport so each write is counted (how many commands it carried)."""
    writes: list[int] = []
    transport: Any = client._transport
    write = transport.write

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(transport, name)

        def write(self, data: bytes) -> None:
            writes.append(data.count(b"\r\n*") + 1)
            write(data)

    client._transport = Counting()  # type: ignore[assignment]
    return writes


def test_concurrent_commands_get_their_own_replies(redis_server: RedisServer) -> None:
    async def scenario(client: RespClient) -> None:
        await client.execute("DEL", "resp:counter")
        values = await asyncio.gather(*(client.execute("INCR", "resp:counter") for _ in range(300)))
        assert sorted(values) == list(range(1, 301)) and values == sorted(values)
        echoes = await asyncio.gather(*(client.execute("ECHO", f"m{i}") for i in range(200)))
        assert echoes == [f"m{i}".encode() for i in range(200)]
        with pytest.raises(NoScriptError):
            await client.execute("EVALSHA", "0" * 40, 0)

    _run(redis_server, scenario)


def test_commands_queue_while_a_batch_is_in_flight(redis_server: RedisServer) -> None:
    """Commands sent in many loop iterations while a reply is outstanding go out together in one write."""

    async def scenario(client: RespClient) -> None:
        await client.execute("PING")
        writes = _count_writes(client)
        slow = client.submit("BLPOP", "resp:never", "0.2")  # a round trip that takes 0.2 s
        await asyncio.sleep(0.01)
        futures = []
        for i in range(50):  # one command per loop iteration
            futures.append(client.submit("ECHO", str(i)))
            await asyncio.sleep(0)
        assert writes == [1]  # all 50 wait for the outstanding reply
        replies = await asyncio.gather(slow, *futures)
        assert replies == [None] + [str(i).encode() for i in range(50)]
        assert writes == [1, 50]

    _run(redis_server, scenario)


def test_a_lost_connection_fails_its_commands_and_the_next_ones_get_the_right_replies(
        redis_server: RedisServer) -> None:
    async def scenario(client: RespClient) -> None:
        await client.execute("PING")
        in_flight = [client.submit("BLPOP", "resp:never", "5")]
        await asyncio.sleep(0.01)  # written; its reply is 5 s away
        queued = [client.submit("ECHO", f"queued{i}") for i in range(5)]  # waiting for the batch above
        assert client._transport is not None
        client._transport.abort()
        results = await asyncio.gather(*in_flight, *queued, return_exceptions=True)
        assert all(isinstance(r, RedisConnectionError) for r in results), results
        assert client._transport is None
        after = await asyncio.gather(*(client.execute("ECHO", f"after{i}") for i in range(5)))
        assert after == [f"after{i}".encode() for i in range(5)]

    _run(redis_server, scenario)


def test_several_packed_commands_get_the_last_reply_and_keep_the_order(redis_server: RedisServer) -> None:
    async def scenario(client: RespClient) -> None:
        await client.execute("DEL", "resp:multi", "resp:text")
        await client.execute("SET", "resp:text", "x")
        before = client.submit("ECHO", "before")
        # The middle command fails (not an integer): its error is dropped with its reply.
        packed = b"".join(pack(args) for args in (("INCRBY", "resp:multi", 2), ("INCR", "resp:text"),
                                                 ("INCRBY", "resp:multi", 3)))
        last = client.submit_packed(packed, 3)
        after = client.submit("ECHO", "after")
        assert await asyncio.gather(before, last, after) == [b"before", 5, b"after"]
        assert client._in_flight == 0 and not client._pending

    _run(redis_server, scenario)
