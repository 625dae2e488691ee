"""What the gateway learns from the pool, cached: the model list (the JWKS is in ``jwks``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from helixflow.runtime.gateway.upstream import UpstreamConnections, UpstreamError

MODELS_TTL = 10.0


class ModelCatalog:
    """The pool's ``/v1/models``; ``known`` is None when the list cannot be had (the pool then answers itself)."""

    def __init__(self, upstream: UpstreamConnections) -> None:
        self.upstream = upstream
        self.raw: bytes | None = None
        self._ids: frozenset[str] | None = None
        self._context: dict[str, int] = {}
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if self._expires > time.monotonic():
                return
            try:
                response = await self.upstream.request("GET", "/v1/models")
                try:
                    body = await response.read()
                finally:
                    response.release()
                data = orjson.loads(body) if response.status == 200 else None
            except (UpstreamError, orjson.JSONDecodeError):
                data = None
            if isinstance(data, dict) and isinstance(data.get("data"), list):
                self.raw = body
                cards = [m for m in data["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
                self._ids = frozenset(m["id"] for m in cards)
                self._context = {m["id"]: length for m in cards if (length := _context_length(m))}
                self._expires = time.monotonic() + MODELS_TTL
            else:
                self._ids, self.raw = None, None
                self._expires = time.monotonic() + 1.0

    def context_length(self, model: str) -> int | None:
        """The model's context length as its card says (``max_model_len``: SGLang, vLLM), if the pool said."""
        return self._context.get(model)

    async def known(self, model: str) -> bool | None:
        if self._expires <= time.monotonic():
            await self.refresh()
        return None if self._ids is None else model in self._ids


def _context_length(card: dict[str, Any]) -> int | None:
    for name in ("max_model_len", "context_length", "context_window"):
        value = card.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None
