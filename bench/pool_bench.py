"""What the pool path costs: sglang-router in front of a CPU engine versus the engine directly.

Starts one CPU engine (llama.cpp, the tiny model) and one sglang-router with that
engine as its only worker (and with --gateway, PostgreSQL, Redis, the auth service
and the gateway in front of the router), then in the same run, alternating the
paths request by request so drift hits them alike:
- added latency (p50/p99) of a short non-streamed completion (1 token);
- time to first token of a streamed chat completion;
- tokens per second of a streamed completion (256 tokens).

    .venv/bin/python bench/pool_bench.py [--requests 300] [--gateway] [--json] [--no-quickack]

The client re-arms TCP_QUICKACK (Linux) while it reads a stream, as the gateway's
upstream client does: sglang-router leaves Nagle on and holds a stream's first event
until its response headers are ACKed, so a client that delays that ACK (~40 ms)
measures its own kernel, not the router. ``--no-quickack`` measures that plain client.
The load average is printed before and after: the figures mean little on a busy machine.

Numbers are for this machine and the tiny model; the router's cost is what matters.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from helixflow.runtime.engine.tiny_model import ensure_tiny_model
from helixflow.runtime.pool.router import RouterSpec
from tests.support.pool_processes import cpu_engine_process, router_process
from tests.support.processes import free_port
from tests.support.router_control import RouterAdmin

MODEL = "tiny"
POOL_KEY = "bench-pool-key"
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def short_completion(client: httpx.Client, url: str, key: str) -> float:
    started = time.perf_counter()
    response = client.post(
        url + "/v1/completions", json={"model": MODEL, "prompt": "hello", "max_tokens": 1}, headers=_auth(key)
    )
    response.raise_for_status()
    return time.perf_counter() - started


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _quickack(sock: Any) -> None:
    if sock is not None and QUICKACK is not None:
        sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)


def streamed(
    client: httpx.Client, url: str, key: str, max_tokens: int, quickack: bool = True
) -> tuple[float, float, int]:
    """(time to first text, total time, completion tokens) of a streamed chat completion."""
    request = {
        "model": MODEL, "messages": [{"role": "user", "content": "the model"}], "max_tokens": max_tokens,
        "temperature": 0, "stream": True, "stream_options": {"include_usage": True},
    }  # fmt: skip
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    with client.stream("POST", url + "/v1/chat/completions", json=request, headers=_auth(key)) as response:
        response.raise_for_status()
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if quickack and stream is not None else None
        _quickack(sock)  # ACKs the response headers now
        pending = b""
        for data in response.iter_bytes():
            _quickack(sock)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not line.startswith(b"data: {"):
                    continue
                chunk = json.loads(line.removeprefix(b"data: "))
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                elif first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter() - started
    return (first or 0.0), time.perf_counter() - started, tokens


@contextlib.contextmanager
def gateway_in_front_of(router_url: str) -> Any:
    """PostgreSQL, Redis, auth and gateway from the test support code; yields (gateway URL, user key)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.postgres import PostgresServer
    from tests.support.redis import RedisServer
    from tests.support.services import Service, run_module, runtime_env

    with PostgresServer() as postgres, RedisServer() as redis:
        env = runtime_env(postgres.url, redis.url)
        run_module("helixflow.runtime.db", ["upgrade"], env).check_returncode()
        boot = run_module(
            "helixflow.runtime.bootstrap",
            ["bootstrap", "--tenant", "bench", "--username", "root", "--email", "root@bench.test",
             "--password", "root-password", "--json"],
            env,
        )  # fmt: skip
        boot.check_returncode()
        with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
            gateway_env = {
                **env, "HELIXFLOW_POOL_URL": router_url, "HELIXFLOW_POOL_API_KEY": POOL_KEY,
                "HELIXFLOW_AUTH_URL": auth.url,
            }  # fmt: skip
            with Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", gateway_env) as gateway:
                yield gateway.url, json.loads(boot.stdout)["api_key"]


