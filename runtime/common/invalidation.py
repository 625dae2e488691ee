"""Cache invalidation across processes: an epoch counter in Redis, bumped on every key or tenant change.

Each process polls it every 250 ms (one GET) and clears its caches when it moves,
so a revocation reaches every gateway worker within a second even if a pub/sub
message would have been missed. If Redis cannot be read, caches are cleared too
(fail closed: the next lookup goes to PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

EPOCH_KEY = "helixflow:auth:epoch"
POLL_SECONDS = 0.25
log = logging.getLogger("helixflow.invalidation")


async def bump_epoch(redis: Redis) -> None:
    """Call after revoking a key or changing a tenant, user or key.

    A Redis failure is only logged: watchers that cannot read the epoch clear their caches anyway.
    """
    try:
        await redis.incr(EPOCH_KEY)
    except (RedisError, OSError) as err:
        log.warning("could not bump the auth epoch: %s", type(err).__name__)


class EpochWatcher:
    """Runs ``on_change`` whenever the epoch moves (or cannot be read)."""

    def __init__(self, redis: Redis, on_change: Callable[[], None]) -> None:
        self.redis, self.on_change = redis, on_change
        self._seen: bytes | str | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def epoch(self) -> bytes | str | None:
        """The epoch last read (None before the first read and after a failed one)."""
        return self._seen

    async def check(self) -> None:
        try:
            value = await self.redis.get(EPOCH_KEY)
        except (RedisError, OSError):
            self._seen = None
            self.on_change()
            return
        if value != self._seen:
            self._seen = value
            self.on_change()

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(POLL_SECONDS)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="epoch-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
