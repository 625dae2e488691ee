"""Every service over TLS to Redis and PostgreSQL, as in the cloud: a Redis that speaks only TLS with an ACL user
(``rediss://user:password@...``), a PostgreSQL with only ``hostssl`` lines, reached with ``sslmode=verify-full``.
Migrations, bootstrap, auth, gateway and monitoring serve a request and its usage row; a client trusting another
CA is refused by both stores."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from tests.runtime.helpers import bearer, chat
from tests.support.services import Service, migrate_and_bootstrap, run_module, runtime_env
from tests.support.tls_stores import TestCertificates, TlsPostgresServer, TlsRedisServer


@pytest.fixture(scope="module")
def certs() -> Iterator[TestCertificates]:
    with TestCertificates() as issued:
        yield issued


@pytest.fixture(scope="module")
def tls_redis(certs: TestCertificates) -> Iterator[TlsRedisServer]:
    with TlsRedisServer(certs) as server:
        yield server


@pytest.fixture(scope="module")
def tls_postgres(certs: TestCertificates) -> Iterator[TlsPostgresServer]:
    with TlsPostgresServer(certs) as server:
        yield server


async def _ssl_in_use(url: str) -> bool:
    connection = await asyncpg.connect(url)
    try:
        return bool(await connection.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))
    finally:
        await connection.close()


def test_every_service_serves_and_bills_a_request_over_tls(tls_redis: TlsRedisServer,
                                                          tls_postgres: TlsPostgresServer) -> None:
    env = runtime_env(tls_postgres.url, tls_redis.url)
    admin_key = migrate_and_bootstrap(env, tenant="tls")
    with Service("tests.support.fake_pool", None, env, health_path="/health") as pool, \
            Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
        gateway_env = {**env, "HELIXFLOW_POOL_URL": pool.url, "HELIXFLOW_AUTH_URL": auth.url}
        with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", gateway_env) as gateway, \
                Service("helixflow.runtime.monitoring", "HELIXFLOW_MONITORING_PORT", gateway_env) as monitoring:
            for service in (gateway, auth, monitoring):
                health = httpx.get(service.url + "/health", timeout=10).json()
                assert health["checks"]["database"]["healthy"], (service.module, health)
                assert health["checks"]["redis"]["healthy"], (service.module, health)
            assert httpx.get(auth.url + "/admin/me", headers=bearer(admin_key)).status_code == 200
            answer = chat(gateway.url, admin_key, "over tls", headers={"X-Request-ID": "tls-request-1"})
            assert answer.status_code == 200, answer.text
            rows = asyncio.run(_usage_rows(tls_postgres.url, "tls-request-1"))
            assert rows == [("completed", 200)]
    assert asyncio.run(_ssl_in_use(tls_postgres.url))


async def _usage_rows(url: str, request_id: str, wait: float = 15.0) -> list[tuple[str, int]]:
    connection = await asyncpg.connect(url)
    try:
        async with asyncio.timeout(wait):
            while True:
                rows = await connection.fetch("SELECT status, status_code FROM requests WHERE client_request_id = $1",
                                              request_id)
                if rows:
                    return [(row["status"], row["status_code"]) for row in rows]
                await asyncio.sleep(0.2)
    finally:
        await connection.close()


def test_a_client_trusting_another_ca_is_refused_by_both_stores(
        certs: TestCertificates, tls_redis: TlsRedisServer, tls_postgres: TlsPostgresServer) -> None:
    env = runtime_env(tls_postgres.url_with_ca(certs.other_ca), tls_redis.url_with_ca(certs.other_ca))
    migrated = run_module("helixflow.runtime.db", ["upgrade"], env)
    assert migrated.returncode == 1, migrated.stderr
    assert "Traceback" not in migrated.stderr and "certificate verify failed" in migrated.stderr
    with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env) as gateway:
        health = httpx.get(gateway.url + "/health", timeout=10)
        assert health.status_code == 503
        checks = health.json()["checks"]
        for store in ("database", "redis"):
            assert not checks[store]["healthy"] and "certificate verify failed" in checks[store]["error"], checks
