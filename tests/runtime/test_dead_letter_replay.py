"""Dead letters are replayed once their cause is fixed, through the admin API `helixflow usage replay` calls,
and replaying bills each record once however often it runs."""

from __future__ import annotations

import uuid

import httpx
import orjson
import psycopg
import pytest
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


def test_helixflow_usage_replay_calls_the_stack_admin_api(auth_service: Service, admin_key: str,
                                                          redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from helixflow.cli.main import run
    from helixflow.stacks import validate
    from helixflow.stacks.validate import Deployment

    monkeypatch.setattr(validate, "deployment_from_stack",
                        lambda name: Deployment(endpoint=auth_service.url, api_key=admin_key, stack=name))
    redis = Redis.from_url(redis_server.url)
    redis.delete(DEAD_LETTERS)
    redis.close()
    assert run(["usage", "replay", "-s", "local", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out) == {"replayed": 0, "still_rejected": 0, "remaining": 0,
                                                     "errors": []}
    monkeypatch.setattr(validate, "deployment_from_stack",
                        lambda name: Deployment(endpoint="http://127.0.0.1:9", api_key=admin_key, stack=name))
    assert run(["usage", "replay"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot reach the admin API") and "Traceback" not in err
