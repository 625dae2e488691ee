"""The auth service's JWKS as the gateway sees it: the last good key set, kept through an auth outage.

Fresh for ``jwks_cache_seconds``; after that served while one background fetch refreshes it. A ``kid`` not in
the set (a rotation) fetches at once, at most every JWKS_MISS_INTERVAL. Fetches that fail back off, and the
last good set keeps serving for up to ``auth_cache_stale_seconds`` since it was fetched. Each good set is also
stored in Redis (public keys only), so a gateway that starts while the auth service is down can verify tokens.
An unknown ``kid`` while the auth service cannot be asked raises JwksUnavailable (503), not a 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from helixflow.runtime.common.authenticator import JwksUnavailable
from helixflow.runtime.common.credential_cache import Backoff

JWKS_MISS_INTERVAL = 2.0
SHARED_KEY = "hf:auth:jwks"
log = logging.getLogger("helixflow.jwks")


def _keys_by_kid(keys: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(keys, list):
        return None
    return {k["kid"]: k for k in keys if isinstance(k, dict) and isinstance(k.get("kid"), str)}


class RemoteJwks:
    """``jwk`` returns the key, None for a kid the auth service does not publish, or raises JwksUnavailable."""

    def __init__(self, client: httpx.AsyncClient, url: str, ttl: float, stale_seconds: float | None = None,
                 redis: Redis | None = None) -> None:
        self.client, self.url, self.ttl, self.redis = client, url, ttl, redis
        self.stale_seconds = max(ttl, stale_seconds if stale_seconds is not None else ttl)
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = -float("inf")  # when the auth service last answered (wall clock: shared in Redis)
        self._last_attempt = -float("inf")
        self._backoff = Backoff(first=0.5, limit=10.0)
        self._lock = asyncio.Lock()
        self._refreshing: asyncio.Task[bool] | None = None

    async def jwk(self, kid: str) -> dict[str, Any] | None:
        now = time.time()
        if now >= self._fetched_at + self.stale_seconds:
            self._keys = {}  # too old to trust
        if kid in self._keys:
            if now >= self._fetched_at + self.ttl:
                self._refresh_in_background()
            return self._keys[kid]
        fetched = await self._fetch()
        if kid in self._keys:
            return self._keys[kid]
        if not fetched and not await self._from_shared(kid):
            raise JwksUnavailable(kid)
        return self._keys.get(kid)

    def _refresh_in_background(self) -> None:
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.get_running_loop().create_task(self._fetch())

    async def _fetch(self) -> bool:
        """Whether the set is one the auth service gave within the miss interval (fetched now or just before)."""
        async with self._lock:
            now = time.time()
            if now - self._last_attempt < JWKS_MISS_INTERVAL:
                return self._fetched_at >= self._last_attempt
            if not self._backoff.ready():
                return False
            self._last_attempt = now
            try:
                response = await self.client.get(self.url, timeout=3.0)
                keys = _keys_by_kid(response.json().get("keys")) if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError, AttributeError):
                keys = None
            if keys is None:
                self._backoff.failed()
                log.warning("could not fetch the JWKS from %s: serving the last good key set", self.url)
                return False
            self._backoff.succeeded()
            self._keys, self._fetched_at = keys, now
            await self._share(keys, now)
            return True

    async def _share(self, keys: dict[str, dict[str, Any]], fetched_at: float) -> None:
        if self.redis is None:
            return
        try:
            await self.redis.set(SHARED_KEY, orjson.dumps({"fetched_at": fetched_at, "keys": list(keys.values())}),
                                 ex=max(1, int(self.stale_seconds)))
        except (RedisError, OSError) as err:
            log.warning("could not share the JWKS in Redis: %s", type(err).__name__)

    async def _from_shared(self, kid: str) -> bool:
        """Takes the set another process stored, if it is younger than the stale bound and has ``kid``."""
        if self.redis is None:
            return False
        try:
            raw = await self.redis.get(SHARED_KEY)
            data = orjson.loads(raw) if raw is not None else None
            fetched_at = float(data["fetched_at"]) if isinstance(data, dict) else None
            keys = _keys_by_kid(data.get("keys")) if isinstance(data, dict) else None
        except (RedisError, OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return False
        # Newer than what this process holds (a concurrent request may have taken the same set meanwhile).
        if keys is not None and fetched_at is not None and fetched_at > self._fetched_at \
                and time.time() < fetched_at + self.stale_seconds:
            self._keys, self._fetched_at = keys, fetched_at
        return kid in self._keys
