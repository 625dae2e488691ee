"""The seed's health checks (database, redis, model_loading, memory_usage, disk_space) and the probe endpoints.

``/health`` reports every check; ``/health/live`` only says the process answers;
``/health/ready`` is 200 when the checks a service depends on pass, else 503.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
import psutil
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CHECK_TIMEOUT = 2.0
MEMORY_LIMIT_PERCENT = 95.0
DISK_FREE_MIN_PERCENT = 5.0

Check = Callable[[], Awaitable[dict[str, Any]]]


def database_check(db: asyncpg.Pool) -> Check:
    async def check() -> dict[str, Any]:
        await db.fetchval("SELECT 1")
        return {}
    return check


def redis_check(redis: Redis) -> Check:
    async def check() -> dict[str, Any]:
        await redis.ping()
        return {}
    return check


def pool_check(client: httpx.AsyncClient, url: str) -> Check:
    """sglang-router's /health stays 200 with every worker dead; /readiness tells the truth."""

    async def check() -> dict[str, Any]:
        response = await client.get(url, timeout=CHECK_TIMEOUT)
        if response.status_code != 200:
            raise RuntimeError(f"pool readiness answered {response.status_code}")
        return {}
    return check


async def memory_check() -> dict[str, Any]:
    percent = psutil.virtual_memory().percent
    if percent > MEMORY_LIMIT_PERCENT:
        raise RuntimeError(f"memory {percent:.0f}% used")
    return {"percent_used": percent}


async def disk_check() -> dict[str, Any]:
    usage = shutil.disk_usage("/")
    free = usage.free / usage.total * 100
    if free < DISK_FREE_MIN_PERCENT:
        raise RuntimeError(f"disk {free:.1f}% free")
    return {"percent_free": round(free, 1)}


@dataclass
class HealthChecks:
    """Named checks; ``required`` names the ones readiness waits for."""

    checks: dict[str, Check] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    async def run(self) -> dict[str, dict[str, Any]]:
        async def one(check: Check) -> dict[str, Any]:
            try:
                detail = await asyncio.wait_for(check(), CHECK_TIMEOUT)
            except Exception as err:  # a health check reports every failure, it never raises
                return {"healthy": False, "error": f"{type(err).__name__}: {err}"[:200]}
            return {"healthy": True, **detail}

        results = await asyncio.gather(*(one(c) for c in self.checks.values()))
        return dict(zip(self.checks, results, strict=True))

    def routes(self) -> list[Route]:
        async def health(_: Request) -> Response:
            results = await self.run()
            healthy = all(r["healthy"] for r in results.values())
            body = {"status": "healthy" if healthy else "unhealthy", "checks": results,
                    "timestamp": dt.datetime.now(dt.UTC).isoformat()}
            return Response(orjson.dumps(body), status_code=200 if healthy else 503, media_type="application/json")

        async def live(_: Request) -> Response:
            return Response(b'{"status":"alive"}', media_type="application/json")

        async def ready(_: Request) -> Response:
            results = await self.run()
            ready = all(results[name]["healthy"] for name in self.required if name in results)
            body = {"status": "ready" if ready else "not ready",
                    "checks": {name: results[name] for name in self.required if name in results}}
            return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type="application/json")

        return [Route("/health", health, methods=["GET"]), Route("/health/live", live, methods=["GET"]),
                Route("/health/ready", ready, methods=["GET"])]
