"""The auth service (:8081): OAuth 2.0 token endpoint, JWKS, admin API, health and metrics."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from helixflow.runtime.auth import admin_routes, dead_letter_routes, token_routes, usage_routes
from helixflow.runtime.auth.attempts import AttemptLimiter
from helixflow.runtime.auth.keystore import KeyStore
from helixflow.runtime.auth.state import AuthState
from helixflow.runtime.common.authenticator import Authenticator
from helixflow.runtime.common.body_limit import BodyLimit
from helixflow.runtime.common.directory import Directory, connect_database
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
from helixflow.runtime.common.invalidation import EpochWatcher
from helixflow.runtime.common.metrics_registry import metrics_route
from helixflow.runtime.security.passwords import PasswordPool, default_hash_workers
from helixflow.runtime.settings import RuntimeSettings, get_settings


def create_app(settings: RuntimeSettings | None = None) -> FastAPI:
    """Build the app; connections are opened in the lifespan, not here."""
    settings = settings or get_settings()
    registry = CollectorRegistry()
    health = HealthChecks()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = await connect_database(settings)
        redis = Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        keystore = KeyStore(db, settings.secret_key.get_secret_value(), settings.jwt_ttl_seconds)
        with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
            await keystore.ensure_key()  # if the database is down, the first token request creates it
        authenticator = Authenticator(Directory(db, settings), keystore, settings)
        watcher = EpochWatcher(redis, authenticator.clear)
        watcher.start()
        http = httpx.AsyncClient()
        health.checks.update({"database": database_check(db), "redis": redis_check(redis),
                              "model_loading": pool_check(http, settings.pool_url.rstrip("/")
                                                          + settings.pool_readiness_path),
                              "memory_usage": memory_check, "disk_space": disk_check})
        health.required = ("database",)
        passwords = PasswordPool(settings.auth_hash_workers or default_hash_workers(), settings.auth_hash_queue)
        attempts = AttemptLimiter(redis, settings.auth_attempts_per_username, settings.auth_attempts_per_address)
        trusted = frozenset(p.strip() for p in settings.auth_trusted_proxies.split(",") if p.strip())
        app.state.auth = AuthState(settings, db, redis, keystore, authenticator, passwords, attempts, trusted)
        try:
            yield
        finally:
            passwords.close()
            await watcher.stop()
            await http.aclose()
            await redis.aclose()
            await db.close()

    app = FastAPI(title="HelixFlow auth service", version="1", lifespan=lifespan,
              telemetry=telemetry_config(settings.tracing_enabled))
    install_error_handlers(app)
    app.include_router(token_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(dead_letter_routes.router)
    app.router.routes.extend([*health.routes(), metrics_route(registry)])
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry), router=app.router)
    # Outermost: an oversized body is refused before anything else runs or reads it.
    app.add_middleware(BodyLimit, limit=settings.auth_max_body_bytes,
                       paths={"/oauth/token": token_routes.MAX_FORM_BYTES})
    return app
