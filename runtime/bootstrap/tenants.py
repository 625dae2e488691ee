"""A tenant stack's record on a cluster, written by a Job in the runtime's namespace (the CLI need not reach the
gateway): the tenant with its quotas, its operator user, and its first API key, preset (derived from the tenant
stack's secret, so the stack hands it out). Retiring it revokes its keys and deactivates it and its users; its
usage rows stay. Both bump the auth epoch, so every gateway applies the change within a second.

The same rules as the admin-API record (components/tenant/record.py): a tenant made outside tenant stacks
(active, with keys of another name) is left untouched; one a tenant stack left (deleted, or cut short) is adopted.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
from redis.asyncio import Redis

from helixflow.runtime.auth import operations as ops
from helixflow.runtime.bootstrap.bootstrap import BootstrapError
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.invalidation import bump_epoch
from helixflow.runtime.db.roles import SCHEMA
from helixflow.runtime.security.api_keys import known_api_key

KEY_NAME = "tenant-stack"  # the admin-API record's name for its keys too
LIMITS = ("requests_per_minute", "tokens_per_minute", "monthly_token_budget")


def operator_username(tenant: str) -> str:
    return f"{tenant}-operator"


async def upsert_tenant(db: asyncpg.Connection, *, name: str, api_key: str,
                        limits: dict[str, int | None]) -> dict[str, Any]:  # fmt: skip
    """The tenant as desired, in one transaction. Raises BootstrapError for a tenant made outside tenant stacks
    or a malformed key."""
    try:
        preset = known_api_key(api_key)
    except ValueError as err:
        raise BootstrapError(f"HELIXFLOW_TENANT_API_KEY: {err}") from None
    values = [limits.get(field) for field in LIMITS]
    async with db.transaction():
        row = await db.fetchrow("SELECT id, is_active FROM tenants WHERE name = $1 FOR UPDATE", name)
        if row is None:
            tenant_id = (await ops.create_tenant(db, name, requests_per_minute=values[0], tokens_per_minute=values[1],
                                                 monthly_token_budget=values[2]))["id"]  # fmt: skip
        else:
            tenant_id = str(row["id"])
            live = await db.fetch("SELECT id, name, key_hash FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL",
                                  tenant_id)  # fmt: skip
            if row["is_active"] and any(k["name"] != KEY_NAME for k in live):
                raise BootstrapError(f"tenant {name!r} already exists in the runtime with active keys made outside "
                                     "tenant stacks: left untouched; choose another name")  # fmt: skip
            stale = [k["id"] for k in live if k["key_hash"] != preset.digest]  # a former stack's: its key is lost
            await db.execute("UPDATE api_keys SET revoked_at = now() WHERE id = ANY($1::uuid[])", stale)
            await db.execute("UPDATE tenants SET requests_per_minute = $2, tokens_per_minute = $3, "
                             "monthly_token_budget = $4, is_active = true, updated_at = now() WHERE id = $1",
                             tenant_id, *values)  # fmt: skip
        user_id = await _operator(db, tenant_id, name)
        key = await db.fetchrow("SELECT id, prefix, revoked_at FROM api_keys WHERE key_hash = $1", preset.digest)
        if key is not None and key["revoked_at"] is not None:
            raise BootstrapError(f"tenant {name!r}'s key was revoked: delete the tenant and create it again")
        if key is None:
            made = await ops.create_key(db, tenant_id=tenant_id, user_id=user_id, role="operator", name=KEY_NAME,
                                        plaintext=api_key)  # fmt: skip
            key_id, prefix = made["id"], made["prefix"]
        else:
            key_id, prefix = str(key["id"]), key["prefix"]
    return {"tenant_id": tenant_id, "user_id": user_id, "api_key_id": key_id, "key_prefix": prefix}


async def _operator(db: asyncpg.Connection, tenant_id: str, tenant: str) -> str:
    username = operator_username(tenant)
    row = await db.fetchrow("SELECT id, tenant_id FROM users WHERE username = $1", username)
    if row is None:  # the key is the tenant's credential: the password is never shown
        made = await ops.create_user(db, tenant_id=tenant_id, username=username, role="operator",
                                     email=f"{username}@tenants.helixflow.invalid", password=secrets.token_urlsafe(24))
        return str(made["id"])
    if str(row["tenant_id"]) != tenant_id:
        raise BootstrapError(f"user {username!r} belongs to another tenant")
    await db.execute("UPDATE users SET is_active = true, updated_at = now() WHERE id = $1", row["id"])
    return str(row["id"])


async def retire_tenant(db: asyncpg.Connection, *, name: str) -> dict[str, Any]:
    """Revoke every key of the tenant and deactivate it and its users; its usage stays. A tenant the runtime
    does not have is already retired."""
    async with db.transaction():
        tenant_id = await db.fetchval("UPDATE tenants SET is_active = false, updated_at = now() WHERE name = $1 "
                                      "RETURNING id", name)  # fmt: skip
        if tenant_id is None:
            return {"tenant": name, "found": False, "revoked": 0}
        revoked = await db.fetch("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND revoked_at IS NULL "
                                 "RETURNING id", tenant_id)  # fmt: skip
        await db.execute("UPDATE users SET is_active = false, updated_at = now() WHERE tenant_id = $1", tenant_id)
    return {"tenant": name, "tenant_id": str(tenant_id), "found": True, "revoked": len(revoked)}


async def apply_record(database_url: str, redis_url: str, *, name: str, api_key: str | None,
                       limits: dict[str, int | None], retire: bool = False) -> dict[str, Any]:  # fmt: skip
    """Upsert (or retire) the tenant, then bump the auth epoch. Raises BootstrapError."""
    try:
        # HelixFlow's schema first, as every service connects (a single-URL database may not set it on the role)
        db = await asyncpg.connect(database_url, timeout=10, server_settings={"search_path": SCHEMA})
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        raise BootstrapError(f"cannot connect to HELIXFLOW_DATABASE_URL: {type(err).__name__}: {err}") from err
    try:
        if retire:
            result = await retire_tenant(db, name=name)
        elif not api_key:
            raise BootstrapError("HELIXFLOW_TENANT_API_KEY is not set: the tenant's key comes from its stack")
        else:
            result = await upsert_tenant(db, name=name, api_key=api_key, limits=limits)
    except asyncpg.UndefinedTableError as err:
        raise BootstrapError("the schema is missing: run `python -m helixflow.runtime.db upgrade` first") from err
    except ApiError as err:  # a tenant or user made at the same moment by someone else: a rerun sorts it out
        raise BootstrapError(err.message) from err
    finally:
        await db.close()
    redis = Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        await bump_epoch(redis)  # a failure is logged: watchers that cannot read the epoch drop their caches
    finally:
        await redis.aclose()
    return result
