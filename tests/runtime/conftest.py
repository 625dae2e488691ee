"""Runtime test tier: one real PostgreSQL and Redis per session, schema applied with the real command."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.services import Service, run_module, runtime_env

pytestmark = pytest.mark.services


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def base_env(postgres: PostgresServer, redis_server: RedisServer) -> dict[str, str]:
    env = runtime_env(postgres.url, redis_server.url)
    result = run_module("helixflow.runtime.db", ["upgrade"], env)
    assert result.returncode == 0, result.stderr
    return env


@pytest.fixture(scope="session")
def bootstrap(base_env: dict[str, str]) -> dict[str, str]:
    result = run_module("helixflow.runtime.bootstrap", ["bootstrap", "--tenant", "acme", "--username", "root",
                                                    "--email", "root@acme.test", "--password", "root-password",
                                                    "--json"], base_env)
    assert result.returncode == 0, result.stderr
    data: dict[str, str] = orjson.loads(result.stdout)
    return data


@pytest.fixture(scope="session")
def auth_service(base_env: dict[str, str], bootstrap: dict[str, str]) -> Iterator[Service]:
    with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", base_env) as service:
        yield service


@pytest.fixture(scope="session")
def fake_pool(base_env: dict[str, str]) -> Iterator[Service]:
    with Service("tests.support.fake_pool", None, base_env, health_path="/health") as service:
        yield service


@pytest.fixture(scope="session")
def gateway(base_env: dict[str, str], fake_pool: Service, auth_service: Service) -> Iterator[Service]:
    env = {**base_env, "HELIXFLOW_POOL_URL": fake_pool.url, "HELIXFLOW_AUTH_URL": auth_service.url,
           "HELIXFLOW_GATEWAY_WORKERS": "2"}
    with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env) as service:
        yield service


@pytest.fixture(scope="session")
def admin_key(bootstrap: dict[str, str]) -> str:
    return bootstrap["api_key"]
