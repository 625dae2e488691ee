"""Relays an SSE stream from the pool to the client event by event, counting what it relays as it goes.

The count is the stream's tally (``StreamOutcome``), kept on the request's exchange, so whatever ends the stream
(the client leaving, the pool breaking off, the gateway stopping) bills what had been sent. The gateway asks the
pool for ``stream_options.continuous_usage_stats`` (SGLang, vLLM): then every event carries the usage so far.
Where the pool does not give it (sglang-router 0.3 drops ``continuous_usage_stats`` on its way to the workers), each
event with content counts as one completion token (SGLang sends one event per decoded step), and a stream that ends
before the pool's final usage chunk is billed the prompt estimated from the request's size (``prompt_estimate``),
so a client cannot have a long prompt prefilled for free by hanging up after the first token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from helixflow.runtime.gateway.upstream import PoolResponse
from helixflow.runtime.gateway.usage_extract import Usage, usage_from

SendBody = Callable[[bytes], Awaitable[None]]
# Generated text in an event (a first event with only the role, or a last one with only finish_reason, has none).
_CONTENT = re.compile(rb'"(?:content|text|reasoning_content|arguments)": ?"[^"]')


@dataclass(slots=True)
class StreamOutcome:
    prompt_estimate: int = 0  # billed as the prompt when the pool reported no usage at all
    reported: Usage | None = None  # the pool's latest usage (continuous or final)
    final_usage: bool = False  # the pool's final usage chunk arrived: ``reported`` is the whole answer
    counted: int = 0  # events with content relayed to the client
    first_token_at: float | None = None
    chunks: int = 0
    finished: bool = False

    @property
    def usage(self) -> Usage:
        """What to bill: the pool's final usage, else the larger of its last report and the events relayed (with
        the estimated prompt if it never reported)."""
        reported = self.reported
        if reported is None:
            return Usage(self.prompt_estimate, self.counted)
        if self.final_usage:
            return reported
        return Usage(reported.prompt_tokens, max(reported.completion_tokens, self.counted))

    @property
    def prompt_estimated(self) -> bool:
        return self.reported is None and self.prompt_estimate > 0


def _has_content(event: bytes) -> bool:
    return b'"choices":[{' in event and _CONTENT.search(event) is not None


async def relay_events(response: PoolResponse, send: SendBody, keep_usage_chunk: bool,
                       outcome: StreamOutcome | None = None,
                       progress: Callable[[StreamOutcome], None] | None = None,
                       keep_continuous_usage: bool = False) -> StreamOutcome:
    """Forwards complete ``data:`` events; drops the usage-only chunk unless the client asked for it, and the
    usage in other chunks (``null`` then, as OpenAI sends them) unless it asked for continuous usage itself.
    Counts into ``outcome`` as it goes and calls ``progress`` after each batch of events is sent.

    Raises UpstreamError when the pool breaks off mid-stream.
    """
    outcome = outcome if outcome is not None else StreamOutcome()
    pending = b""
    async for chunk in response.chunks():
        pending += chunk
        if b"\n\n" not in pending:
            continue
        *events, pending = pending.split(b"\n\n")
        out: list[bytes] = []
        counted = 0
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
                    outcome.reported = usage_from(data)
                    if data.get("choices") == []:
                        outcome.final_usage = True
                        if not keep_usage_chunk:
                            continue
                    elif not keep_continuous_usage:
                        data["usage"] = None
                        event = b"data: " + orjson.dumps(data)
            if _has_content(event):
                counted += 1
                if outcome.first_token_at is None:
                    outcome.first_token_at = time.perf_counter()
            outcome.chunks += 1
            out.append(event + b"\n\n")
        if out:
            outcome.counted += counted  # counted as handed to the client's connection
            await send(b"".join(out))
            if progress is not None:
                progress(outcome)
    if pending.strip():
        await send(pending + b"\n\n")
    return outcome
