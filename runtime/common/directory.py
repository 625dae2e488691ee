"""Looks up API keys and tenants in PostgreSQL and turns them into principals."""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any, NamedTuple

import asyncpg

from helixflow.runtime.common.principal import Principal, TenantLimits
from helixflow.runtime.db.roles import SCHEMA
from helixflow.runtime.settings import RuntimeSettings

_KEY_COLUMNS = """
SELECT k.id, k.tenant_id, k.user_id, k.role, k.requests_per_minute AS key_rpm, k.tokens_per_minute AS key_tpm,
       k.expires_at, k.revoked_at, u.is_active AS user_active, t.is_active AS tenant_active,
       t.requests_per_minute, t.tokens_per_minute, t.monthly_token_budget, t.store_content
FROM api_keys k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = k.tenant_id
"""
_KEY_QUERY = _KEY_COLUMNS + "WHERE k.key_hash = $1"
_KEY_BY_ID_QUERY = _KEY_COLUMNS + "WHERE k.id = $1"

_USER_QUERY = """
SELECT u.tenant_id, u.role, u.is_active AND t.is_active AS active, t.requests_per_minute, t.tokens_per_minute,
       t.monthly_token_budget, t.store_content
FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1
"""

_TENANT_QUERY = """
SELECT id, is_active, requests_per_minute, tokens_per_minute, monthly_token_budget, store_content
FROM tenants WHERE id = $1
"""


class UserRecord(NamedTuple):
    """A user joined with its tenant: what a JWT issued to the user (for a password) is checked against."""

    tenant_id: str
    role: str
    active: bool  # the user and its tenant
    tenant_limits: TenantLimits
    store_content: bool


class KeyRecord:
    """A row of api_keys joined with its user and tenant; checked on every use (expiry can pass while cached)."""

    __slots__ = ("expires_at", "principal", "usable")

    def __init__(self, principal: Principal, expires_at: dt.datetime | float | None, usable: bool) -> None:
        self.principal, self.usable = principal, usable
        # Epoch seconds (the column is UTC without a zone): a float comparison per request, not a datetime.
        if isinstance(expires_at, dt.datetime):
            self.expires_at = expires_at.replace(tzinfo=dt.UTC).timestamp()
        else:
            self.expires_at = math.inf if expires_at is None else float(expires_at)

    def is_valid_now(self) -> bool:
        return self.usable and self.expires_at > time.time()


def _limits(row: Any, settings: RuntimeSettings) -> TenantLimits:
    return TenantLimits(
        requests_per_minute=row["requests_per_minute"] if row["requests_per_minute"] is not None
        else settings.default_requests_per_minute,
        tokens_per_minute=row["tokens_per_minute"] if row["tokens_per_minute"] is not None
        else settings.default_tokens_per_minute,
        monthly_token_budget=row["monthly_token_budget"] if row["monthly_token_budget"] is not None
        else settings.default_monthly_token_budget,
    )


class Directory:
    """Reads keys and tenants; the pool is created lazily so a service starts while PostgreSQL is down."""

    def __init__(self, db: asyncpg.Pool, settings: RuntimeSettings) -> None:
        self.db, self.settings = db, settings

    async def key_by_digest(self, digest: str) -> KeyRecord | None:
        return self._key_record(await self.db.fetchrow(_KEY_QUERY, digest))

    async def key_by_id(self, key_id: str) -> KeyRecord | None:
        try:
            return self._key_record(await self.db.fetchrow(_KEY_BY_ID_QUERY, key_id))
        except (asyncpg.DataError, ValueError):  # not a UUID
            return None

    def _key_record(self, row: Any) -> KeyRecord | None:
        if row is None:
            return None
        principal = Principal(
            user_id=str(row["user_id"]), tenant_id=str(row["tenant_id"]), role=row["role"], api_key_id=str(row["id"]),
            tenant_limits=_limits(row, self.settings),
            key_limits=TenantLimits(requests_per_minute=row["key_rpm"] or 0, tokens_per_minute=row["key_tpm"] or 0),
            store_content=bool(row["store_content"]),
        )
        usable = row["revoked_at"] is None and bool(row["user_active"]) and bool(row["tenant_active"])
        return KeyRecord(principal, row["expires_at"], usable)

    async def user(self, user_id: str) -> UserRecord | None:
        """The user and its tenant, or None when the user does not exist."""
        try:
            row = await self.db.fetchrow(_USER_QUERY, user_id)
        except (asyncpg.DataError, ValueError):  # not a UUID
            return None
        if row is None:
            return None
        return UserRecord(str(row["tenant_id"]), row["role"], bool(row["active"]), _limits(row, self.settings),
                          bool(row["store_content"]))

    async def tenant(self, tenant_id: str) -> tuple[bool, TenantLimits, bool] | None:
        """(active, limits, store_content) or None when the tenant does not exist."""
        try:
            row = await self.db.fetchrow(_TENANT_QUERY, tenant_id)
        except (asyncpg.DataError, ValueError):
            return None
        if row is None:
            return None
        return bool(row["is_active"]), _limits(row, self.settings), bool(row["store_content"])


async def connect_database(settings: RuntimeSettings, max_size: int = 10) -> asyncpg.Pool:
    """Database connections opened on demand (min_size 0), so start-up does not need the database."""
    # HelixFlow's schema first, whatever the role's own search_path (a single-URL database may not set it)
    connections = asyncpg.create_pool(settings.database_url, min_size=0, max_size=max_size, command_timeout=10,
                                        timeout=3, server_settings={"search_path": SCHEMA})
    return await connections
