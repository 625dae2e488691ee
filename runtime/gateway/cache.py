"""The response cache: an in-process LRU in front of Redis, for deterministic non-streamed requests.

Keys are per tenant and endpoint, over the canonical JSON of the request, so two
tenants never share an entry. ``Cache-Control: no-cache`` or ``x-helixflow-cache: bypass``
skips it for one request.
"""

from __future__ import annotations

import collections
import hashlib
import time
from typing import Any

import orjson
from redis.exceptions import RedisError

from helixflow.runtime.gateway.batcher import RedisBatcher


def cache_key(tenant_id: str, endpoint: str, body: dict[str, Any]) -> str:
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.sha256(canonical).hexdigest()
    return f"hf:cache:{{{tenant_id}}}:{endpoint}:{digest}"


class ResponseCache:
    """Never raises: a Redis failure is a miss."""

    def __init__(self, batcher: RedisBatcher, max_items: int, ttl_seconds: int) -> None:
        self.batcher, self.max_items, self.ttl = batcher, max_items, ttl_seconds
        self._local: collections.OrderedDict[str, tuple[float, bytes]] = collections.OrderedDict()

    async def get(self, key: str) -> bytes | None:
        now = time.monotonic()
        entry = self._local.get(key)
        if entry is not None:
            if entry[0] > now:
                self._local.move_to_end(key)
                return entry[1]
            del self._local[key]
        try:
            value = await self.batcher.execute("GET", key)
        except (RedisError, OSError):
            return None
        if value is None:
            return None
        self._remember(key, bytes(value), now)
        return bytes(value)

    def _remember(self, key: str, value: bytes, now: float) -> None:
        # Local copies live at most as long as the Redis entry could.
        self._local[key] = (now + min(self.ttl, 60), value)
        self._local.move_to_end(key)
        while len(self._local) > self.max_items:
            self._local.popitem(last=False)

    async def put(self, key: str, value: bytes) -> None:
        self._remember(key, value, time.monotonic())
        try:
            await self.batcher.execute("SET", key, value, "EX", self.ttl)
        except (RedisError, OSError):
            return
