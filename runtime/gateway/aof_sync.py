"""What an acknowledged usage record can lose, and the option that closes it.

A record is acknowledged (the answer goes out) once Redis has it in memory. With the AOF on and
``appendfsync everysec`` (the local stack's and the chart's default) a Redis crash, or a machine losing power,
can lose the last second of records; a failover to a replica loses what had not reached it. Two ways to close it:

- ``appendfsync always`` on Redis: every write is fsynced before its reply (Redis groups the writes of one event
  loop pass into one fsync). Measured in bench/gateway_bench.py beside everysec.
- ``HELIXFLOW_USAGE_WAITAOF_MS`` > 0 (Redis 7.2+ or Valkey): each settled record is followed, on the same
  connection, by ``WAITAOF 1 0 <ms>``, so the answer waits until the record is on disk (or the timeout passes:
  then it goes out anyway, counted in ``AofSync.unsynced``). A Redis without WAITAOF, or without
  the AOF, answers an error once; the gateway logs it and stops asking.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import ResponseError

log = logging.getLogger("helixflow.usage")


class AofSync:
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self.enabled = timeout_ms > 0
        self.unsynced = 0  # records answered before Redis confirmed their fsync

    def submit(self, batcher: Any) -> asyncio.Future[Any] | None:
        """Queues WAITAOF right after the record's XADD (the same round trip); None when off."""
        if not self.enabled:
            return None
        future: asyncio.Future[Any] = batcher.submit("WAITAOF", "1", "0", str(self.timeout_ms))
        return future

    async def wait(self, future: asyncio.Future[Any] | None) -> bool:
        """Whether the record is on disk. Never raises: a lost confirmation must not fail the request."""
        if future is None:
            return False
        try:
            reply = await future
        except ResponseError as err:
            self.enabled = False
            log.error("WAITAOF refused (%s): usage records are acknowledged before their fsync; use Redis 7.2+ "
                      "with appendonly yes, or unset HELIXFLOW_USAGE_WAITAOF_MS", str(err)[:120])
            return False
        except Exception:  # Redis failing here is handled by the record's own write
            return False
        synced = isinstance(reply, list | tuple) and bool(reply) and int(reply[0]) >= 1
        if not synced:
            self.unsynced += 1
        return synced
