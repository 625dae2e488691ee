"""Creates the first tenant, its admin user and an API key; safe to run again.

A second run with the same tenant and username returns the existing ids and a
*new* API key (``created: false``); a username that belongs to another tenant is an error.
With a preset key (a cluster's, derived from the stack's secret so the stack can hand it out), that key
is stored once and a rerun keeps it.
"""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg

from helixflow.runtime.auth import operations as ops
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.db.roles import SCHEMA
from helixflow.runtime.security.api_keys import known_api_key


class BootstrapError(Exception):
    """Something the operator must fix; the message says what."""


async def bootstrap(database_url: str, *, tenant: str, username: str, email: str,
                    password: str | None, api_key: str | None = None) -> dict[str, Any]:
    """Raises BootstrapError."""
    try:
        connection = await asyncpg.connect(database_url, timeout=10, server_settings={"search_path": SCHEMA})
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        raise BootstrapError(f"cannot connect to HELIXFLOW_DATABASE_URL: {type(err).__name__}: {err}") from err
    try:
        async with connection.transaction():
            return await _bootstrap(connection, tenant=tenant, username=username, email=email, password=password,
                                    api_key=api_key)
    except asyncpg.UndefinedTableError as err:
        raise BootstrapError("the schema is missing: run `python -m helixflow.runtime.db upgrade` first") from err
    except ApiError as err:
        raise BootstrapError(err.message) from err
    finally:
        await connection.close()


async def _bootstrap(db: asyncpg.Connection, *, tenant: str, username: str, email: str,
                     password: str | None, api_key: str | None) -> dict[str, Any]:
    created = False
    tenant_row = await db.fetchrow("SELECT id FROM tenants WHERE name = $1", tenant)
    if tenant_row is None:
        tenant_id = (await ops.create_tenant(db, tenant))["id"]
        created = True
    else:
        tenant_id = str(tenant_row["id"])
    user_row = await db.fetchrow("SELECT id, tenant_id, role FROM users WHERE username = $1", username)
    generated_password: str | None = None
    if user_row is None:
        if password is None:
            generated_password = password = secrets.token_urlsafe(18)
        user_id = (await ops.create_user(db, tenant_id=tenant_id, username=username, email=email,
                                         password=password, role="admin"))["id"]
        created = True
    else:
        if str(user_row["tenant_id"]) != tenant_id:
            raise BootstrapError(f"user '{username}' already exists in another tenant")
        user_id = str(user_row["id"])
    if api_key is not None:
        try:
            preset = known_api_key(api_key)
        except ValueError as err:
            raise BootstrapError(f"HELIXFLOW_BOOTSTRAP_API_KEY: {err}") from None
        row = await db.fetchrow("SELECT id, prefix FROM api_keys WHERE key_hash = $1", preset.digest)
        if row is not None:  # a rerun: the key is there already
            return {"tenant_id": tenant_id, "user_id": user_id, "username": username, "role": "admin",
                    "api_key": api_key, "api_key_id": str(row["id"]), "key_prefix": row["prefix"], "created": created}
    key = await ops.create_key(db, tenant_id=tenant_id, user_id=user_id, role="admin", name="bootstrap",
                               plaintext=api_key)
    result: dict[str, Any] = {"tenant_id": tenant_id, "user_id": user_id, "username": username, "role": "admin",
                              "api_key": key["api_key"], "api_key_id": key["id"], "key_prefix": key["prefix"],
                              "created": created}
    if generated_password is not None:
        result["password"] = generated_password
    return result
