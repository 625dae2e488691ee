"""Known credentials keep working while PostgreSQL is unreachable, within a bound, and revocations still win.

The clock is the cache module's (a fake here), so nothing waits; Redis is an in-memory stand-in.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from helixflow.runtime.common import credential_cache
from helixflow.runtime.common.authenticator import Authenticator
from helixflow.runtime.common.credential_cache import SharedRecords
from helixflow.runtime.common.directory import KeyRecord
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.invalidation import EPOCH_KEY
from helixflow.runtime.common.principal import Principal, TenantLimits
from helixflow.runtime.security.api_keys import generate_api_key
from helixflow.runtime.settings import RuntimeSettings

pytestmark = pytest.mark.unit

KEY = generate_api_key()
OTHER = generate_api_key()


class FakeClock:
    """Stands in for the ``time`` module in credential_cache: wall and monotonic move together."""

    def __init__(self) -> None:
        self.now = time.time()

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {EPOCH_KEY: b"1"}

    async def get(self, name: str) -> bytes | None:
        return self.data.get(name)

    async def set(self, name: str, value: bytes, ex: int | None = None) -> None:
        self.data[name] = value


class Directory:
    """Knows KEY (usable unless revoked); ``down`` makes every lookup fail like a stopped PostgreSQL."""

    def __init__(self) -> None:
        self.down = False
        self.revoked = False
        self.lookups = 0

    async def key_by_digest(self, digest: str) -> KeyRecord | None:
        self.lookups += 1
        if self.down:
            raise ConnectionRefusedError("connection refused")
        if digest != KEY.digest:
            return None
        principal = Principal(user_id="u1", tenant_id="t1", role="user", api_key_id="k1",
                              tenant_limits=TenantLimits(requests_per_minute=5), key_limits=TenantLimits())
        return KeyRecord(principal, None, usable=not self.revoked)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(credential_cache, "time", fake)
    return fake


def _authenticator(directory: Directory, redis: FakeRedis | None = None, epoch: list[bytes | None] | None = None,
                   fresh: float = 60, stale: float = 600) -> Authenticator:
    settings = RuntimeSettings(env="development", auth_cache_seconds=fresh, auth_cache_stale_seconds=stale)
    shared = None
    if redis is not None:
        seen = epoch if epoch is not None else [b"1"]
        shared = SharedRecords(redis, lambda: seen[0], stale)  # type: ignore[arg-type]
    return Authenticator(directory, None, settings, shared)  # type: ignore[arg-type]


async def _status(auth: Authenticator, key: str) -> int:
    try:
        await auth.authenticate(f"Bearer {key}")
    except ApiError as err:
        return err.status
    return 200


async def _settle() -> None:
    for _ in range(5):  # background refreshes and shared writes are tasks: let them run
        await asyncio.sleep(0)


def test_a_known_key_is_served_through_an_outage_for_the_stale_bound_and_no_longer(clock: FakeClock) -> None:
    directory = Directory()
    auth = _authenticator(directory, fresh=60, stale=600)

    async def scenario() -> None:
        assert await _status(auth, KEY.plaintext) == 200
        directory.down = True
        clock.now += 61  # past the fresh TTL: today's cache needed PostgreSQL here
        assert await _status(auth, KEY.plaintext) == 200
        await _settle()
        clock.now += 500
        assert await _status(auth, KEY.plaintext) == 200
        await _settle()
        clock.now += 40  # 601 s since PostgreSQL last confirmed the key: too old to trust
        assert await _status(auth, KEY.plaintext) == 503

    asyncio.run(scenario())


def test_a_never_seen_key_during_an_outage_gets_503_and_an_unknown_one_401_when_up(clock: FakeClock) -> None:
    directory = Directory()
    auth = _authenticator(directory)

    async def scenario() -> None:
        assert await _status(auth, OTHER.plaintext) == 401
        directory.down = True
        clock.now += 3  # the negative answer is kept 2 s and never served stale
        assert await _status(auth, OTHER.plaintext) == 503

    asyncio.run(scenario())


def test_an_outage_is_not_asked_again_on_every_request(clock: FakeClock) -> None:
    directory = Directory()
    auth = _authenticator(directory, fresh=1, stale=600)

    async def scenario() -> None:
        assert await _status(auth, KEY.plaintext) == 200
        directory.down = True
        clock.now += 2
        for _ in range(50):
            assert await _status(auth, KEY.plaintext) == 200
            await _settle()
        assert directory.lookups <= 3  # one refresh, then backed off (the clock does not move)
        directory.down = False
        clock.now += 10  # past the backoff: the next request's background refresh gets through
        assert await _status(auth, KEY.plaintext) == 200
        await _settle()
        directory.revoked = True
        clock.now += 2  # the refreshed record went stale again: a refresh sees the revocation
        await _status(auth, KEY.plaintext)
        await _settle()
        assert await _status(auth, KEY.plaintext) == 401

    asyncio.run(scenario())


def test_a_revocation_during_an_outage_is_not_undone_by_the_cache(clock: FakeClock) -> None:
    directory = Directory()
    redis = FakeRedis()
    auth = _authenticator(directory, redis)

    async def scenario() -> None:
        assert await _status(auth, KEY.plaintext) == 200
        await _settle()
        directory.down = True
        redis.data[EPOCH_KEY] = b"2"  # a revocation committed just before PostgreSQL went away
        auth.clear()  # what the epoch watcher does within 250 ms
        assert await _status(auth, KEY.plaintext) == 503  # neither tier serves what was read before it

    asyncio.run(scenario())


def test_a_process_started_during_an_outage_serves_known_keys_from_redis(clock: FakeClock) -> None:
    directory = Directory()
    redis = FakeRedis()
    first = _authenticator(directory, redis)

    async def scenario() -> None:
        assert await _status(first, KEY.plaintext) == 200
        await _settle()
        assert not any(KEY.plaintext in name or KEY.plaintext.encode() in value
                       for name, value in redis.data.items()), "the raw key must never be stored"
        directory.down = True
        clock.now += 120
        restarted = _authenticator(directory, redis, epoch=[None])  # its watcher has not read the epoch yet
        assert await _status(restarted, KEY.plaintext) == 200
        assert await _status(restarted, OTHER.plaintext) == 503
        clock.now += 500  # the shared copy is bounded like the local one
        assert await _status(_authenticator(directory, redis), KEY.plaintext) == 503

    asyncio.run(scenario())


def test_a_malformed_shared_record_is_a_miss_not_a_crash(clock: FakeClock) -> None:
    directory = Directory()
    redis = FakeRedis()

    async def scenario() -> None:
        assert await _status(_authenticator(directory, redis), KEY.plaintext) == 200
        await _settle()
        for name in [n for n in redis.data if n != EPOCH_KEY]:
            redis.data[name] = b'{"confirmed_at": 1e18, "record": {"role": 3}}'
        directory.down = True
        assert await _status(_authenticator(directory, redis), KEY.plaintext) == 503

    asyncio.run(scenario())
