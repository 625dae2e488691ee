"""sglang-router (PyPI `sglang-router` 0.3.2) as a typed spec rendering its exact argv.

Defaults are tuned for failover rather than taken from the router:
- active health checks every 2 s, unhealthy after 2 failures with a 1 s probe
  timeout, so a dead worker is out of rotation within ~5 s (router default: 60 s
  interval, i.e. minutes);
- 5 retries with 50 ms → 1 s backoff: a request that hit a dead worker is retried
  on another one, and with every worker dead the client gets a 503 within about a
  second instead of a 30 s retry storm (router default: 5 retries up to 30 s);
- circuit breaker opens after 5 failures and half-opens after 5 s: a worker that
  failed requests stays out of rotation even once its health checks pass again,
  until the breaker half-opens, so this bounds how soon a restarted worker gets
  traffic back (router default: 10 failures, 60 s);
- request timeout 600 s: it bounds a whole request, streams included, so it is
  also how long a client waits on a worker that hangs mid-stream (the router then
  closes the stream).

Pool readiness must come from `/readiness` or `/workers`: the router's `/health`
stays 200 with every worker dead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

ROUTER_API_KEY_ENV = "HELIXFLOW_ROUTER_API_KEY"
RouterPolicy = Literal["cache_aware", "round_robin", "random", "power_of_two"]
LogLevel = Literal["debug", "info", "warn", "error"]


class ServiceDiscovery(BaseModel):
    """Kubernetes pod discovery; the router needs RBAC get/list/watch on pods."""

    model_config = ConfigDict(extra="forbid")

    selector: dict[str, str] = Field(min_length=1)
    namespace: str | None = None
    port: int = Field(default=30000, ge=1, le=65535)


class RouterSpec(BaseModel):
    """How to launch one sglang-router. Raises pydantic.ValidationError on bad values."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=30000, ge=1, le=65535)
    worker_urls: list[str] = Field(default_factory=list)
    policy: RouterPolicy = "cache_aware"
    # Bearer key the router sends to workers (workers started with the same key) and requires of callers. It never
    # goes on the command line: the process gets it in ROUTER_API_KEY_ENV (`env()`), or, with api_key_env, the
    # environment already holds it (a pod's Secret), and launch_router reads it from there.
    api_key: SecretStr | None = None
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prometheus_host: str = "127.0.0.1"
    prometheus_port: int = Field(default=29000, ge=1, le=65535)

    health_check_interval_secs: int = Field(default=2, ge=1)
    health_failure_threshold: int = Field(default=2, ge=1)
    health_success_threshold: int = Field(default=1, ge=1)
    health_check_timeout_secs: int = Field(default=1, ge=1)
    health_check_endpoint: str = "/health"

    # Until health checks mark a dead worker (worst_case_detection_s), requests still reach it and fail at
    # once; concurrent retries share the round-robin turn, so 3 attempts could all land on the dead worker
    # (seen as a rare 500 under load). 5 attempts make that ~16x less likely; each costs one backoff.
    retry_max_retries: int = Field(default=5, ge=1)
    retry_initial_backoff_ms: int = Field(default=50, ge=0)
    retry_max_backoff_ms: int = Field(default=1000, ge=0)
    cb_failure_threshold: int = Field(default=5, ge=1)
    cb_success_threshold: int = Field(default=2, ge=1)
    cb_timeout_duration_secs: int = Field(default=5, ge=1)

    request_timeout_secs: int = Field(default=600, ge=1)
    worker_startup_timeout_secs: int = Field(default=600, ge=1)
    worker_startup_check_interval: int = Field(default=1, ge=1)
    max_concurrent_requests: int = Field(default=-1, ge=-1)

    # A local tokenizer (file or HF directory) so the router never tries to download one.
    tokenizer_path: Path | None = None
    model_path: str | None = None
    service_discovery: ServiceDiscovery | None = None
    log_level: LogLevel = "warn"
    extra_args: list[str] = Field(default_factory=list)

    @field_validator("worker_urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"worker URL {url!r} must start with http:// or https://")
        return [u.rstrip("/") for u in urls]

    @field_validator("health_check_endpoint")
    @classmethod
    def _endpoint(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("health_check_endpoint must start with '/'")
        return path

    @model_validator(mode="after")
    def _ports(self) -> RouterSpec:
        if self.port == self.prometheus_port and self.host == self.prometheus_host:
            raise ValueError(f"port and prometheus_port are both {self.port}")
        if self.retry_max_backoff_ms < self.retry_initial_backoff_ms:
            raise ValueError("retry_max_backoff_ms must be >= retry_initial_backoff_ms")
        if self.api_key is not None and self.api_key_env is not None:
            raise ValueError("give api_key or api_key_env, not both")
        return self

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def worst_case_detection_s(self) -> int:
        """Longest time from a worker's death to the router marking it unhealthy."""
        return self.health_check_interval_secs * self.health_failure_threshold + self.health_check_timeout_secs

    @property
    def key_variable(self) -> str | None:
        """The environment variable the router reads its key from, or None when it has no key."""
        if self.api_key_env is not None:
            return self.api_key_env
        return ROUTER_API_KEY_ENV if self.api_key is not None else None

    def env(self) -> dict[str, str]:
        """What the router process's environment must add: the key, when this spec holds it."""
        return {ROUTER_API_KEY_ENV: self.api_key.get_secret_value()} if self.api_key is not None else {}

    def argv(self, python: str | None = None) -> list[str]:
        """The exact command line: `python -m sglang_router.launch_router …`, or with a key HelixFlow's launcher
        (`helixflow.runtime.pool.launch_router --api-key-env VAR …`), which keeps the key off the command line."""
        variable = self.key_variable
        if variable is None:
            args = [python or sys.executable, "-m", "sglang_router.launch_router"]
        else:
            args = [python or sys.executable, "-m", "helixflow.runtime.pool.launch_router", "--api-key-env", variable]
        args += ["--host", self.host, "--port", str(self.port), "--policy", self.policy]
        if self.worker_urls:
            args += ["--worker-urls", *self.worker_urls]
        args += ["--prometheus-host", self.prometheus_host, "--prometheus-port", str(self.prometheus_port)]
        args += [
            "--health-check-interval-secs", str(self.health_check_interval_secs),
            "--health-failure-threshold", str(self.health_failure_threshold),
            "--health-success-threshold", str(self.health_success_threshold),
            "--health-check-timeout-secs", str(self.health_check_timeout_secs),
            "--health-check-endpoint", self.health_check_endpoint,
            "--retry-max-retries", str(self.retry_max_retries),
            "--retry-initial-backoff-ms", str(self.retry_initial_backoff_ms),
            "--retry-max-backoff-ms", str(self.retry_max_backoff_ms),
            "--cb-failure-threshold", str(self.cb_failure_threshold),
            "--cb-success-threshold", str(self.cb_success_threshold),
            "--cb-timeout-duration-secs", str(self.cb_timeout_duration_secs),
            "--request-timeout-secs", str(self.request_timeout_secs),
            "--worker-startup-timeout-secs", str(self.worker_startup_timeout_secs),
            "--worker-startup-check-interval", str(self.worker_startup_check_interval),
            "--max-concurrent-requests", str(self.max_concurrent_requests),
            "--log-level", self.log_level,
        ]  # fmt: skip
        if self.tokenizer_path is not None:
            args += ["--tokenizer-path", str(self.tokenizer_path)]
        if self.model_path is not None:
            args += ["--model-path", self.model_path]
        if self.service_discovery is not None:
            sd = self.service_discovery
            args += ["--service-discovery", "--selector", *(f"{k}={v}" for k, v in sd.selector.items())]
            args += ["--service-discovery-port", str(sd.port)]
            if sd.namespace:
                args += ["--service-discovery-namespace", sd.namespace]
        return args + list(self.extra_args)
