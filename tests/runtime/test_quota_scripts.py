"""The quota check script and the token counting against a real Redis through redis-py: which counters a
request and its tokens touch, their TTLs, and the per-key token limit (the
service-level tests cover the other limits through the gateway)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.principal import Principal, TenantLimits
from helixflow.runtime.gateway.batcher import RedisBatcher
from helixflow.runtime.gateway.quotas import WINDOW_TTL, Quotas, _too_old
from tests.support.clock import avoid_minute_boundary
from tests.support.redis import RedisServer

pytestmark = pytest.mark.services


def _principal(tenant: TenantLimits, key: TenantLimits = TenantLimits()) -> Principal:
    return Principal(user_id=str(uuid.uuid4()), tenant_id=str(uuid.uuid4()), role="user",
                     api_key_id=str(uuid.uuid4()), tenant_limits=tenant, key_limits=key)


async def _with_quotas(redis_server: RedisServer, check: object) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/8"
    redis = Redis.from_url(url)
    try:
        quotas = Quotas(RedisBatcher(redis))
        await quotas.load_scripts()
        await check(quotas, redis)  # type: ignore[operator]
    finally:
        await redis.aclose()


async def _consume(quotas: Quotas, principal: Principal, tokens: int) -> None:
    await quotas.consume(principal, tokens, time.time())


def test_tokens_go_to_the_tenant_counters_with_their_ttls(redis_server: RedisServer) -> None:
    avoid_minute_boundary()

    async def check(quotas: Quotas, redis: Redis) -> None:
        principal = _principal(TenantLimits(requests_per_minute=100, tokens_per_minute=1000,
                                            monthly_token_budget=10_000))
        headers = dict(await quotas.check(principal))
        assert headers[b"x-ratelimit-remaining-requests"] == b"99"
        await _consume(quotas, principal, 7)
        await _consume(quotas, principal, 5)
        names = quotas._prepare(principal, int(time.time() // 60)).names
        assert [await redis.get(name) for name in names] == [b"1", b"12", b"12", None, None]
        assert 0 < await redis.ttl(names[0]) <= WINDOW_TTL
        assert 0 < await redis.ttl(names[1]) <= WINDOW_TTL
        assert await redis.ttl(names[2]) > 86400  # the month's counter outlives the month by a day
        headers = dict(await quotas.check(principal))
        assert headers[b"x-ratelimit-remaining-tokens"] == b"988"

    asyncio.run(_with_quotas(redis_server, check))


def test_a_key_token_limit_counts_and_refuses_per_key(redis_server: RedisServer) -> None:
    avoid_minute_boundary()

    async def check(quotas: Quotas, redis: Redis) -> None:
        principal = _principal(TenantLimits(), TenantLimits(tokens_per_minute=10))
        await quotas.check(principal)
        await _consume(quotas, principal, 6)
        names = quotas._prepare(principal, int(time.time() // 60)).names
        assert await redis.get(names[4]) == b"6"
        assert 0 < await redis.ttl(names[4]) <= WINDOW_TTL
        await quotas.check(principal)
        await _consume(quotas, principal, 6)
        with pytest.raises(ApiError) as refused:
            await quotas.check(principal)
        assert refused.value.status == 429 and "key_tokens_per_minute" in refused.value.message
        assert await redis.get(names[0]) == b"2"  # the refused request was not counted

    asyncio.run(_with_quotas(redis_server, check))


def test_a_redis_older_than_7_is_reported() -> None:
    assert [_too_old(v) for v in ("6.2.14", "7.0.15", "7.4.1", "8.0.0", "")] == [True, False, False, False, False]


def test_a_reservation_must_fit_and_is_settled_to_what_was_used(redis_server: RedisServer) -> None:
    avoid_minute_boundary()

    async def check(quotas: Quotas, redis: Redis) -> None:
        principal = _principal(TenantLimits(tokens_per_minute=100, monthly_token_budget=1000),
                               TenantLimits(tokens_per_minute=80))
        _, first = await quotas.reserve(principal, 60)
        names = first.prepared.names
        assert [await redis.get(names[i]) for i in (1, 2, 4)] == [b"60", b"60", b"60"]
        with pytest.raises(ApiError) as refused:  # 60 held + 25 wanted: under the tenant's 100, over the key's 80
            await quotas.reserve(principal, 25)
        assert "key_tokens_per_minute" in refused.value.message
        assert await redis.get(names[0]) == b"1"  # the refused request was not counted
        await quotas.settle(first, 12)  # type: ignore[misc]
        assert [await redis.get(names[i]) for i in (1, 2, 4)] == [b"12", b"12", b"12"]
        headers, second = await quotas.reserve(principal, 50)
        assert dict(headers)[b"x-ratelimit-remaining-tokens"] == b"88"
        assert quotas.settle(second, 50) is None  # used what it reserved: nothing to send
        assert 0 < await redis.ttl(names[1]) <= WINDOW_TTL and await redis.ttl(names[2]) > 86400

    asyncio.run(_with_quotas(redis_server, check))
