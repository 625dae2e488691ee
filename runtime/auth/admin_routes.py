"""The admin API: tenants, users and keys, enforced per route by role and tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from helixflow.runtime.auth import operations as ops
from helixflow.runtime.auth.admin_models import KeyCreate, TenantCreate, TenantUpdate, UserCreate, UserUpdate
from helixflow.runtime.auth.state import Caller, State
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.common.invalidation import bump_epoch
from helixflow.runtime.security.passwords import HashingBusy
from helixflow.runtime.security.roles import Permission, may_grant

router = APIRouter(prefix="/admin", tags=["admin"])


def _uuid_or_404(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError as err:
        raise ApiError(404, "not found", code="not_found") from err


@router.get("/me", summary="Who the credential belongs to")
async def me(caller: Caller) -> dict[str, Any]:
    return {"user_id": caller.user_id, "tenant_id": caller.tenant_id, "role": caller.role,
            "api_key_id": caller.api_key_id}


@router.post("/tenants", status_code=201, summary="Create a tenant (admin)")
async def create_tenant(body: TenantCreate, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_tenants)
    return await ops.create_tenant(state.db, body.name, requests_per_minute=body.requests_per_minute,
                                   tokens_per_minute=body.tokens_per_minute,
                                   monthly_token_budget=body.monthly_token_budget, store_content=body.store_content)


@router.get("/tenants", summary="List tenants (admin: all; others: their own)")
async def list_tenants(caller: Caller, state: State) -> list[dict[str, Any]]:
    if caller.role == "admin":
        rows = await state.db.fetch(f"SELECT {ops.TENANT_COLUMNS} FROM tenants ORDER BY created_at")
    else:
        rows = await state.db.fetch(f"SELECT {ops.TENANT_COLUMNS} FROM tenants WHERE id = $1", caller.tenant_id)
    return [ops.jsonable(r) for r in rows]


@router.get("/tenants/{tenant_id}", summary="One tenant")
async def get_tenant(tenant_id: str, caller: Caller, state: State) -> dict[str, Any]:
    tenant_id = _uuid_or_404(tenant_id)
    caller.require_tenant(tenant_id)
    row = await state.db.fetchrow(f"SELECT {ops.TENANT_COLUMNS} FROM tenants WHERE id = $1", tenant_id)
    if row is None:
        raise ApiError(404, "not found", code="not_found")
    return ops.jsonable(row)


@router.patch("/tenants/{tenant_id}", summary="Change a tenant's limits or settings (admin)")
async def update_tenant(tenant_id: str, body: TenantUpdate, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_tenants)
    tenant_id = _uuid_or_404(tenant_id)
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ApiError(400, "nothing to change")
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=2))
    row = await state.db.fetchrow(
        f"UPDATE tenants SET {assignments}, updated_at = now() WHERE id = $1 RETURNING {ops.TENANT_COLUMNS}",
        tenant_id, *changes.values())
    if row is None:
        raise ApiError(404, "not found", code="not_found")
    await bump_epoch(state.redis)
    return ops.jsonable(row)


@router.post("/users", status_code=201, summary="Create a user (admin; operator within its tenant)")
async def create_user(body: UserCreate, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_users)
    tenant_id = _uuid_or_404(body.tenant_id) if body.tenant_id else caller.tenant_id
    caller.require_tenant(tenant_id)
    if not may_grant(caller.role, body.role):
        raise ApiError(403, f"role '{caller.role}' may not create '{body.role}' users", code="insufficient_role")
    try:
        return await ops.create_user(state.db, tenant_id=tenant_id, username=body.username, email=body.email,
                                     password=body.password, role=body.role.value, hasher=state.passwords.hash)
    except HashingBusy as err:
        raise ApiError(503, "too many passwords being hashed, retry shortly", code="busy",
                       headers={"Retry-After": "1"}) from err


@router.patch("/users/{user_id}", summary="Deactivate or reactivate a user (its keys and tokens stop within a second)")
async def update_user(user_id: str, body: UserUpdate, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_users)
    user_id = _uuid_or_404(user_id)
    user = await state.db.fetchrow("SELECT tenant_id, role FROM users WHERE id = $1", user_id)
    if user is None:
        raise ApiError(404, "not found", code="not_found")
    caller.require_tenant(str(user["tenant_id"]))
    if not may_grant(caller.role, user["role"]):
        raise ApiError(403, f"role '{caller.role}' may not change '{user['role']}' users", code="insufficient_role")
    if body.is_active is None:
        raise ApiError(400, "nothing to change")
    row = await state.db.fetchrow(f"UPDATE users SET is_active = $2, updated_at = now() WHERE id = $1 "
                                  f"RETURNING {ops.USER_COLUMNS}", user_id, body.is_active)
    assert row is not None
    await bump_epoch(state.redis)  # every process drops its cached keys and users: effective within a second
    return ops.jsonable(row)


@router.get("/users", summary="List users of a tenant")
async def list_users(caller: Caller, state: State, tenant_id: str | None = None) -> list[dict[str, Any]]:
    caller.require(Permission.manage_users)
    tenant = _uuid_or_404(tenant_id) if tenant_id else caller.tenant_id
    caller.require_tenant(tenant)
    rows = await state.db.fetch(f"SELECT {ops.USER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at",
                                  tenant)
    return [ops.jsonable(r) for r in rows]


@router.post("/keys", status_code=201, summary="Create an API key (its plaintext is returned once)")
async def create_key(body: KeyCreate, caller: Caller, state: State) -> dict[str, Any]:
    user_id = caller.user_id
    if body.user_id is not None and body.user_id != caller.user_id:
        caller.require(Permission.manage_keys)
        user_id = _uuid_or_404(body.user_id)
    user = await state.db.fetchrow("SELECT tenant_id, role, is_active FROM users WHERE id = $1", user_id)
    if user is None:
        raise ApiError(404, "not found", code="not_found")
    caller.require_tenant(str(user["tenant_id"]))
    role = body.role.value if body.role else user["role"]
    if not (may_grant(user["role"], role) and may_grant(caller.role, role)):
        raise ApiError(403, f"may not create a key with role '{role}'", code="insufficient_role")
    expires_at = (dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=body.expires_in_days)
                  if body.expires_in_days else None)
    return await ops.create_key(state.db, tenant_id=str(user["tenant_id"]), user_id=user_id, role=role,
                                name=body.name, expires_at=expires_at, requests_per_minute=body.requests_per_minute,
                                tokens_per_minute=body.tokens_per_minute)


@router.get("/keys", summary="List API keys (operators and admins: the tenant's; others: their own)")
async def list_keys(caller: Caller, state: State, tenant_id: str | None = None) -> list[dict[str, Any]]:
    tenant = _uuid_or_404(tenant_id) if tenant_id else caller.tenant_id
    caller.require_tenant(tenant)
    if caller.role in ("admin", "operator"):
        rows = await state.db.fetch(f"SELECT {ops.KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 "
                                      "ORDER BY created_at", tenant)
    else:
        rows = await state.db.fetch(f"SELECT {ops.KEY_COLUMNS} FROM api_keys WHERE user_id = $1 "
                                      "ORDER BY created_at", caller.user_id)
    return [ops.jsonable(r) for r in rows]


@router.delete("/keys/{key_id}", summary="Revoke an API key (takes effect on every gateway within a second)")
async def revoke_key(key_id: str, caller: Caller, state: State) -> dict[str, Any]:
    key_id = _uuid_or_404(key_id)
    row = await state.db.fetchrow("SELECT tenant_id, user_id FROM api_keys WHERE id = $1", key_id)
    if row is None:
        raise ApiError(404, "not found", code="not_found")
    caller.require_tenant(str(row["tenant_id"]))
    if str(row["user_id"]) != caller.user_id:
        caller.require(Permission.manage_keys)
    revoked = await state.db.fetchrow(
        f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1 RETURNING {ops.KEY_COLUMNS}",
        key_id)
    assert revoked is not None
    await bump_epoch(state.redis)
    return ops.jsonable(revoked)
