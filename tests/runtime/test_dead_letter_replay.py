"""Dead letters are replayed once their cause is fixed, through the admin API `helixflow usage replay` calls,
and replaying bills each record once however often it runs."""

from __future__ import annotations

import uuid

import httpx
import orjson
import psycopg
from redis import Redis

from helixflow.runtime.gateway.usage import DEAD_LETTERS
from tests.runtime.helpers import bearer
from tests.runtime.test_usage_drainer import _record
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.services import Service


def test_dead_letters_replay_once_fixed_and_never_bill_twice(postgres: PostgresServer, redis_server: RedisServer,
                                                              auth_service: Service, admin_key: str,
                                                              bootstrap: dict[str, str]) -> None:
    missing_tenant = str(uuid.uuid4())
    record = _record(bootstrap, tenant_id=missing_tenant).encode()  # refused: no such tenant (23503)
    redis = Redis.from_url(redis_server.url)
    try:
        redis.delete(DEAD_LETTERS)
        for _ in range(2):  # the same record dead-lettered twice (two drainers, a retry)
            redis.xadd(DEAD_LETTERS, {"d": record, "error": "ForeignKeyViolationError: tenant"})
        redis.xadd(DEAD_LETTERS, {"error": "a stream entry without a record field"})
        url = auth_service.url + "/admin/usage/dead-letters"

        listed = httpx.get(url, headers=bearer(admin_key))
        assert listed.status_code == 200 and listed.json()["count"] == 3
        assert "d" not in listed.json()["oldest"][0], "the listing must not show a tenant's content"

        still = httpx.post(url + "/replay", headers=bearer(admin_key)).json()
        assert (still["replayed"], still["still_rejected"], still["remaining"]) == (0, 3, 3)

        with psycopg.connect(postgres.url, autocommit=True) as db:  # the cause, fixed
            db.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (missing_tenant, f"late-{missing_tenant}"))
        done = httpx.post(url + "/replay", headers=bearer(admin_key)).json()
        assert (done["replayed"], done["still_rejected"], done["remaining"]) == (2, 1, 1)
        again = httpx.post(url + "/replay", headers=bearer(admin_key)).json()
        assert again["replayed"] == 0
        with psycopg.connect(postgres.url) as db:
            rows = db.execute("SELECT tokens_used, cost FROM requests WHERE id = %s",
                              (orjson.loads(record)["id"],)).fetchall()
        assert len(rows) == 1 and rows[0][0] == 3000
        viewer = httpx.post(url + "/replay", headers=bearer("hf_nobody12_x" * 2))
        assert viewer.status_code == 401
    finally:
        redis.delete(DEAD_LETTERS)
        redis.close()
