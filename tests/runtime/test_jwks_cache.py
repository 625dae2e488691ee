"""The gateway keeps the last good JWKS through an auth-service outage, backs off, and shares it in Redis."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from helixflow.runtime.common.authenticator import JwksUnavailable
from helixflow.runtime.gateway import jwks as jwks_module
from helixflow.runtime.gateway.jwks import RemoteJwks
from tests.runtime.test_credential_cache import FakeClock, FakeRedis

pytestmark = pytest.mark.unit

JWK = {"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "k1"}


class AuthService:
    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"keys": [JWK]})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    from helixflow.runtime.common import credential_cache

    monkeypatch.setattr(jwks_module, "time", fake)
    monkeypatch.setattr(credential_cache, "time", fake)  # the backoff's clock
    return fake


def _jwks(service: AuthService, redis: FakeRedis | None = None) -> RemoteJwks:
    client = httpx.AsyncClient(transport=httpx.MockTransport(service.handler))
    return RemoteJwks(client, "http://auth/.well-known/jwks.json", ttl=300, stale_seconds=600,
                      redis=redis)  # type: ignore[arg-type]


def test_the_last_good_key_set_serves_through_an_outage_with_backoff(clock: FakeClock) -> None:
    service = AuthService()
    jwks = _jwks(service)

    async def scenario() -> None:
        assert await jwks.jwk("k1") == JWK
        service.down = True
        clock.now += 301  # past its TTL: served while refreshed, and the refresh fails
        for _ in range(20):
            assert await jwks.jwk("k1") == JWK
            await asyncio.sleep(0)
        assert service.calls <= 2, "every request asked the auth service again"
        with pytest.raises(JwksUnavailable):  # a rotation's new kid cannot be checked now: 503, not 401
            await jwks.jwk("k2")
        clock.now += 300  # 601 s since the auth service answered: too old to trust
        with pytest.raises(JwksUnavailable):
            await jwks.jwk("k1")

    asyncio.run(scenario())


def test_an_unknown_kid_is_401_while_the_auth_service_answers(clock: FakeClock) -> None:
    service = AuthService()
    jwks = _jwks(service)

    async def scenario() -> None:
        assert await jwks.jwk("nope") is None

    asyncio.run(scenario())


def test_a_gateway_started_during_an_auth_outage_takes_the_key_set_from_redis(clock: FakeClock) -> None:
    service = AuthService()
    redis = FakeRedis()

    async def scenario() -> None:
        assert await _jwks(service, redis).jwk("k1") == JWK
        service.down = True
        clock.now += 100
        assert await _jwks(service, redis).jwk("k1") == JWK
        clock.now += 600
        with pytest.raises(JwksUnavailable):
            await _jwks(service, redis).jwk("k1")

    asyncio.run(scenario())


def test_concurrent_first_requests_during_an_auth_outage_all_get_the_shared_key_set(clock: FakeClock) -> None:
    service = AuthService()
    redis = FakeRedis()

    class SlowRedis(FakeRedis):
        async def get(self, name: str) -> bytes | None:
            await asyncio.sleep(0)  # lets the other request overtake this one
            return await super().get(name)

    async def scenario() -> None:
        assert await _jwks(service, redis).jwk("k1") == JWK
        service.down = True
        slow = SlowRedis()
        slow.data = redis.data
        restarted = _jwks(service, slow)
        found = await asyncio.gather(*(restarted.jwk("k1") for _ in range(4)))
        assert found == [JWK] * 4

    asyncio.run(scenario())
