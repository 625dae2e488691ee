"""Everything the gateway's request path shares, built once per worker process in the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from helixflow.runtime.common.authenticator import Authenticator
from helixflow.runtime.gateway.aof_sync import AofSync
from helixflow.runtime.gateway.batcher import RedisBatcher
from helixflow.runtime.gateway.cache import ResponseCache
from helixflow.runtime.gateway.catalog import ModelCatalog
from helixflow.runtime.gateway.metrics import GatewayMetrics
from helixflow.runtime.gateway.quotas import Quotas
from helixflow.runtime.gateway.upstream import UpstreamConnections
from helixflow.runtime.settings import RuntimeSettings


@dataclass
class GatewayState:
    settings: RuntimeSettings
    db: asyncpg.Pool
    redis: Redis
    batcher: RedisBatcher
    upstream: UpstreamConnections
    http: httpx.AsyncClient
    authenticator: Authenticator
    quotas: Quotas
    cache: ResponseCache | None
    catalog: ModelCatalog
    metrics: GatewayMetrics
    log_line: Callable[[bytes], Any] | None
    tracer: Any | None = None
    aof_sync: AofSync | None = None  # WAITAOF after each settled usage record (HELIXFLOW_USAGE_WAITAOF_MS)
