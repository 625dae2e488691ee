"""Usage accounting: every request becomes one record on a Redis stream before its answer is sent, and
drainers move records in batches into the ``requests`` table.

At-least-once: a record is acknowledged on the stream only after its batch is
committed, and the insert ignores ids already settled, so retries after a crash
or a PostgreSQL outage never duplicate rows (a stream's ``pending`` row is updated
by its later records). Records a dead gateway had read but
not committed are claimed by the survivors after ``usage_claim_idle_ms``.
A record PostgreSQL rejects for its data (SQLSTATE classes 22 and 23 only, ``usage_repair``) is stored
again without its content, so its billing row lands; only a record refused even so goes to the dead-letter
stream (replayed by ``dead_letters.replay``). Every other error is an outage: the batch waits and is retried.
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
from redis.exceptions import ResponseError

from helixflow.runtime.gateway.resp import RespClient
from helixflow.runtime.gateway.usage_repair import is_data_error, strip_nul, without_content

STREAM = "hf:usage"
DEAD_LETTERS = "hf:usage:dead"
GROUP = "drainers"
LINGER_S = 0.05
log = logging.getLogger("helixflow.usage")

# The records go to PostgreSQL as one JSON array, unpacked there: building typed column arrays in Python cost
# the gateway's CPU about 0.03 ms a record. Timestamps are epoch seconds, stored as UTC without a zone.
# A stream writes ``pending`` records (at its start and at checkpoints) and then its settled one, all under one id,
# and drainers may deliver them in any order or in one batch: the settled record wins over pending ones, and
# among pending ones the latest; a settled row is never changed again (retries stay no-ops).
# Nothing a record carries can overflow a column: token counts are read as bigint and clamped to the int columns,
# strings cut to their column's size, and the cost clamped to numeric(20, 6) (migration 0002).
INSERT = """
INSERT INTO requests (id, user_id, tenant_id, api_key_id, client_request_id, model, endpoint, status, status_code,
    prompt_tokens, completion_tokens, tokens_used, latency_ms, cached, created_at, completed_at, error_message,
    messages, parameters, response, cost)
SELECT DISTINCT ON (u.id) u.id, u.user_id, u.tenant_id, u.api_key_id, left(u.client_request_id, 128),
    left(u.model, 100), left(u.endpoint, 64), left(u.status, 50), LEAST(GREATEST(u.status_code, 0), 2147483647),
    LEAST(GREATEST(u.prompt_tokens, 0), 2147483647), LEAST(GREATEST(u.completion_tokens, 0), 2147483647),
    LEAST(GREATEST(u.prompt_tokens, 0) + GREATEST(u.completion_tokens, 0), 2147483647),
    u.latency_ms, u.cached, to_timestamp(u.created_at) AT TIME ZONE 'UTC',
    to_timestamp(u.completed_at) AT TIME ZONE 'UTC', u.error_message, COALESCE(u.messages, '[]'::jsonb),
    COALESCE(u.parameters, '{}'::jsonb), u.response,
    CASE WHEN u.cached THEN 0 ELSE LEAST((GREATEST(u.prompt_tokens, 0)::numeric * COALESCE(p.prompt_per_million, 0)
        + GREATEST(u.completion_tokens, 0)::numeric * COALESCE(p.completion_per_million, 0)) / 1000000.0,
        99999999999999.999999) END
FROM jsonb_to_recordset($1::jsonb)
    AS u(id uuid, user_id uuid, tenant_id uuid, api_key_id uuid, client_request_id text, model text, endpoint text,
         status text, status_code bigint, prompt_tokens bigint, completion_tokens bigint, latency_ms float8,
         cached bool, created_at float8, completed_at float8, error_message text, messages jsonb, parameters jsonb,
         response jsonb)
LEFT JOIN model_prices p ON p.model = u.model
ORDER BY u.id, u.status = 'pending', u.completed_at DESC
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_code = EXCLUDED.status_code,
    prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens,
    tokens_used = EXCLUDED.tokens_used, latency_ms = EXCLUDED.latency_ms, completed_at = EXCLUDED.completed_at,
    error_message = EXCLUDED.error_message, messages = EXCLUDED.messages, parameters = EXCLUDED.parameters,
    response = EXCLUDED.response, cost = EXCLUDED.cost
WHERE requests.status = 'pending'
    AND (EXCLUDED.status <> 'pending' OR EXCLUDED.completed_at > requests.completed_at)
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


async def insert_records(db: asyncpg.Pool, records: list[bytes]) -> None:
    """Inserts encoded records (``UsageRecord.encode``), NULs stripped; idempotent.

    Raises asyncpg errors, OSError, and UnicodeDecodeError for a record that is not UTF-8 (``is_data_error``).
    """
    await db.execute(INSERT, strip_nul(b"[" + b",".join(records) + b"]").decode())


