"""Storing a request's usage record (and its tokens against the quotas) before the answer goes out."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from helixflow.runtime.common.principal import Principal
from helixflow.runtime.gateway.ids import uuid4_str
from helixflow.runtime.gateway.protocol import InferenceRequest
from helixflow.runtime.gateway.quotas import has_limits
from helixflow.runtime.gateway.state import GatewayState
from helixflow.runtime.gateway.usage import STREAM, UsageRecord, insert_records
from helixflow.runtime.gateway.usage_extract import Usage

log = logging.getLogger("helixflow.gateway")


@dataclass(slots=True)
class Exchange:
    """One request's facts, filled in as it goes; read by accounting, metrics and the log line."""

    endpoint: str
    path: str
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    started_wall: float = field(default_factory=time.time)
    row_id: str = field(default_factory=uuid4_str)
    principal: Principal | None = None
    request: InferenceRequest | None = None
    status: int = 500
    cache: str = ""
    usage: Usage = field(default_factory=Usage)
    disconnected: bool = False
    response_started: bool = False


async def record_usage(state: GatewayState, ex: Exchange, *, status: str, status_code: int, cached: bool = False,
                       error: str | None = None, response: Any = None) -> None:
    """Never raises: Redis first; PostgreSQL directly if Redis fails; a log line as the last resort."""
    principal, request = ex.principal, ex.request
    if principal is None or request is None:
        return
    store = principal.store_content
    record = UsageRecord(
        id=ex.row_id, user_id=principal.user_id, tenant_id=principal.tenant_id, api_key_id=principal.api_key_id,
        client_request_id=ex.request_id, model=request.model, endpoint=ex.endpoint, status=status,
        status_code=status_code, prompt_tokens=ex.usage.prompt_tokens, completion_tokens=ex.usage.completion_tokens,
        latency_ms=round((time.perf_counter() - ex.started) * 1000, 3), cached=cached, created_at=ex.started_wall,
        completed_at=time.time(), error_message=error,
        messages=(request.body.get("messages") or request.body.get("prompt") or request.body.get("input"))
        if store else None,
        parameters={k: v for k, v in request.body.items() if k not in ("messages", "prompt", "input")}
        if store else None,
        response=response if store else None,
    )
    encoded = record.encode()
    # Both commands are queued before either is awaited, so they share one round trip.
    stored = state.batcher.submit("XADD", STREAM, "*", "d", encoded)
    consumed = (state.quotas.consume(principal, ex.usage.total, time.time())
                if ex.usage.total and not cached and has_limits(principal) else None)
    try:
        await stored
    except Exception:  # whatever Redis failed with, the record goes to PostgreSQL instead
        await _write_directly(state, encoded)
    if consumed is not None:
        with contextlib.suppress(Exception):  # a missed token count must not fail the request
            await consumed


async def _write_directly(state: GatewayState, encoded: bytes) -> None:
    state.metrics.usage_fallbacks.inc()
    try:
        await insert_records(state.db, [encoded])
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        # Both stores are down: keep the record in the log so it can be replayed.
        sys.stderr.write("helixflow-usage-unstored " + encoded.decode() + "\n")
