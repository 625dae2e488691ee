"""Usage reports, per-model prices and signing-key rotation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter

from helixflow.runtime.auth.admin_models import PriceSet
from helixflow.runtime.auth.operations import jsonable
from helixflow.runtime.auth.state import Caller, State
from helixflow.runtime.common.errors import ApiError
from helixflow.runtime.security.roles import Permission

router = APIRouter(prefix="/admin", tags=["admin"])

_USAGE_QUERY = """
SELECT model, count(*) AS requests, count(*) FILTER (WHERE status = 'completed') AS completed,
       COALESCE(sum(prompt_tokens), 0) AS prompt_tokens, COALESCE(sum(completion_tokens), 0) AS completion_tokens,
       COALESCE(sum(tokens_used), 0) AS total_tokens, COALESCE(sum(cost), 0)::float8 AS cost,
       COALESCE(avg(latency_ms), 0)::float8 AS avg_latency_ms
FROM requests WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
GROUP BY model ORDER BY model
"""


def _parse_time(value: str | None, default: dt.datetime, name: str) -> dt.datetime:
    if value is None:
        return default
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise ApiError(400, f"{name} must be an ISO 8601 timestamp", param=name) from err
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@router.get("/usage", summary="Requests, tokens and cost per model for a tenant (viewer, operator, admin)")
async def usage(caller: Caller, state: State, tenant_id: str | None = None, since: str | None = None,
                until: str | None = None) -> dict[str, Any]:
    caller.require(Permission.read_usage)
    import uuid

    try:
        tenant = str(uuid.UUID(tenant_id)) if tenant_id else caller.tenant_id
    except ValueError as err:
        raise ApiError(404, "not found", code="not_found") from err
    caller.require_tenant(tenant)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    start = _parse_time(since, now.replace(day=1, hour=0, minute=0, second=0, microsecond=0), "since")
    end = _parse_time(until, now + dt.timedelta(days=1), "until")
    rows = await state.db.fetch(_USAGE_QUERY, tenant, start, end)
    models = [jsonable(r) for r in rows]
    return {"tenant_id": tenant, "since": start.isoformat(), "until": end.isoformat(), "models": models,
            "total_requests": sum(m["requests"] for m in models),
            "total_tokens": sum(m["total_tokens"] for m in models),
            "total_cost": round(sum(m["cost"] for m in models), 6)}


_REQUEST_QUERY = """
SELECT tenant_id::text, model, endpoint, status, status_code, prompt_tokens, completion_tokens, tokens_used,
       cost::float8 AS cost, created_at, completed_at
FROM requests WHERE client_request_id = $1 ORDER BY created_at LIMIT 100
"""


@router.get("/usage/requests/{request_id}",
            summary="The usage records of one request, by the X-Request-ID it was sent with (its tenant's viewers)")
async def usage_of_request(request_id: str, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.read_usage)
    rows = [jsonable(r) for r in await state.db.fetch(_REQUEST_QUERY, request_id[:128])]
    visible = [r for r in rows if caller.role == "admin" or r["tenant_id"] == caller.tenant_id]
    if not visible:  # another tenant's request reads as unknown, like every other resource
        raise ApiError(404, "no usage recorded for this request id", code="not_found")
    return {"request_id": request_id, "records": visible}


@router.put("/prices/{model}", summary="Set a model's price per million tokens (admin)")
async def set_price(model: str, body: PriceSet, caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_prices)
    row = await state.db.fetchrow(
        "INSERT INTO model_prices (model, prompt_per_million, completion_per_million) VALUES ($1, $2, $3) "
        "ON CONFLICT (model) DO UPDATE SET prompt_per_million = $2, completion_per_million = $3, updated_at = now() "
        "RETURNING model, prompt_per_million::float8, completion_per_million::float8", model[:100],
        body.prompt_per_million, body.completion_per_million)
    assert row is not None
    return jsonable(row)


@router.get("/prices", summary="Every model's price per million tokens")
async def list_prices(caller: Caller, state: State) -> list[dict[str, Any]]:
    caller.require(Permission.read_usage)
    rows = await state.db.fetch("SELECT model, prompt_per_million::float8, completion_per_million::float8 "
                                  "FROM model_prices ORDER BY model")
    return [jsonable(r) for r in rows]


@router.post("/signing-keys/rotate", summary="Start signing with a new key (admin); old tokens stay valid")
async def rotate_signing_key(caller: Caller, state: State) -> dict[str, Any]:
    caller.require(Permission.manage_signing_keys)
    kid = await state.keystore.rotate()
    return {"kid": kid}