async def insert_or_repair(db: asyncpg.Pool, record: bytes) -> str | None:
    """Inserts one record; if PostgreSQL rejects its data, the record without its content (the billing row
    lands). Returns None when a row landed, else why not (then dead-letter it). Raises on an outage."""
    try:
        await insert_records(db, [record])
        return None
    except Exception as err:
        if not is_data_error(err):
            raise
        reason, code = f"{type(err).__name__}: {err}", getattr(err, "sqlstate", None) or type(err).__name__
    try:
        await insert_records(db, [without_content(record, code)])
        log.warning("usage record stored without its content: %s", reason.split(":", 1)[0])
        return None
    except ValueError as again:  # not JSON at all (UnicodeDecodeError is a ValueError too)
        return f"{reason}; {again}"
    except asyncpg.PostgresError as again:
        if not is_data_error(again):
            raise
        return f"{reason}; without its content: {type(again).__name__}: {again}"


Entry = tuple[bytes, bytes | None]  # a stream entry's id and its record (None: deleted; b"": no record field)


def _entries(stream_entries: Any) -> list[Entry]:
    """Entries as RESP gives them (``[id, [field, value, ...]]``) or as redis-py parses them (``(id, dict)``)."""
    found: list[Entry] = []
    for entry_id, fields in stream_entries or ():
        if isinstance(fields, dict) and fields:
            found.append((entry_id, fields.get(b"d", b"")))
        elif fields:
            found.append((entry_id, next((fields[i + 1] for i in range(0, len(fields) - 1, 2)
                                          if fields[i] == b"d"), b"")))
        else:
            found.append((entry_id, None))
    return found


class UsageDrainer:
    """Moves stream records into PostgreSQL until stopped; survives Redis and PostgreSQL outages.

    With ``resp`` (a RespClient of its own: reads block on it) the batch's reads and acks go through the
    lean client: redis-py's parsing and packing of a batch cost the gateway ~9 us a record, about 3% of
    its CPU at full load, in blocks of a millisecond or more.
    """

    def __init__(self, redis: Redis, db: asyncpg.Pool, consumer: str, batch_size: int = 64,
                 claim_idle_ms: int = 15000, resp: RespClient | None = None) -> None:
        self.redis, self.db, self.consumer, self.resp = redis, db, consumer, resp
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

    async def _read_group(self, start: str, block_ms: int | None = None) -> list[Entry]:
        if self.resp is not None:
            block = ("BLOCK", block_ms) if block_ms is not None else ()
            reply = await self.resp.execute("XREADGROUP", "GROUP", GROUP, self.consumer, "COUNT", self.batch_size,
                                            *block, "STREAMS", STREAM, start)
        else:
            reply = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: start}, count=self.batch_size,
                                                block=block_ms)
        return _entries(reply[0][1]) if reply else []

    async def _read(self, block_ms: int) -> list[Entry]:
        # First what this consumer read but did not commit, then what dead consumers left, then new records.
        if self._check_own:
            entries = await self._read_group("0")
            if entries:
                return entries
            self._check_own = False
        now = asyncio.get_running_loop().time()
        if now >= self._next_claim:
            claimed: Any = await self.redis.xautoclaim(STREAM, GROUP, self.consumer, self.claim_idle_ms, "0-0",
                                                  count=self.batch_size)
            if claimed and claimed[1]:
                return [e for e in _entries(claimed[1]) if e[1] is not None]  # claim again next time: maybe more
            self._next_claim = now + self._claim_interval
        return await self._read_group(">", min(block_ms, max(1, int(self._claim_interval * 1000))))

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
        records = [record for _, record in entries if record]
        try:
            await insert_records(self.db, records)
        except Exception as err:
            if not is_data_error(err):
                raise  # an incident: the batch stays unacknowledged and is retried with backoff
            await self._insert_one_by_one(records)
        for _ in range(sum(record == b"" for _, record in entries)):  # after the inserts: not again on a retry
            await self._dead_letter(b"", "a stream entry without a record field")
        if self.resp is not None:  # both sent before either is awaited: one round trip
            acked, deleted = self.resp.submit("XACK", STREAM, GROUP, *ids), self.resp.submit("XDEL", STREAM, *ids)
            await acked
            await deleted
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(STREAM, GROUP, *ids)
                pipe.xdel(STREAM, *ids)
                await pipe.execute()
        return len(ids)

    async def _insert_one_by_one(self, records: list[bytes]) -> None:
        for record in records:
            rejected = await insert_or_repair(self.db, record)
            if rejected is not None:
                await self._dead_letter(record, rejected)

    async def _dead_letter(self, record: bytes, error: str) -> None:
        log.error("usage record rejected, moved to %s: %s", DEAD_LETTERS, error.split(":", 1)[0])
        await self.redis.xadd(DEAD_LETTERS, {b"d": record, b"error": error[:500]})

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
            except Exception as err:  # an outage of either store, whatever it raised: wait and retry, never stop
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
