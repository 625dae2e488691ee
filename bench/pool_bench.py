"""What the pool path costs: sglang-router in front of a CPU engine versus the engine directly.

Starts one CPU engine (llama.cpp, the tiny model) and one sglang-router with that
engine as its only worker, then in the same run, alternating the two paths request
by request so drift hits both alike:
- added latency (p50/p99) of a short non-streamed completion (1 token);
- time to first token of a streamed chat completion;
- tokens per second of a streamed completion (256 tokens).

    .venv/bin/python bench/pool_bench.py [--requests 300] [--json]

Numbers are for this machine and the tiny model; the router's cost is what matters.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from helixflow.runtime.engine.tiny_model import ensure_tiny_model
from helixflow.runtime.pool.admin import RouterAdmin
from helixflow.runtime.pool.local import cpu_engine_process, free_port, router_process
from helixflow.runtime.pool.router import RouterSpec

MODEL = "tiny"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def short_completion(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = client.post(url + "/v1/completions", json={"model": MODEL, "prompt": "hello", "max_tokens": 1})
    response.raise_for_status()
    return time.perf_counter() - started


def streamed(client: httpx.Client, url: str, max_tokens: int) -> tuple[float, float, int]:
    """(time to first text, total time, completion tokens) of a streamed chat completion."""
    request = {
        "model": MODEL, "messages": [{"role": "user", "content": "the model"}], "max_tokens": max_tokens,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    with client.stream("POST", url + "/v1/chat/completions", json=request) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line.removeprefix("data: "))
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter() - started
    return (first or 0.0), time.perf_counter() - started, tokens


def run(requests: int) -> dict[str, Any]:
    logs = Path(tempfile.mkdtemp(prefix="pool-bench-"))
    engine = cpu_engine_process(ensure_tiny_model(), MODEL, port=free_port(), log_path=logs / "engine.log")
    engine.start(timeout_s=30)
    direct = engine.ready_url.removesuffix("/health")
    spec = RouterSpec(port=free_port(), prometheus_port=free_port(), worker_urls=[direct])
    router = router_process(spec, log_path=logs / "router.log")
    try:
        router.start(timeout_s=30)
        with RouterAdmin(spec.url) as admin:
            admin.wait_for_workers(1, timeout_s=30)
        paths = {"direct": direct, "router": spec.url}
        results: dict[str, dict[str, list[float]]] = {p: {"short": [], "ttft": [], "tps": []} for p in paths}
        with httpx.Client(timeout=60) as client:
            for url in paths.values():  # warm connections and caches
                for _ in range(20):
                    short_completion(client, url)
            for _ in range(requests):
                for name, url in paths.items():
                    results[name]["short"].append(short_completion(client, url))
            for _ in range(max(10, requests // 10)):
                for name, url in paths.items():
                    ttft, _, _ = streamed(client, url, 8)
                    results[name]["ttft"].append(ttft)
            for _ in range(5):
                for name, url in paths.items():
                    _, total, tokens = streamed(client, url, 256)
                    results[name]["tps"].append(tokens / total)
    finally:
        router.stop()
        engine.stop()
    report: dict[str, Any] = {}
    for name, series in results.items():
        report[name] = {
            "short_p50_ms": percentile(series["short"], 50) * 1000,
            "short_p99_ms": percentile(series["short"], 99) * 1000,
            "ttft_p50_ms": percentile(series["ttft"], 50) * 1000,
            "stream_tokens_per_s": statistics.median(series["tps"]),
        }
    report["added_by_router"] = {
        "p50_ms": report["router"]["short_p50_ms"] - report["direct"]["short_p50_ms"],
        "p99_ms": report["router"]["short_p99_ms"] - report["direct"]["short_p99_ms"],
        "ttft_p50_ms": report["router"]["ttft_p50_ms"] - report["direct"]["ttft_p50_ms"],
    }
    report["requests_per_path"] = requests
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="short completions per path")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    report = run(args.requests)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'path':<8} {'short p50':>10} {'short p99':>10} {'TTFT p50':>10} {'stream tok/s':>13}")
    for name in ("direct", "router"):
        r = report[name]
        print(
            f"{name:<8} {r['short_p50_ms']:>8.2f}ms {r['short_p99_ms']:>8.2f}ms {r['ttft_p50_ms']:>8.2f}ms "
            f"{r['stream_tokens_per_s']:>13.0f}"
        )
    added = report["added_by_router"]
    print(f"router adds: p50 {added['p50_ms']:+.2f} ms, p99 {added['p99_ms']:+.2f} ms, ", end="")
    print(f"TTFT p50 {added['ttft_p50_ms']:+.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
