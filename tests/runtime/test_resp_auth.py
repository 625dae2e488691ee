"""A refused Redis AUTH is not remembered as a working connection: every command says why, and the client
connects again (so a fixed password, or a Redis back from a restart, works without restarting the gateway)."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ResponseError

from helixflow.runtime.gateway.resp import RespClient
from tests.support.redis import RedisServer


def test_a_refused_auth_is_not_kept_as_a_connection(redis_server: RedisServer) -> None:
    url = redis_server.url.replace(f":{redis_server.password}@", ":not-the-password@")

    async def scenario() -> list[str]:
        client = RespClient(url)
        errors = []
        try:
            for _ in range(3):
                with pytest.raises(ResponseError) as refused:
                    await client.execute("PING")
                errors.append(str(refused.value))
            client.password = redis_server.password  # the secret fixed: the next command connects again
            assert await client.execute("PING") in (b"PONG", "PONG")
        finally:
            client.close()
        return errors

    errors = asyncio.run(scenario())
    assert all("NOAUTH" not in e for e in errors), f"a command ran on the refused connection: {errors}"
