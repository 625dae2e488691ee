"""Usage records are never dead-lettered by an incident, and a record refused for its data still gets its
billing row: only SQLSTATE classes 22 and 23 are data."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
import pytest
from redis.asyncio import Redis

from helixflow.runtime.gateway.usage import DEAD_LETTERS, STREAM, UsageDrainer
from tests.runtime.test_usage_drainer import _record, _rows, _stores
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer

pytestmark = pytest.mark.services


async def _drain_all(redis: Redis, db: asyncpg.Pool, records: list[bytes]) -> dict[str, Any]:
    drainer = UsageDrainer(redis, db, "incident-consumer", batch_size=100)
    await drainer.ensure_group()
    for data in records:
        await redis.xadd(STREAM, {"d": data})
    moved = await drainer.drain_once(block_ms=100)
    return {"moved": moved, "dead": [f[b"d"] for _, f in await redis.xrange(DEAD_LETTERS)]}


# Server settings that make every insert fail the way an incident does, on a pool of their own.
INCIDENTS = {
    "read-only after a failover (25006)": {"default_transaction_read_only": "on"},
    "schema not there during a migration (42P01)": {"search_path": "nowhere"},
    "statement timeout (57014)": {"statement_timeout": "1", "lock_timeout": "0"},
}


@pytest.mark.parametrize("settings", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_an_incident_is_retried_not_dead_lettered(postgres: PostgresServer, redis_server: RedisServer,
                                                  bootstrap: dict[str, str], settings: dict[str, str]) -> None:
    records = [_record(bootstrap) for _ in range(3)]

    async def scenario() -> tuple[list[bytes], int, list[asyncpg.Record]]:
        async with _stores(postgres, redis_server) as (redis, db):
            broken = await asyncpg.create_pool(postgres.url, min_size=1, max_size=1, server_settings=settings)
            try:
                if "statement_timeout" in settings:  # hold the table so the insert must wait past the timeout
                    locker = await asyncpg.connect(postgres.url)
                    transaction = locker.transaction()
                    await transaction.start()
                    await locker.execute("LOCK TABLE requests IN ACCESS EXCLUSIVE MODE")
                with pytest.raises(asyncpg.PostgresError):
                    await _drain_all(redis, broken, [r.encode() for r in records])
                if "statement_timeout" in settings:
                    await transaction.rollback()
                    await locker.close()
            finally:
                await broken.close()
            dead = [f[b"d"] for _, f in await redis.xrange(DEAD_LETTERS)]
            drainer = UsageDrainer(redis, db, "incident-consumer", batch_size=100)  # the same consumer, recovered
            moved = await drainer.drain_once(block_ms=100)
            return dead, moved, await _rows(db, [r.id for r in records])

    dead, moved, rows = asyncio.run(scenario())
    assert dead == [], "an incident dead-lettered records"
    assert moved == 3 and len(rows) == 3


def test_records_refused_for_their_data_still_get_their_billing_row(
        postgres: PostgresServer, redis_server: RedisServer, bootstrap: dict[str, str]) -> None:
    with_nul = _record(bootstrap, messages=[{"role": "user", "content": "a\x00b"}], error_message="x\x00y")
    huge = _record(bootstrap, prompt_tokens=2_000_000_000, completion_tokens=1_999_999_999)  # cost > 10,000
    beyond_int = _record(bootstrap, prompt_tokens=5_000_000_000, completion_tokens=0)
    surrogate = _record(bootstrap)  # content jsonb refuses (an unpaired surrogate): 22P05 for the content only
    broken = orjson.loads(surrogate.encode())
    broken["messages"] = "PLACEHOLDER"
    lone = orjson.dumps(broken).replace(b'"PLACEHOLDER"', b'[{"content": "\\ud800"}]')
    records = [with_nul.encode(), huge.encode(), beyond_int.encode(), lone]

    async def scenario() -> tuple[dict[str, Any], dict[str, asyncpg.Record]]:
        async with _stores(postgres, redis_server) as (redis, db):
            result = await _drain_all(redis, db, records)
            rows = await _rows(db, [with_nul.id, huge.id, beyond_int.id, surrogate.id])
            return result, {str(r["id"]): r for r in rows}

    result, rows = asyncio.run(scenario())
    assert result["dead"] == [] and set(rows) == {with_nul.id, huge.id, beyond_int.id, surrogate.id}
    assert orjson.loads(rows[with_nul.id]["messages"]) == [{"role": "user", "content": "ab"}]
    assert rows[with_nul.id]["error_message"] == "xy"
    assert rows[huge.id]["cost"] > 10_000  # 2e9 x 2/M + 2e9 x 10/M, not an overflow
    assert rows[beyond_int.id]["prompt_tokens"] == 2_147_483_647
    assert rows[surrogate.id]["messages"] == "[]" and "content dropped" in rows[surrogate.id]["error_message"]
    assert rows[surrogate.id]["tokens_used"] == 3000


def test_a_nul_escape_that_is_itself_escaped_is_kept() -> None:
    from helixflow.runtime.gateway.usage_repair import strip_nul

    assert strip_nul(b'["\\\\u0000", "\\u0000x", "\\\\\\u0000"]') == b'["\\\\u0000", "x", "\\\\"]'