def run(requests: int, with_gateway: bool, quickack: bool = True) -> dict[str, Any]:
    logs = Path(tempfile.mkdtemp(prefix="pool-bench-"))
    engine = cpu_engine_process(
        ensure_tiny_model(), MODEL, port=free_port(), log_path=logs / "engine.log", api_key=POOL_KEY
    )
    engine.start(timeout_s=30)
    direct = engine.ready_url.removesuffix("/health")
    spec = RouterSpec(port=free_port(), prometheus_port=free_port(), worker_urls=[direct], api_key=POOL_KEY)
    router = router_process(spec, log_path=logs / "router.log")
    try:
        router.start(timeout_s=30)
        with RouterAdmin(spec.url, api_key=POOL_KEY) as admin:
            admin.wait_for_workers(1, timeout_s=30)
        with contextlib.ExitStack() as stack:
            paths = {"direct": (direct, POOL_KEY), "router": (spec.url, POOL_KEY)}
            if with_gateway:
                paths["gateway"] = stack.enter_context(gateway_in_front_of(spec.url))
            load_before = os.getloadavg()
            results = measure(paths, requests, quickack)
            load_after = os.getloadavg()
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
    for name in results:
        if name != "direct":
            report[f"added_by_{name}"] = {
                "p50_ms": report[name]["short_p50_ms"] - report["direct"]["short_p50_ms"],
                "p99_ms": report[name]["short_p99_ms"] - report["direct"]["short_p99_ms"],
                "ttft_p50_ms": report[name]["ttft_p50_ms"] - report["direct"]["ttft_p50_ms"],
            }
    report["requests_per_path"] = requests
    report["client_quickack"] = quickack
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["load_average_after"] = [round(x, 2) for x in load_after]
    return report


def measure(
    paths: dict[str, tuple[str, str]], requests: int, quickack: bool = True
) -> dict[str, dict[str, list[float]]]:
    results: dict[str, dict[str, list[float]]] = {p: {"short": [], "ttft": [], "tps": []} for p in paths}
    with httpx.Client(timeout=60) as client:
        for url, key in paths.values():  # warm connections and caches
            for _ in range(20):
                short_completion(client, url, key)
        for _ in range(requests):
            for name, (url, key) in paths.items():
                results[name]["short"].append(short_completion(client, url, key))
        for _ in range(max(10, requests // 10)):
            for name, (url, key) in paths.items():
                ttft, _, _ = streamed(client, url, key, 8, quickack)
                results[name]["ttft"].append(ttft)
        for _ in range(5):
            for name, (url, key) in paths.items():
                _, total, tokens = streamed(client, url, key, 256, quickack)
                results[name]["tps"].append(tokens / total)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="short completions per path")
    parser.add_argument("--gateway", action="store_true", help="also measure through the gateway (needs services)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-quickack", action="store_true", help="a plain client: no TCP_QUICKACK while streaming")
    args = parser.parse_args()
    report = run(args.requests, args.gateway, not args.no_quickack)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'path':<8} {'short p50':>10} {'short p99':>10} {'TTFT p50':>10} {'stream tok/s':>13}")
    names = [n for n in ("direct", "router", "gateway") if n in report]
    for name in names:
        r = report[name]
        print(
            f"{name:<8} {r['short_p50_ms']:>8.2f}ms {r['short_p99_ms']:>8.2f}ms {r['ttft_p50_ms']:>8.2f}ms "
            f"{r['stream_tokens_per_s']:>13.0f}"
        )
    for name in names[1:]:
        added = report[f"added_by_{name}"]
        print(f"{name} path adds: p50 {added['p50_ms']:+.2f} ms, p99 {added['p99_ms']:+.2f} ms, ", end="")
        print(f"TTFT p50 {added['ttft_p50_ms']:+.2f} ms")
    before, after = report["load_average_before"], report["load_average_after"]
    print(f"client TCP_QUICKACK: {'on' if report['client_quickack'] else 'off'}; load average before {before}, "
          f"after {after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
