"""No usage record is lost: the gateway is killed mid-load while PostgreSQL is down, and after recovery
every successful request has its row (and no row is written twice)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import orjson
import psycopg
import pytest

from tests.runtime.helpers import bearer, chat_body
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.services import Service, run_module, runtime_env


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[PostgresServer, RedisServer]]:
    # Its own PostgreSQL and Redis: this test stops the database and owns the usage stream.
    with PostgresServer() as pg, RedisServer() as rd:
        yield pg, rd


class Load:
    """Threads sending chat requests; remembers which request ids succeeded and which failed."""

    def __init__(self, url: str, key: str, threads: int = 6) -> None:
        self.url, self.key = url, key
        self.ok: set[str] = set()
        self.failed: set[str] = set()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                request_id = uuid.uuid4().hex
                try:
                    r = client.post(self.url + "/v1/chat/completions", json=chat_body("durable"),
                                    headers={**bearer(self.key), "X-Request-ID": request_id})
                    (self.ok if r.status_code == 200 else self.failed).add(request_id)
                except httpx.HTTPError:
                    self.failed.add(request_id)
                    time.sleep(0.05)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


def test_usage_survives_a_gateway_crash_and_a_database_outage(stores: tuple[PostgresServer, RedisServer],
                                                              fake_pool: Service) -> None:
    pg, rd = stores
    env = runtime_env(pg.url, rd.url, HELIXFLOW_POOL_URL=fake_pool.url, HELIXFLOW_USAGE_CLAIM_IDLE_MS="1000",
                      HELIXFLOW_GATEWAY_WORKERS="2", HELIXFLOW_LOG_REQUESTS="false")
    assert run_module("helixflow.runtime.db", ["upgrade"], env).returncode == 0
    boot = run_module("helixflow.runtime.bootstrap", ["bootstrap", "--tenant", "durable", "--username", "d",
                                                  "--email", "d@x.test", "--json"], env)
    assert boot.returncode == 0, boot.stderr
    key = orjson.loads(boot.stdout)["api_key"]
    gateway = Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env).start()
    try:
        with Load(gateway.url, key) as load:
            time.sleep(1.0)
            pg.stop()  # requests keep succeeding: keys are cached, records wait on the Redis stream
            time.sleep(1.5)
            during_outage = len(load.ok)
            time.sleep(1.0)
            assert len(load.ok) > during_outage, "the gateway stopped serving while PostgreSQL was down"
            gateway.kill()  # SIGKILL, workers and all, in the middle of the load
            time.sleep(0.5)
        pg.start()
        gateway = Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env, port=gateway.port).start()
        assert load.ok, "no request succeeded"
        deadline = time.monotonic() + 30
        while True:
            with psycopg.connect(pg.url) as db:
                stored = [r[0] for r in db.execute("SELECT client_request_id FROM requests").fetchall()]
            if len(stored) >= len(load.ok) or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        print(f"ok={len(load.ok)} failed={len(load.failed)} stored={len(stored)}")
        assert load.ok <= set(stored), f"{len(load.ok - set(stored))} successful requests have no usage row"
        assert len(stored) == len(set(stored)), "a usage row was written twice"
        # A row beyond the successes can only be a request whose answer the crash cut off.
        assert set(stored) - load.ok <= load.failed
    finally:
        gateway.stop()


def test_a_redis_outage_keeps_serving_and_accounting(stores: tuple[PostgresServer, RedisServer],
                                                     fake_pool: Service) -> None:
    pg, rd = stores
    env = runtime_env(pg.url, rd.url, HELIXFLOW_POOL_URL=fake_pool.url, HELIXFLOW_LOG_REQUESTS="false")
    assert run_module("helixflow.runtime.db", ["upgrade"], env).returncode == 0
    boot = run_module("helixflow.runtime.bootstrap", ["bootstrap", "--tenant", "no-redis", "--username", "nr",
                                                  "--email", "nr@x.test", "--json"], env)
    data = orjson.loads(boot.stdout)
    with psycopg.connect(pg.url) as db:  # quotas on, so the Lua check runs (and must fail open)
        db.execute("UPDATE tenants SET requests_per_minute = 1000000 WHERE id = %s", (data["tenant_id"],))
    with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env) as gateway:
        ids: list[str] = []

        def burst() -> None:
            for _ in range(10):
                ids.append(uuid.uuid4().hex)
                r = httpx.post(gateway.url + "/v1/chat/completions", json=chat_body("r"),
                               headers={**bearer(data["api_key"]), "X-Request-ID": ids[-1]}, timeout=10)
                assert r.status_code == 200, r.text

        burst()
        rd.stop()
        try:
            burst()
        finally:
            rd.start()
        burst()
        deadline = time.monotonic() + 20
        while True:
            with psycopg.connect(pg.url) as db:
                stored = [r[0] for r in db.execute("SELECT client_request_id FROM requests WHERE tenant_id = %s",
                                                   (data["tenant_id"],)).fetchall()]
            if len(stored) >= len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert sorted(stored) == sorted(ids)
