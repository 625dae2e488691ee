"""Usage accounting: every request becomes one record on a Redis stream before its answer is sent, and
drainers move records in batches into the ``requests`` table.

At-least-once: a record is acknowledged on the stream only after its batch is
committed, and the insert ignores ids already present, so retries after a crash
or a PostgreSQL outage never duplicate rows. Records a dead gateway had read but
not committed are claimed by the survivors after ``usage_claim_idle_ms``.
A record PostgreSQL rejects as data (not as an outage) goes to a dead-letter stream
instead of blocking the ones behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

STREAM = "hf:usage"
DEAD_LETTERS = "hf:usage:dead"
GROUP = "drainers"
LINGER_S = 0.05
log = logging.getLogger("helixflow.usage")

# The records go to PostgreSQL as one JSON array, unpacked there: building typed column arrays in Python cost
# the gateway's CPU about 0.03 ms a record. Timestamps are epoch seconds, stored as UTC without a zone.
INSERT = """
INSERT INTO requests (id, user_id, tenant_id, api_key_id, client_request_id, model, endpoint, status, status_code,
    prompt_tokens, completion_tokens, tokens_used, latency_ms, cached, created_at, completed_at, error_message,
    messages, parameters, response, cost)
SELECT u.id, u.user_id, u.tenant_id, u.api_key_id, u.client_request_id, left(u.model, 100), u.endpoint, u.status,
    u.status_code, u.prompt_tokens, u.completion_tokens, u.prompt_tokens + u.completion_tokens, u.latency_ms,
    u.cached, to_timestamp(u.created_at) AT TIME ZONE 'UTC', to_timestamp(u.completed_at) AT TIME ZONE 'UTC',
    u.error_message, COALESCE(u.messages, '[]'::jsonb), COALESCE(u.parameters, '{}'::jsonb), u.response,
    CASE WHEN u.cached THEN 0 ELSE (u.prompt_tokens * COALESCE(p.prompt_per_million, 0)
        + u.completion_tokens * COALESCE(p.completion_per_million, 0)) / 1000000.0 END
FROM jsonb_to_recordset($1::jsonb)
    AS u(id uuid, user_id uuid, tenant_id uuid, api_key_id uuid, client_request_id text, model text, endpoint text,
         status text, status_code int, prompt_tokens int, completion_tokens int, latency_ms float8, cached bool,
         created_at float8, completed_at float8, error_message text, messages jsonb, parameters jsonb,
         response jsonb)
LEFT JOIN model_prices p ON p.model = u.model
ON CONFLICT (id) DO NOTHING
"""


@dataclass(slots=True)
class UsageRecord:
    id: str
    user_id: str | None
    tenant_id: str
    api_key_id: str | None
    client_request_id: str
    model: str
    endpoint: str
    status: str
    status_code: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool
    created_at: float
    completed_at: float
    error_message: str | None = None
    messages: Any = None
    parameters: Any = None
    response: Any = None

    def encode(self) -> bytes:
        return orjson.dumps(self)  # orjson writes slotted dataclasses natively


async def insert_records(pool: asyncpg.Pool, records: list[bytes]) -> None:
    """Inserts encoded records (``UsageRecord.encode``); idempotent. Raises asyncpg/OSError errors."""
    await pool.execute(INSERT, (b"[" + b",".join(records) + b"]").decode())


_OUTAGE = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError,
           asyncpg.ConnectionDoesNotExistError, asyncpg.PostgresConnectionError, asyncpg.AdminShutdownError)


class UsageDrainer:
    """Moves stream records into PostgreSQL until stopped; survives Redis and PostgreSQL outages."""

    def __init__(self, redis: Redis, pool: asyncpg.Pool, consumer: str, batch_size: int = 500,
                 claim_idle_ms: int = 15000) -> None:
        self.redis, self.pool, self.consumer = redis, pool, consumer
        self.batch_size, self.claim_idle_ms = batch_size, claim_idle_ms
        self._task: asyncio.Task[None] | None = None
        # Records this consumer read but did not commit exist only after a failure (or a restart under the
        # same name); dead consumers' records need claiming only once idle for claim_idle_ms. Checking both
        # on every batch cost two extra Redis round trips per batch, i.e. per request at low rates.
        self._check_own = True
        self._claim_interval = max(0.1, claim_idle_ms / 2000)
        self._next_claim = 0.0

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as err:
            if "BUSYGROUP" not in str(err):
                raise

    async def _read(self, block_ms: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        # First what this consumer read but did not commit, then what dead consumers left, then new records.
        if self._check_own:
            own: Any = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: "0"}, count=self.batch_size)
            entries = own[0][1] if own else []
            if entries:
                return list(entries)
            self._check_own = False
        now = asyncio.get_running_loop().time()
        if now >= self._next_claim:
            claimed: Any = await self.redis.xautoclaim(STREAM, GROUP, self.consumer, self.claim_idle_ms, "0-0",
                                                  count=self.batch_size)
            if claimed and claimed[1]:
                return [e for e in claimed[1] if e[1]]  # claim again next time: there may be more
            self._next_claim = now + self._claim_interval
        block_ms = min(block_ms, max(1, int(self._claim_interval * 1000)))
        new: Any = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=self.batch_size,
                                          block=block_ms)
        return list(new[0][1]) if new else []

    async def drain_once(self, block_ms: int = 1000) -> int:
        """Moves one batch; returns how many records. Raises on Redis or PostgreSQL outages."""
        try:
            return await self._drain(block_ms)
        except BaseException:
            self._check_own = True  # what was read and not acknowledged is this consumer's to retry
            raise

    async def _drain(self, block_ms: int) -> int:
        entries = await self._read(block_ms)
        if not entries:
            return 0
        ids = [entry_id for entry_id, _ in entries]
        records = [fields[b"d"] for _, fields in entries if fields and b"d" in fields]
        try:
            await insert_records(self.pool, records)
        except _OUTAGE:
            raise
        except asyncpg.PostgresError:
            await self._insert_one_by_one(entries)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xack(STREAM, GROUP, *ids)
            pipe.xdel(STREAM, *ids)
            await pipe.execute()
        return len(ids)

    async def _insert_one_by_one(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        for _, fields in entries:
            if not fields:
                continue
            try:
                await insert_records(self.pool, [fields[b"d"]])
            except _OUTAGE:
                raise
            except (asyncpg.PostgresError, KeyError, UnicodeDecodeError) as err:
                log.error("usage record rejected, moved to %s: %s", DEAD_LETTERS, type(err).__name__)
                await self.redis.xadd(DEAD_LETTERS, {b"d": fields.get(b"d", b""), b"error": str(err)[:500]})

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self.ensure_group()
                while True:
                    moved = await self.drain_once()
                    backoff = 0.2
                    if 0 < moved < self.batch_size:
                        # Let records gather: one batch per LINGER_S instead of one per request or two cost
                        # ~0.4 ms of this process's CPU each (reads, insert, ack). Rows land <= LINGER_S later;
                        # the records are safe on the stream meanwhile.
                        await asyncio.sleep(LINGER_S)
            except asyncio.CancelledError:
                raise
            except (RedisError, *_OUTAGE, asyncpg.PostgresError) as err:
                log.warning("usage drain paused (%s), retrying in %.1fs", type(err).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-drainer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
