"""What no single process knows, refreshed in the background and read by a Prometheus collector:
usage, tokens and cost per tenant and model (PostgreSQL), the pool's readiness, the usage backlog and dead
letters (Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg
import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from helixflow.runtime.gateway.usage import DEAD_LETTERS, GROUP, STREAM

log = logging.getLogger("helixflow.monitoring")

# A stream's row is ``pending`` until it is settled (then it moves to its final status): counting it before would
# make the pending series go down, which a counter must not.
USAGE_QUERY = """
SELECT r.tenant_id::text AS tenant_id, COALESCE(t.name, '') AS tenant, r.model, r.status, count(*) AS requests,
       COALESCE(sum(r.prompt_tokens), 0) AS prompt_tokens, COALESCE(sum(r.completion_tokens), 0) AS completion_tokens,
       COALESCE(sum(r.cost), 0)::float8 AS cost
FROM requests r LEFT JOIN tenants t ON t.id = r.tenant_id
WHERE r.status <> 'pending'
GROUP BY r.tenant_id, t.name, r.model, r.status
"""


@dataclass
class Snapshot:
    usage: list[asyncpg.Record] = field(default_factory=list)
    database_up: bool = False
    pool_ready: bool = False
    redis_up: bool = False
    backlog: int = 0
    pending: int = 0
    dead_letters: int = 0
    refreshed_at: float = 0.0


class PlatformExporter(Collector):
    def __init__(self, db: asyncpg.Pool, redis: Redis, http: httpx.AsyncClient, readiness_url: str,
                 interval: float = 10.0) -> None:
        self.db, self.redis, self.http, self.readiness_url, self.interval = db, redis, http, readiness_url, interval
        self.snapshot = Snapshot()
        self._task: asyncio.Task[None] | None = None

    async def refresh(self) -> None:
        snap = Snapshot(refreshed_at=time.time())
        try:
            snap.usage = list(await self.db.fetch(USAGE_QUERY))
            snap.database_up = True
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as err:
            log.warning("usage query failed: %s", type(err).__name__)
            snap.usage = self.snapshot.usage  # keep the last known totals rather than dropping the series
        try:
            snap.pool_ready = (await self.http.get(self.readiness_url, timeout=2.0)).status_code == 200
        except httpx.HTTPError:
            snap.pool_ready = False
        try:
            snap.backlog = int(await self.redis.xlen(STREAM))
            snap.dead_letters = int(await self.redis.xlen(DEAD_LETTERS))
            groups = await self.redis.xinfo_groups(STREAM)
            snap.pending = sum(int(g.get("pending", 0)) for g in groups if g.get("name") in (GROUP, GROUP.encode()))
            snap.redis_up = True
        except (RedisError, OSError):
            snap.redis_up = False
        self.snapshot = snap

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="platform-exporter")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        labels = ["tenant_id", "tenant", "model", "status"]
        requests = CounterMetricFamily("helixflow_tenant_requests", "Requests per tenant, model and status",
                                       labels=labels)
        tokens = CounterMetricFamily("helixflow_tenant_tokens", "Tokens per tenant and model",
                                     labels=[*labels, "kind"])
        cost = CounterMetricFamily("helixflow_tenant_cost", "Cost per tenant and model (price units)", labels=labels)
        for row in snap.usage:
            values = [row["tenant_id"] or "", row["tenant"], row["model"], row["status"] or ""]
            requests.add_metric(values, row["requests"])
            tokens.add_metric([*values, "prompt"], row["prompt_tokens"])
            tokens.add_metric([*values, "completion"], row["completion_tokens"])
            cost.add_metric(values, row["cost"])
        yield from (requests, tokens, cost)
        for name, doc, value in (
            ("helixflow_pool_ready", "1 when the inference pool's /readiness answers 200", snap.pool_ready),
            ("helixflow_database_up", "1 when the usage query succeeded", snap.database_up),
            ("helixflow_redis_up", "1 when Redis answered", snap.redis_up),
            ("helixflow_usage_backlog", "Usage records on the stream not yet in PostgreSQL", snap.backlog),
            ("helixflow_usage_pending", "Usage records read by a drainer but not yet committed", snap.pending),
            ("helixflow_usage_dead_letters", "Usage records PostgreSQL refused even without their content "
             "(replay: helixflow usage replay)", snap.dead_letters),
            ("helixflow_exporter_refreshed_timestamp_seconds", "When these figures were read", snap.refreshed_at),
        ):
            yield GaugeMetricFamily(name, doc, value=float(value))
