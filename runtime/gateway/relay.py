"""Relays an SSE stream from the pool to the client event by event, reading only what accounting needs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import orjson

from helixflow.runtime.gateway.upstream import UpstreamResponse
from helixflow.runtime.gateway.usage_extract import Usage, usage_from

SendBody = Callable[[bytes], Awaitable[None]]


@dataclass
class StreamOutcome:
    usage: Usage = field(default_factory=Usage)
    first_token_at: float | None = None
    chunks: int = 0
    finished: bool = False


async def relay_events(response: UpstreamResponse, send: SendBody, keep_usage_chunk: bool) -> StreamOutcome:
    """Forwards complete ``data:`` events; drops the usage-only chunk unless the client asked for it.

    Raises UpstreamError when the pool breaks off mid-stream.
    """
    outcome = StreamOutcome()
    pending = b""
    async for chunk in response.chunks():
        pending += chunk
        if b"\n\n" not in pending:
            continue
        *events, pending = pending.split(b"\n\n")
        out: list[bytes] = []
        for event in events:
            if not event.strip():
                continue
            if event.startswith(b"data: [DONE]"):
                outcome.finished = True  # the caller sends it once the usage record is stored
                continue
            if b'"usage":{' in event:
                payload = event[event.find(b"{"):]
                try:
                    data = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    data = None
                if isinstance(data, dict):
                    outcome.usage = usage_from(data)
                    if data.get("choices") == [] and not keep_usage_chunk:
                        continue
            if outcome.first_token_at is None and b'"choices":[{' in event:
                outcome.first_token_at = time.perf_counter()
            outcome.chunks += 1
            out.append(event + b"\n\n")
        if out:
            await send(b"".join(out))
    if pending.strip():
        await send(pending + b"\n\n")
    return outcome
