"""Runtime settings, read once from the environment (prefix ``HELIXFLOW_``).

Variables (all optional in development; see runtime/README.md):

- ``HELIXFLOW_ENV``: ``development`` (default) or ``production``. Outside
  development the built-in default secret is refused.
- ``HELIXFLOW_DATABASE_URL``: ``postgresql://user:pw@host:port/db``, as the runtime's own role (it owns schema
  ``helixflow``, where the services find their tables).
- ``HELIXFLOW_DATABASE_ADMIN_URL``: the migrations only (never a service): an admin that creates that role and
  schema first (``runtime/db/roles.py``); unset, the migrations run as ``HELIXFLOW_DATABASE_URL``'s user.
- ``HELIXFLOW_REDIS_URL``: ``redis://:pw@host:port/0``.
- ``HELIXFLOW_POOL_URL``: base URL of the OpenAI-compatible inference pool
  (sglang-router), e.g. ``http://127.0.0.1:8082``; ``HELIXFLOW_POOL_API_KEY``
  is sent to it as a bearer token; ``HELIXFLOW_POOL_READINESS_PATH`` (default
  ``/readiness``) says when it is ready.
- ``HELIXFLOW_AUTH_URL``: base URL of the auth service; the gateway fetches
  ``/.well-known/jwks.json`` from it.
- ``HELIXFLOW_SECRET_KEY``: encrypts the JWT signing keys at rest.
- ``HELIXFLOW_JWT_ISSUER``, ``HELIXFLOW_JWT_AUDIENCE``, ``HELIXFLOW_JWT_TTL_SECONDS``.
- ``HELIXFLOW_GATEWAY_HOST``/``_PORT`` (8080), ``HELIXFLOW_GATEWAY_WORKERS`` (1),
  ``HELIXFLOW_AUTH_HOST``/``_PORT`` (8081), ``HELIXFLOW_MONITORING_HOST``/``_PORT`` (8083).
- ``HELIXFLOW_AUTH_CACHE_SECONDS`` (60), ``HELIXFLOW_AUTH_CACHE_STALE_SECONDS`` (600): how long a directory record
  (API key, user, tenant) is fresh, and how long since PostgreSQL last confirmed it it is still served while
  PostgreSQL is unreachable (also the bound on the JWKS served while the auth service is).
- ``HELIXFLOW_AUTH_HASH_WORKERS`` (0: half the CPUs, 1 to 4), ``HELIXFLOW_AUTH_HASH_QUEUE`` (8): password
  hashes at a time and waiting; ``HELIXFLOW_AUTH_ATTEMPTS_PER_USERNAME`` (10) and ``_PER_ADDRESS`` (30): sign-in
  attempts a minute (0: no limit); ``HELIXFLOW_AUTH_TRUSTED_PROXIES`` (``127.0.0.1,::1``): peers whose
  ``X-Forwarded-For`` names the client; ``HELIXFLOW_AUTH_MAX_BODY_BYTES`` (65536): larger bodies get 413.
- ``HELIXFLOW_MONITORING_REFRESH_SECONDS`` (10): how often the exporter re-reads PostgreSQL.
- ``HELIXFLOW_USAGE_BATCH_SIZE`` (64), ``HELIXFLOW_USAGE_CLAIM_IDLE_MS`` (15000): usage drain tuning.
- ``HELIXFLOW_USAGE_CHECKPOINT_SECONDS`` (1): how often a stream's pending usage record is rewritten with the
  tokens so far (what a gateway killed mid-stream leaves).
- ``HELIXFLOW_USAGE_WAITAOF_MS`` (0: off): each settled usage record waits for its AOF fsync, at most this long
  (``WAITAOF 1 0``; Redis 7.2+). What an acknowledged record can lose otherwise: ``gateway/aof_sync.py``.
- ``HELIXFLOW_DEFAULT_CONTEXT_TOKENS`` (32768): a model's context length when the pool's model card does not say
  (``max_tokens`` is capped at it, and reserved at it when a request does not set one).
- ``HELIXFLOW_DEFAULT_REQUESTS_PER_MINUTE``, ``HELIXFLOW_DEFAULT_TOKENS_PER_MINUTE``,
  ``HELIXFLOW_DEFAULT_MONTHLY_TOKEN_BUDGET``: limits for tenants without their own (0 = unlimited).
- ``HELIXFLOW_CACHE_ENABLED`` (true), ``HELIXFLOW_CACHE_TTL_SECONDS`` (300), ``HELIXFLOW_CACHE_LOCAL_ITEMS`` (1024).
- ``HELIXFLOW_UPSTREAM_CONNECT_TIMEOUT`` (2 s), ``HELIXFLOW_UPSTREAM_READ_TIMEOUT`` (300 s).
- ``HELIXFLOW_LOG_REQUESTS`` (true): one JSON line per request on stdout.
- ``HELIXFLOW_TRACING_ENABLED`` (false), ``HELIXFLOW_OTLP_ENDPOINT``: optional OpenTelemetry export.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "helixflow-development-secret-do-not-use"


class RuntimeSettings(BaseSettings):
    """Every knob of the three services. Raises ``ValueError`` (via pydantic) on bad values."""

    model_config = SettingsConfigDict(env_prefix="HELIXFLOW_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "postgresql://helixflow:helixflow@127.0.0.1:5432/helixflow"
    database_admin_url: SecretStr = SecretStr("")  # the migrations' admin step only
    redis_url: str = "redis://127.0.0.1:6379/0"
    pool_url: str = "http://127.0.0.1:8082"
    pool_api_key: SecretStr = SecretStr("")
    pool_readiness_path: str = "/readiness"
    auth_url: str = "http://127.0.0.1:8081"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)

    jwt_issuer: str = "helixflow-auth"
    jwt_audience: str = "helixflow-api"
    jwt_ttl_seconds: int = 3600
    jwks_cache_seconds: int = 300
    # Directory records (API keys, users with their tenants): fresh this long, then refreshed while served;
    # while PostgreSQL is unreachable served up to the stale bound since it last confirmed them (Redis keeps
    # them for processes that start meanwhile). Revocations apply within a second regardless (auth epoch).
    auth_cache_seconds: float = Field(default=60.0, gt=0)
    auth_cache_stale_seconds: float = Field(default=600.0, gt=0)

    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    gateway_workers: int = 1
    auth_host: str = "127.0.0.1"
    auth_port: int = 8081
    monitoring_host: str = "127.0.0.1"
    monitoring_port: int = 8083

    default_requests_per_minute: int = 0
    default_tokens_per_minute: int = 0
    default_monthly_token_budget: int = 0

    cache_enabled: bool = True
    cache_ttl_seconds: int = 300
    cache_local_items: int = 1024

    upstream_connect_timeout: float = 2.0
    upstream_read_timeout: float = 300.0
    upstream_max_connections: int = 512

    monitoring_refresh_seconds: float = 10.0

    auth_hash_workers: int = Field(default=0, ge=0, le=64)
    auth_hash_queue: int = Field(default=8, ge=0)
    auth_attempts_per_username: int = Field(default=10, ge=0)
    auth_attempts_per_address: int = Field(default=30, ge=0)
    auth_trusted_proxies: str = "127.0.0.1,::1"
    auth_max_body_bytes: int = Field(default=65536, ge=1024)

    # Batches of at most 64: with 500 (a 50 ms gathering at ~3,500 req/s) each batch's read, insert and ack
    # were bursts that showed in the benchmark's p99 (median of six interleaved runs 24.3 -> 19.1 ms, same
    # throughput and CPU a request).
    usage_batch_size: int = 64
    usage_claim_idle_ms: int = 15000
    usage_checkpoint_seconds: float = Field(default=1.0, gt=0)
    # > 0: each settled usage record waits for its AOF fsync (WAITAOF, Redis 7.2+), at most this long.
    usage_waitaof_ms: int = Field(default=0, ge=0, le=10_000)
    default_context_tokens: int = Field(default=32768, ge=1)

    log_requests: bool = True
    tracing_enabled: bool = False
    otlp_endpoint: str = "http://127.0.0.1:4318/v1/traces"
    service_name: str = "helixflow"

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> RuntimeSettings:
        if self.env != "development":
            if self.secret_key.get_secret_value() in ("", DEVELOPMENT_SECRET):
                raise ValueError("HELIXFLOW_SECRET_KEY must be set to a real secret outside development")
            if len(self.secret_key.get_secret_value()) < 16:
                raise ValueError("HELIXFLOW_SECRET_KEY must be at least 16 characters")
        if self.auth_cache_stale_seconds < self.auth_cache_seconds:
            raise ValueError("HELIXFLOW_AUTH_CACHE_STALE_SECONDS must be at least HELIXFLOW_AUTH_CACHE_SECONDS")
        if self.gateway_workers < 1:
            raise ValueError("HELIXFLOW_GATEWAY_WORKERS must be at least 1")
        return self


@functools.cache
def get_settings() -> RuntimeSettings:
    """The process's settings, read from the environment on first use."""
    return RuntimeSettings()
