"""A cluster tenant's record, as its Job writes it (`python -m helixflow.runtime.bootstrap tenant`), against real
PostgreSQL, Redis and the gateway: the tenant with its quotas and its preset key, which the gateway accepts; a
rerun converges the quotas and keeps the key; retiring revokes it (refused within a second) and deletes no
row; a tenant made outside tenant stacks is left untouched."""

from __future__ import annotations

import secrets
from typing import Any

import orjson
import psycopg
import pytest

from helixflow.runtime.security.api_keys import derive_api_key, digest_api_key
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.services import Service, run_module

from .helpers import answered, chat, new_tenant, within

pytestmark = pytest.mark.services


def record(env: dict[str, str], name: str, *args: str, key: str | None = None) -> tuple[int, dict[str, Any], str]:
    job_env = {**env, **({"HELIXFLOW_TENANT_API_KEY": key} if key else {})}
    done = run_module("helixflow.runtime.bootstrap", ["tenant", name, *args], job_env)
    return done.returncode, (orjson.loads(done.stdout) if done.returncode == 0 else {}), done.stderr


def tenant_row(postgres: PostgresServer, name: str) -> tuple[Any, ...]:
    with psycopg.connect(postgres.url) as db:
        row = db.execute("SELECT requests_per_minute, tokens_per_minute, monthly_token_budget, is_active "
                         "FROM tenants WHERE name = %s", (name,)).fetchone()  # fmt: skip
    assert row is not None
    return tuple(row)


def epoch(redis_server: RedisServer) -> int:
    import redis

    value = redis.Redis.from_url(redis_server.url).get("helixflow:auth:epoch")
    return int(value or 0)


def test_the_job_upserts_the_tenant_and_its_preset_key_and_retiring_revokes_it(
    base_env: dict[str, str], postgres: PostgresServer, redis_server: RedisServer, gateway: Service
) -> None:
    name = f"cl-{secrets.token_hex(3)}"
    key = derive_api_key(secrets.token_hex(32), f"tenant:{name}")
    before = epoch(redis_server)
    rc, made, err = record(base_env, name, "--rpm", "100", "--tpm", "5000", key=key)
    assert rc == 0, err
    assert key not in orjson.dumps(made).decode() and made["key_prefix"] == key[:11]  # the key is not printed
    assert tenant_row(postgres, name) == (100, 5000, None, True)
    assert epoch(redis_server) > before  # gateways drop their cached quotas
    assert chat(gateway.url, key).status_code == 200

    rc, again, err = record(base_env, name, "--rpm", "7", key=key)  # the Job of an update
    assert rc == 0, err
    assert again["api_key_id"] == made["api_key_id"] and tenant_row(postgres, name) == (7, None, None, True)

    rc, retired, err = record(base_env, name, "--retire")
    assert rc == 0, err and retired["revoked"] == 1
    within(1.0, answered(lambda: chat(gateway.url, key), 401), "the retired tenant's key refused everywhere")
    assert tenant_row(postgres, name)[3] is False
    with psycopg.connect(postgres.url) as db:  # nothing is deleted: the rows its usage points at stay
        kept = db.execute("SELECT revoked_at IS NOT NULL FROM api_keys WHERE key_hash = %s",
                          (digest_api_key(key),)).fetchone()  # fmt: skip
    assert kept == (True,)
    rc, _, err = record(base_env, name, "--retire")
    assert rc == 0, err  # retiring twice is fine

    fresh = derive_api_key(secrets.token_hex(32), f"tenant:{name}")  # a new stack for the same name: adopted
    rc, adopted, err = record(base_env, name, key=fresh)
    assert rc == 0, err and adopted["tenant_id"] == made["tenant_id"]
    assert chat(gateway.url, fresh).status_code == 200
    assert chat(gateway.url, key).status_code == 401


def test_a_tenant_made_outside_tenant_stacks_is_left_untouched(
    base_env: dict[str, str], auth_service: Service, admin_key: str, postgres: PostgresServer
) -> None:
    people = new_tenant(auth_service.url, admin_key)
    name = people["tenant"]["name"]
    limits = tenant_row(postgres, name)
    rc, _, err = record(base_env, name, "--rpm", "1", key=derive_api_key("s" * 32, f"tenant:{name}"))
    assert rc == 1 and err.startswith("error: ") and "made outside tenant stacks" in err
    assert tenant_row(postgres, name) == limits
    with psycopg.connect(postgres.url) as db:
        found = db.execute("SELECT 1 FROM api_keys WHERE key_hash = %s",
                           (digest_api_key(derive_api_key("s" * 32, f"tenant:{name}")),)).fetchone()  # fmt: skip
    assert found is None


def test_a_missing_or_malformed_key_is_one_clear_line(base_env: dict[str, str]) -> None:
    rc, _, err = record(base_env, "cl-nokey")
    assert rc == 1 and err.startswith("error: HELIXFLOW_TENANT_API_KEY is not set")
    rc, _, err = record(base_env, "cl-badkey", key="not-a-key")
    assert rc == 1 and err.startswith("error: HELIXFLOW_TENANT_API_KEY:") and "Traceback" not in err
