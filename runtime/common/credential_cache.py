"""Directory records (API keys, users with their tenants) cached so that a PostgreSQL outage is not an API outage.

Two tiers:

- In each process, stale-while-revalidate: a record is *fresh* for ``auth_cache_seconds`` after PostgreSQL last
  confirmed it; after that it is served at once while one background lookup refreshes it, for at most
  ``auth_cache_stale_seconds`` since that confirmation (the bound on how old an answer may be). While PostgreSQL
  fails, lookups back off (``Backoff``), so an outage costs no request a connection attempt.
- In Redis, the last good value of each record, for a process that starts during an outage (or a record this
  process never saw): ``hf:auth:cache:<epoch>:<kind>:<id>`` with the fields the gateway needs, written after
  each PostgreSQL lookup, expiring ``auth_cache_stale_seconds`` after it. ``<id>`` is the key's SHA-256 digest
  (never the key), a key id or a user id. Read only when PostgreSQL cannot answer.

Revocation: every change that can withdraw access bumps the auth epoch (``invalidation``). Each process drops
its records within 250 ms of the bump, and the shared records live under the epoch they were read in, so a bump
also leaves every shared record behind: nothing cached before a revocation is served after it, from either tier.
A lookup's answer is kept only if no bump came while it was in flight (``_generation``), and it is shared
under the epoch seen *before* the lookup started, so a stale answer cannot land under a newer epoch.

Negative answers (no such key) are kept ``NEGATIVE_TTL`` seconds and never served stale or shared: a key never
seen while PostgreSQL is down gets ``DirectoryUnavailable`` (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from helixflow.runtime.common.invalidation import EPOCH_KEY

T = TypeVar("T")
NEGATIVE_TTL = 2.0
MAX_ENTRIES = 100_000
SHARED_PREFIX = "hf:auth:cache:"
# What a directory that cannot answer raises (a closed port, a timeout, a server shutting down, a dropped
# connection): PostgresError covers every server-side error, InterfaceError and InternalClientError the
# client's connection state (asyncpg raises the latter when a pooled connection broke mid-reset).
DIRECTORY_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
                    asyncpg.InternalClientError)
log = logging.getLogger("helixflow.credential_cache")


class DirectoryUnavailable(Exception):
    """PostgreSQL cannot answer and no usable copy of the record is cached."""


class Codec(Protocol[T]):
    def encode(self, value: T) -> dict[str, Any]: ...

    def decode(self, data: dict[str, Any]) -> T: ...


class Backoff:
    """After a failed lookup, the next one waits ``first`` seconds, doubling up to ``limit``; a success resets."""

    def __init__(self, first: float = 0.25, limit: float = 5.0) -> None:
        self.first, self.limit = first, limit
        self._delay = first
        self._until = 0.0

    def ready(self) -> bool:
        return time.monotonic() >= self._until

    def failed(self) -> None:
        self._until = time.monotonic() + self._delay
        self._delay = min(self._delay * 2, self.limit)

    def succeeded(self) -> None:
        self._delay, self._until = self.first, 0.0


@dataclass(frozen=True, slots=True)
class CachePolicy:
    fresh_seconds: float
    stale_seconds: float  # since the last confirmation by PostgreSQL; >= fresh_seconds


@dataclass(slots=True)
class _Entry(Generic[T]):
    value: T | None
    confirmed_at: float  # wall clock: shared entries carry it between processes
    fresh_until: float
    stale_until: float


class SharedRecords:
    """The Redis tier. Its failures are logged and treated as misses: it is a fallback, never a dependency."""

    def __init__(self, redis: Redis, epoch_seen: Callable[[], bytes | str | None], ttl_seconds: float) -> None:
        self.redis, self.epoch_seen, self.ttl = redis, epoch_seen, max(1, int(ttl_seconds))
        self._writes: set[asyncio.Task[None]] = set()

    def put(self, epoch: bytes | str | None, kind: str, key: str, data: dict[str, Any], confirmed_at: float) -> None:
        """Stores in the background (a slow Redis must not slow the request that looked the record up)."""
        if epoch is None:
            return  # no epoch known yet: a record shared under a guessed one could outlive a revocation
        task = asyncio.get_running_loop().create_task(self._put(_name(epoch, kind, key), data, confirmed_at))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _put(self, name: str, data: dict[str, Any], confirmed_at: float) -> None:
        try:
            await self.redis.set(name, orjson.dumps({"confirmed_at": confirmed_at, "record": data}), ex=self.ttl)
        except (RedisError, OSError) as err:
            log.warning("could not share a directory record in Redis: %s", type(err).__name__)

    async def get(self, kind: str, key: str) -> tuple[float, dict[str, Any]] | None:
        """(confirmed_at, record) under the current epoch (read from Redis, not the poller's copy), or None."""
        try:
            epoch = await self.redis.get(EPOCH_KEY)
            raw = await self.redis.get(_name(epoch if epoch is not None else b"", kind, key))
        except (RedisError, OSError) as err:
            log.warning("could not read a shared directory record: %s", type(err).__name__)
            return None
        if raw is None:
            return None
        try:
            entry = orjson.loads(raw)
            return float(entry["confirmed_at"]), dict(entry["record"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None  # not ours, or from an incompatible version: a miss

    def epoch(self) -> bytes | str | None:
        return self.epoch_seen()


def _name(epoch: bytes | str, kind: str, key: str) -> str:
    text = epoch.decode() if isinstance(epoch, bytes) else epoch
    return f"{SHARED_PREFIX}{text or '0'}:{kind}:{key}"


class CachedLookup(Generic[T]):
    """One kind of record, e.g. API keys by digest. ``get`` raises DirectoryUnavailable (nothing else)."""

    def __init__(self, kind: str, lookup: Callable[[str], Awaitable[T | None]], policy: CachePolicy,
                 backoff: Backoff, codec: Codec[T] | None = None, shared: SharedRecords | None = None) -> None:
        self.kind, self.lookup, self.policy, self.backoff = kind, lookup, policy, backoff
        self.codec, self.shared = codec, shared
        self._entries: dict[str, _Entry[T]] = {}
        self._generation = 0  # moves on every clear(): answers to lookups started before it are not kept
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1

    async def get(self, key: str) -> T | None:
        now = time.time()
        entry = self._entries.get(key)
        if entry is not None:
            if entry.fresh_until > now:
                return entry.value
            if entry.value is not None and entry.stale_until > now:
                self._refresh_in_background(key)
                return entry.value
        return await self._fetch(key)

    def _refresh_in_background(self, key: str) -> None:
        if key in self._refreshing or not self.backoff.ready():
            return
        task = asyncio.get_running_loop().create_task(self._refresh(key))
        self._refreshing[key] = task
        task.add_done_callback(lambda _: self._refreshing.pop(key, None))

    async def _refresh(self, key: str) -> None:
        # Logged and backed off in _from_directory; the stale value keeps serving.
        with contextlib.suppress(*DIRECTORY_ERRORS):
            await self._from_directory(key)

    async def _fetch(self, key: str) -> T | None:
        if self.backoff.ready():
            try:
                return await self._from_directory(key)
            except DIRECTORY_ERRORS:
                pass
        found = await self._from_shared(key)
        if found is None:
            raise DirectoryUnavailable(self.kind)
        return found

    async def _from_directory(self, key: str) -> T | None:
        generation = self._generation
        epoch = self.shared.epoch() if self.shared is not None else None
        try:
            value = await self.lookup(key)
        except DIRECTORY_ERRORS as err:
            if self.backoff.ready():
                log.warning("directory lookup failed (%s): serving cached records", type(err).__name__)
            self.backoff.failed()
            raise
        self.backoff.succeeded()
        now = time.time()
        if generation == self._generation:
            self._store(key, value, now)
            if value is not None and self.shared is not None and self.codec is not None:
                self.shared.put(epoch, self.kind, key, self.codec.encode(value), now)
        return value

    async def _from_shared(self, key: str) -> T | None:
        if self.shared is None or self.codec is None:
            return None
        generation = self._generation
        found = await self.shared.get(self.kind, key)
        if found is None:
            return None
        confirmed_at, data = found
        if confirmed_at + self.policy.stale_seconds <= time.time():
            return None
        try:
            value = self.codec.decode(data)
        except (KeyError, TypeError, ValueError):
            return None
        if generation == self._generation:
            self._store(key, value, confirmed_at)
        return value

    def _store(self, key: str, value: T | None, confirmed_at: float) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        if value is None:
            self._entries[key] = _Entry(None, confirmed_at, confirmed_at + NEGATIVE_TTL, 0.0)
        else:
            self._entries[key] = _Entry(value, confirmed_at, confirmed_at + self.policy.fresh_seconds,
                                        confirmed_at + self.policy.stale_seconds)
