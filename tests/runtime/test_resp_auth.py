"""A refused Redis AUTH is not remembered as a working connection: every command connects again and says why
(never NOAUTH from a command sent on the refused connection).
Through the gateway's batcher on redis-py (the home-made RESP client this was first written for is retired)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from helixflow.runtime.gateway.batcher import RedisBatcher
from tests.support.redis import RedisServer


def test_a_refused_auth_is_not_kept_as_a_connection(redis_server: RedisServer) -> None:
    url = redis_server.url.replace(f":{redis_server.password}@", ":not-the-password@")

    async def scenario() -> list[str]:
        redis = Redis.from_url(url, socket_timeout=3)
        batcher = RedisBatcher(redis)
        errors = []
        try:
            for _ in range(3):
                with pytest.raises(RedisError) as refused:
                    await batcher.execute("PING")
                errors.append(str(refused.value))
        finally:
            await redis.aclose()
        return errors

    errors = asyncio.run(scenario())
    assert all("NOAUTH" not in e for e in errors), f"a command ran on the refused connection: {errors}"
