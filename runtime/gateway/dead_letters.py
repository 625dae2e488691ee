"""Usage records on the dead-letter stream (``hf:usage:dead``): listed, and replayed once their cause is fixed.

Replaying is idempotent: a record is inserted under its own id (``ON CONFLICT (id)`` leaves a settled row as
it is), so a record replayed twice, or one whose row already landed, bills once. An entry is removed from the
stream only after its row is committed; one refused again stays, with the reason reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from redis.asyncio import Redis

from helixflow.runtime.gateway.usage import DEAD_LETTERS, insert_or_repair

BATCH = 100


@dataclass
class ReplayResult:
    replayed: int = 0
    still_rejected: int = 0
    remaining: int = 0
    errors: list[str] = field(default_factory=list)  # the first few reasons, for the operator


async def count(redis: Redis) -> int:
    return int(await redis.xlen(DEAD_LETTERS))


async def sample(redis: Redis, limit: int = 5) -> list[dict[str, Any]]:
    """The oldest entries' ids and errors (not their records: they may hold a tenant's content)."""
    entries: Any = await redis.xrange(DEAD_LETTERS, count=limit)
    return [{"id": _text(entry_id), "error": _text(fields.get(b"error", b""))} for entry_id, fields in entries]


async def replay(redis: Redis, db: asyncpg.Pool) -> ReplayResult:
    """Replays every dead letter. Raises (asyncpg, OSError, RedisError) on an outage; what was replayed stays."""
    result = ReplayResult()
    start = "-"
    while True:
        entries: Any = await redis.xrange(DEAD_LETTERS, min=start, count=BATCH)
        if not entries:
            break
        for entry_id, fields in entries:
            record = (fields or {}).get(b"d", b"")
            rejected = await insert_or_repair(db, bytes(record)) if record else "the entry has no record"
            if rejected is None:
                await redis.xdel(DEAD_LETTERS, entry_id)
                result.replayed += 1
            else:
                result.still_rejected += 1
                if len(result.errors) < 5:
                    result.errors.append(rejected[:300])
        start = "(" + _text(entries[-1][0])
    result.remaining = await count(redis)
    return result


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
