"""The usage drainer against real Redis and PostgreSQL: rows, costs, timestamps, idempotency, dead letters.

It uses its own Redis database, so the session's gateway (and its drainer) never sees these records.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from helixflow.runtime.gateway.usage import DEAD_LETTERS, STREAM, UsageDrainer, UsageRecord
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

pytestmark = pytest.mark.services


def _record(bootstrap: dict[str, str], **changes: Any) -> UsageRecord:
    fields: dict[str, Any] = dict(
        id=str(uuid.uuid4()), user_id=bootstrap["user_id"], tenant_id=bootstrap["tenant_id"],
        api_key_id=bootstrap["api_key_id"], client_request_id="req-1", model="drainer-priced-model",
        endpoint="chat_completions", status="completed", status_code=200, prompt_tokens=1000,
        completion_tokens=2000, latency_ms=12.5, cached=False, created_at=1_700_000_000.25,
        completed_at=1_700_000_001.5, messages=[{"role": "user", "content": "hi"}], parameters={"temperature": 0},
        response={"choices": []})
    fields.update(changes)
    return UsageRecord(**fields)


@contextlib.asynccontextmanager
async def _stores(postgres: PostgresServer, redis_server: RedisServer) -> AsyncIterator[tuple[Redis, asyncpg.Pool]]:
    redis = Redis.from_url(_url(redis_server))
    db = await asyncpg.create_pool(postgres.url, min_size=1, max_size=2)
    try:
        await redis.delete(STREAM, DEAD_LETTERS)
        await db.execute("INSERT INTO model_prices (model, prompt_per_million, completion_per_million) "
                           "VALUES ('drainer-priced-model', 2, 10) ON CONFLICT (model) DO NOTHING")
        yield redis, db
    finally:
        await redis.aclose()
        await db.close()


def _url(redis_server: RedisServer) -> str:
    return redis_server.url.rsplit("/", 1)[0] + "/7"


async def _drain(redis: Redis, db: asyncpg.Pool, records: list[bytes | dict[str, bytes]]) -> dict[str, Any]:
    """One drain."""
    drainer = UsageDrainer(redis, db, "test-consumer", batch_size=100)
    await drainer.ensure_group()
    for data in records:
        await redis.xadd(STREAM, data if isinstance(data, dict) else {"d": data})  # type: ignore[arg-type]
    moved = await drainer.drain_once(block_ms=100)
    return {"moved": moved, "left": await redis.xlen(STREAM),
            "dead": [fields[b"d"] for _, fields in await redis.xrange(DEAD_LETTERS)]}


async def _rows(db: asyncpg.Pool, ids: list[str]) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM requests WHERE id = ANY($1::uuid[]) ORDER BY prompt_tokens",
                                 ids))


def test_records_become_rows_with_cost_and_utc_times(postgres: PostgresServer, redis_server: RedisServer,
                                                     bootstrap: dict[str, str]) -> None:
    cached = _record(bootstrap, prompt_tokens=5, cached=True)
    priced = _record(bootstrap)

    async def scenario() -> list[asyncpg.Record]:
        # The same record twice (a retry after a crash) still makes one row.
        async with _stores(postgres, redis_server) as (redis, db):
            result = await _drain(redis, db, [priced.encode(), cached.encode(), priced.encode()])
            assert result == {"moved": 3, "left": 0, "dead": []}
            return await _rows(db, [priced.id, cached.id])

    rows = asyncio.run(scenario())
    assert [str(r["id"]) for r in rows] == [cached.id, priced.id]
    cached_row, priced_row = rows
    assert float(priced_row["cost"]) == pytest.approx((1000 * 2 + 2000 * 10) / 1e6)
    assert float(cached_row["cost"]) == 0
    assert priced_row["tokens_used"] == 3000
    assert priced_row["created_at"] == dt.datetime(2023, 11, 14, 22, 13, 20, 250000)
    assert priced_row["completed_at"] == dt.datetime(2023, 11, 14, 22, 13, 21, 500000)
    assert str(priced_row["tenant_id"]) == bootstrap["tenant_id"]
    assert priced_row["messages"] == '[{"role": "user", "content": "hi"}]'
    assert priced_row["parameters"] == '{"temperature": 0}'


def test_a_record_postgres_rejects_goes_to_dead_letters_and_the_rest_land(
        postgres: PostgresServer, redis_server: RedisServer, bootstrap: dict[str, str]) -> None:
    good = _record(bootstrap)
    unknown_tenant = _record(bootstrap, tenant_id=str(uuid.uuid4()))  # a foreign key PostgreSQL refuses
    not_json = b"{broken"

    async def scenario() -> tuple[dict[str, Any], list[asyncpg.Record]]:
        async with _stores(postgres, redis_server) as (redis, db):
            result = await _drain(redis, db, [good.encode(), unknown_tenant.encode(), not_json,
                                                {"other": b"field"}])
            return result, await _rows(db, [good.id, unknown_tenant.id])

    result, rows = asyncio.run(scenario())
    assert result["moved"] == 4 and result["left"] == 0
    assert [str(r["id"]) for r in rows] == [good.id]
    assert sorted(result["dead"]) == sorted([unknown_tenant.encode(), not_json, b""])  # b"": had no record


def test_a_streams_settled_record_wins_whatever_order_its_records_arrive_in(
        postgres: PostgresServer, bootstrap: dict[str, str]) -> None:
    from helixflow.runtime.gateway.usage import insert_records

    def records(row_id: str) -> tuple[bytes, bytes, bytes]:
        start = _record(bootstrap, id=row_id, status="pending", status_code=0, prompt_tokens=30,
                        completion_tokens=0, completed_at=1_700_000_001.0).encode()
        later = _record(bootstrap, id=row_id, status="pending", status_code=0, prompt_tokens=3,
                        completion_tokens=9, completed_at=1_700_000_002.0).encode()
        final = _record(bootstrap, id=row_id, status="cancelled", status_code=499, prompt_tokens=3,
                        completion_tokens=11, completed_at=1_700_000_003.0).encode()
        return start, later, final

    async def scenario() -> list[tuple[str, int]]:
        db = await asyncpg.create_pool(postgres.url, min_size=1, max_size=2)
        try:
            ids = [str(uuid.uuid4()) for _ in range(4)]
            start, later, final = records(ids[0])
            for batch in ([final], [later], [start]):  # settled first: the pending ones come too late
                await insert_records(db, batch)
            start, later, final = records(ids[1])
            for batch in ([start], [later], [final], [later]):  # in order, then a redelivered checkpoint
                await insert_records(db, batch)
            start, later, final = records(ids[2])
            await insert_records(db, [later, final, start])  # all in one batch
            start, later, _ = records(ids[3])
            for batch in ([later], [start]):  # never settled: the latest checkpoint stays
                await insert_records(db, batch)
            rows = await db.fetch("SELECT id::text, status, completion_tokens FROM requests WHERE id = ANY($1::uuid[])",
                                  ids)
            found = {r["id"]: (r["status"], r["completion_tokens"]) for r in rows}
            return [found[i] for i in ids]
        finally:
            await db.close()

    assert asyncio.run(scenario()) == [("cancelled", 11)] * 3 + [("pending", 9)]
