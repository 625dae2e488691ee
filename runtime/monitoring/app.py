"""The monitoring service (:8083): a Prometheus exporter of platform-wide usage, cost and pool state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from helixflow.runtime.common.directory import connect_database
from helixflow.runtime.common.fastapi_errors import install_error_handlers, telemetry_config
from helixflow.runtime.common.health import (
    HealthChecks,
    database_check,
    disk_check,
    memory_check,
    pool_check,
    redis_check,
)
from helixflow.runtime.common.http_metrics import HttpMetrics, HttpMetricsMiddleware
from helixflow.runtime.common.metrics_registry import metrics_route
from helixflow.runtime.monitoring.exporter import PlatformExporter
from helixflow.runtime.settings import RuntimeSettings, get_settings


def create_app(settings: RuntimeSettings | None = None) -> FastAPI:
    """Build the app; connections are opened in the lifespan, not here."""
    settings = settings or get_settings()
    registry = CollectorRegistry()
    health = HealthChecks()
    readiness_url = settings.pool_url.rstrip("/") + settings.pool_readiness_path

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await connect_database(settings, max_size=2)
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        http = httpx.AsyncClient()
        exporter = PlatformExporter(db, redis, http, readiness_url, settings.monitoring_refresh_seconds)
        registry.register(exporter)
        health.checks.update({"database": database_check(db), "redis": redis_check(redis),
                              "model_loading": pool_check(http, readiness_url), "memory_usage": memory_check,
                              "disk_space": disk_check})
        health.required = ("database",)
        exporter.start()
        try:
            yield
        finally:
            await exporter.stop()
            registry.unregister(exporter)
            await http.aclose()
            await redis.aclose()
            await db.close()

    app = FastAPI(title="HelixFlow monitoring service", version="1", lifespan=lifespan,
              telemetry=telemetry_config(settings.tracing_enabled))
    install_error_handlers(app)
    app.router.routes.extend([*health.routes(), metrics_route(registry)])
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry), router=app.router)
    return app
