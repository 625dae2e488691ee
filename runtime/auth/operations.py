"""Tenant, user and key operations on PostgreSQL, shared by the admin API and the bootstrap command."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

import asyncpg

from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.security.api_keys import generate_api_key, known_api_key
from helixflow.runtime.security.passwords import hash_password

Connection: TypeAlias = "asyncpg.Connection | asyncpg.Pool"

TENANT_COLUMNS = ("id, name, requests_per_minute, tokens_per_minute, monthly_token_budget, store_content, "
                  "is_active, created_at")
USER_COLUMNS = "id, tenant_id, username, email, role, is_active, created_at, last_login"
KEY_COLUMNS = ("id, tenant_id, user_id, name, prefix, role, requests_per_minute, tokens_per_minute, created_at, "
               "expires_at, revoked_at")


def jsonable(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dt.datetime):
            out[key] = value.replace(tzinfo=dt.UTC).isoformat()
        elif value is not None and not isinstance(value, str | int | float | bool | dict | list):
            out[key] = str(value)
        else:
            out[key] = value
    return out


async def create_tenant(db: Connection, name: str, *, requests_per_minute: int | None = None,
                        tokens_per_minute: int | None = None, monthly_token_budget: int | None = None,
                        store_content: bool = False) -> dict[str, Any]:
    """Raises ApiError(409) when the name is taken."""
    try:
        row = await db.fetchrow(
            f"INSERT INTO tenants (name, requests_per_minute, tokens_per_minute, monthly_token_budget, store_content) "
            f"VALUES ($1, $2, $3, $4, $5) RETURNING {TENANT_COLUMNS}",
            name, requests_per_minute, tokens_per_minute, monthly_token_budget, store_content)
    except asyncpg.UniqueViolationError as err:
        raise ApiError(409, f"tenant '{name}' already exists", code="tenant_exists") from err
    assert row is not None
    return jsonable(row)


async def create_user(db: Connection, *, tenant_id: str, username: str, email: str, password: str,
                      role: str, hasher: Callable[[str], Awaitable[str]] | None = None) -> dict[str, Any]:
    """Raises ApiError(400) for a weak password or unknown tenant, ApiError(409) for a taken username/email.

    ``hasher``: the service's bounded hashing pool (``PasswordPool.hash``); by default a thread of asyncio's own.
    """
    try:
        password_hash = await (hasher(password) if hasher is not None else asyncio.to_thread(hash_password, password))
    except ValueError as err:
        raise ApiError(400, str(err), param="password") from err
    try:
        row = await db.fetchrow(
            f"INSERT INTO users (tenant_id, username, email, password_hash, role) VALUES ($1, $2, $3, $4, $5) "
            f"RETURNING {USER_COLUMNS}", tenant_id, username, email, password_hash, role)
    except asyncpg.UniqueViolationError as err:
        raise ApiError(409, "username or email already exists", code="user_exists") from err
    except asyncpg.ForeignKeyViolationError as err:
        raise ApiError(400, "unknown tenant", param="tenant_id") from err
    assert row is not None
    return jsonable(row)


async def create_key(db: Connection, *, tenant_id: str, user_id: str, role: str, name: str = "",
                     expires_at: dt.datetime | None = None, requests_per_minute: int | None = None,
                     tokens_per_minute: int | None = None, plaintext: str | None = None) -> dict[str, Any]:
    """A new key row plus ``api_key``, the plaintext (returned once, never stored); `plaintext`: a key chosen
    by the caller (see api_keys.known_api_key) instead of a generated one."""
    new = known_api_key(plaintext) if plaintext is not None else generate_api_key()
    row = await db.fetchrow(
        f"INSERT INTO api_keys (tenant_id, user_id, name, prefix, key_hash, role, expires_at, requests_per_minute, "
        f"tokens_per_minute) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {KEY_COLUMNS}",
        tenant_id, user_id, name, new.prefix, new.digest, role, expires_at, requests_per_minute, tokens_per_minute)
    assert row is not None
    return {**jsonable(row), "api_key": new.plaintext}
