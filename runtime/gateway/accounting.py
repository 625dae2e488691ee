"""Storing a request's usage record (and settling its tokens against the quotas) before the answer goes out.

A stream's record is written twice or more under one id: ``pending`` before its first token goes out (and again,
with the tokens so far, every ``usage_checkpoint_seconds``), then settled with its final status and tokens however
it ends. PostgreSQL keeps the settled one whatever order the drainers deliver them in (``usage.INSERT``), so a
gateway killed mid-stream leaves a ``pending`` row with the tokens of its last checkpoint, never no row.
"""

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
from helixflow.runtime.gateway.quotas import Reservation, has_limits
from helixflow.runtime.gateway.relay import StreamOutcome
from helixflow.runtime.gateway.state import GatewayState
from helixflow.runtime.gateway.usage import STREAM, UsageRecord, insert_records
from helixflow.runtime.gateway.usage_extract import Usage

log = logging.getLogger("helixflow.gateway")
ESTIMATED = "prompt_tokens estimated from the request's size: the pool reported no usage before the stream ended"


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
    body_bytes: int = 0
    reservation: Reservation | None = None  # tokens held against the quotas until settled
    settled: bool = False
    tally: StreamOutcome | None = None  # a stream's count so far
    next_checkpoint: float = 0.0


def _retrieve(future: Any) -> None:
    if not future.cancelled():
        future.exception()


def _settle(state: GatewayState, ex: Exchange, used: int) -> Any:
    """Queues the quota counters' update for what the request used (once); the future, or None."""
    principal = ex.principal
    if ex.settled or principal is None:
        return None
    ex.settled = True
    if ex.reservation is not None:
        return state.quotas.settle(ex.reservation, used)
    if used and has_limits(principal):
        return state.quotas.consume(principal, used, time.time())
    return None


def settle_unrecorded(state: GatewayState, ex: Exchange) -> None:
    """For an ending with no usage record (the pool unreachable, an internal error): releases the reservation."""
    if ex.reservation is None or ex.settled:
        return
    with contextlib.suppress(Exception):
        future = _settle(state, ex, ex.usage.total)
        if future is not None:
            future.add_done_callback(_retrieve)


def checkpoint(state: GatewayState, ex: Exchange, outcome: StreamOutcome) -> None:
    """Every ``usage_checkpoint_seconds`` of a stream: its ``pending`` record again, with the tokens so far (not
    awaited: a lost checkpoint only leaves the previous one)."""
    now = time.monotonic()
    if now < ex.next_checkpoint:
        return
    ex.next_checkpoint = now + state.settings.usage_checkpoint_seconds
    record = _record(ex, outcome.usage, status="pending", status_code=0, cached=False, error=None, response=None)
    if record is not None:
        with contextlib.suppress(Exception):
            state.batcher.submit("XADD", STREAM, "*", "d", record).add_done_callback(_retrieve)


def _record(ex: Exchange, usage: Usage, *, status: str, status_code: int, cached: bool, error: str | None,
            response: Any) -> bytes | None:
    principal, request = ex.principal, ex.request
    if principal is None or request is None:
        return None
    store = principal.store_content
    record = UsageRecord(
        id=ex.row_id, user_id=principal.user_id, tenant_id=principal.tenant_id, api_key_id=principal.api_key_id,
        client_request_id=ex.request_id, model=request.model, endpoint=ex.endpoint, status=status,
        status_code=status_code, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
        latency_ms=round((time.perf_counter() - ex.started) * 1000, 3), cached=cached, created_at=ex.started_wall,
        completed_at=time.time(), error_message=error,
        messages=(request.body.get("messages") or request.body.get("prompt") or request.body.get("input"))
        if store else None,
        parameters={k: v for k, v in request.body.items() if k not in ("messages", "prompt", "input")}
        if store else None,
        response=response if store else None,
    )
    return record.encode()


async def record_usage(state: GatewayState, ex: Exchange, *, status: str, status_code: int, cached: bool = False,
                       error: str | None = None, response: Any = None) -> None:
    """Stores the record and settles the quotas (``status="pending"``: a stream's first record, settling nothing).

    Never raises: Redis first; PostgreSQL directly if Redis fails; a log line as the last resort.
    """
    if ex.tally is not None:
        ex.usage = ex.tally.usage
        if ex.tally.prompt_estimated and status != "pending":
            error = (error + "; " if error else "") + ESTIMATED
    encoded = _record(ex, ex.usage, status=status, status_code=status_code, cached=cached, error=error,
                      response=response)
    if encoded is None:
        return
    if status == "pending":
        ex.next_checkpoint = time.monotonic() + state.settings.usage_checkpoint_seconds
    # Both commands are queued before either is awaited, so they share one round trip.
    stored = state.batcher.submit("XADD", STREAM, "*", "d", encoded)
    synced = state.aof_sync.submit(state.batcher) if state.aof_sync is not None and status != "pending" else None
    consumed = None
    if status != "pending":
        with contextlib.suppress(Exception):
            consumed = _settle(state, ex, 0 if cached else ex.usage.total)
    try:
        await stored
    except Exception:  # whatever Redis failed with, the record goes to PostgreSQL instead
        await _write_directly(state, encoded)
    if synced is not None and state.aof_sync is not None:
        await state.aof_sync.wait(synced)  # the answer goes out once the record is on disk (aof_sync)
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
