"""A small load generator: N requests at concurrency C over keep-alive connections, timed one by one."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from helixflow.stacks.validate.context import Context


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)  # of the successful requests
    errors: dict[str, int] = field(default_factory=dict)  # status code or exception name -> count
    seconds: float = 0.0
    headers_seen: dict[str, int] = field(default_factory=dict)  # x-helixflow-cache values

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        """Percent of requests that failed (a request never sent counts as failed)."""
        return 100.0 * (self.requests - len(self.latencies_ms)) / self.requests if self.requests else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "concurrency": self.concurrency,
            "ok": len(self.latencies_ms),
            "errors": dict(self.errors),
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "throughput_rps": round(self.throughput, 1),
            "error_rate_percent": round(self.error_rate, 3),
            "seconds": round(self.seconds, 2),
        }


def run_load(
    ctx: Context, path: str, body: dict[str, Any], headers: dict[str, str], requests: int, concurrency: int
) -> LoadResult:
    """Runs within the context's remaining time; requests not sent by then count as errors ('time bound')."""
    result = LoadResult(requests=requests, concurrency=concurrency)
    budget = ctx.remaining()

    async def main() -> None:
        import httpx

        queue = iter(range(requests))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        all_headers = {"Authorization": f"Bearer {ctx.deployment.api_key}", **headers}
        async with httpx.AsyncClient(
            base_url=ctx.deployment.endpoint, verify=ctx.ssl_context(), limits=limits, timeout=min(30.0, budget) or 1.0
        ) as client:

            async def worker() -> None:
                for _ in queue:
                    started = time.perf_counter()
                    try:
                        response = await client.post(path, json=body, headers=all_headers)
                    except httpx.HTTPError as err:
                        name = type(err).__name__
                        result.errors[name] = result.errors.get(name, 0) + 1
                        continue
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code == 200:
                        result.latencies_ms.append(elapsed)
                        cache = response.headers.get("x-helixflow-cache", "none")
                        result.headers_seen[cache] = result.headers_seen.get(cache, 0) + 1
                    else:
                        code = str(response.status_code)
                        result.errors[code] = result.errors.get(code, 0) + 1

            # one unmeasured request per connection first: TLS handshakes and cold caches are not the steady state
            warm = [client.post(path, json=body, headers=all_headers) for _ in range(concurrency)]
            await asyncio.gather(*warm, return_exceptions=True)
            clock["start"] = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))

    clock = {"start": time.perf_counter()}  # reset once the warm-up is done
    try:
        asyncio.run(asyncio.wait_for(main(), timeout=max(budget, 0.1)))
    except TimeoutError:
        unsent = requests - len(result.latencies_ms) - result.failed
        result.errors["time bound"] = result.errors.get("time bound", 0) + unsent
    result.seconds = time.perf_counter() - clock["start"]
    return result
