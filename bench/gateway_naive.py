"""Baseline (b) of the gateway benchmark: the naive FastAPI + httpx pass-through with a bearer check.

``python bench/gateway_naive.py PORT UPSTREAM_URL TOKEN``
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response


def create_app(upstream: str, token: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.client = httpx.AsyncClient(base_url=upstream, timeout=30)
        yield
        await app.state.client.aclose()

    # FastAPI 0.163 wraps every request in its own OpenTelemetry layer by default; NAIVE_TELEMETRY=off
    # measures the same pass-through without it.
    telemetry = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    app = FastAPI(lifespan=lifespan, **({"telemetry": telemetry} if os.environ.get("NAIVE_TELEMETRY") == "off" else {}))

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {token}":
            raise HTTPException(401, "unauthorized")
        body = await request.json()
        upstream_response = await app.state.client.post("/v1/chat/completions", json=body)
        return Response(upstream_response.content, status_code=upstream_response.status_code,
                        media_type="application/json")

    return app


if __name__ == "__main__":
    port, upstream_url, bearer_token = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    uvicorn.run(create_app(upstream_url, bearer_token), host="127.0.0.1", port=port, log_level="warning",
                access_log=False, loop="uvloop", http="httptools")
