"""Performance: latency percentiles, error rate and throughput under load; the gateway's own overhead.

Two runs of --requests requests at --concurrency: generation (cache bypassed, --max-tokens tokens each)
and overhead (one deterministic 1-token request repeated: after the first, the gateway answers from its
response cache, so the time is TLS + nginx + the gateway's authentication, quota, cache and usage path
with no generation).
"""

from __future__ import annotations

from helixflow.stacks.validate.checks.api import NO_CACHE, chat_body
from helixflow.stacks.validate.checks.load import LoadResult, run_load
from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import CheckFailed, Outcome, failed, passed
from helixflow.stacks.validate.registry import check


def generation_load(ctx: Context) -> LoadResult:
    def make() -> LoadResult:
        body = chat_body(ctx, max_tokens=ctx.options.max_tokens)
        return run_load(ctx, "/v1/chat/completions", body, NO_CACHE, ctx.options.requests, ctx.options.concurrency)

    return ctx.memo("generation-load", make)


def overhead_load(ctx: Context) -> LoadResult:
    def make() -> LoadResult:
        body = chat_body(ctx, max_tokens=1, temperature=0, seed=7)
        warm = ctx.call("POST", "/v1/chat/completions", json=body)  # fills the cache
        if warm.status_code != 200:
            raise CheckFailed(f"the warm-up request answered {warm.status_code}")
        return run_load(ctx, "/v1/chat/completions", body, {}, ctx.options.requests, ctx.options.concurrency)

    return ctx.memo("overhead-load", make)


def _figures(result: LoadResult) -> str:
    return (
        f"p50 {result.percentile(50):.1f} / p95 {result.percentile(95):.1f} / p99 {result.percentile(99):.1f} ms, "
        f"{result.throughput:.1f} req/s"
    )


@check(
    "latency",
    "performance",
    critical=False,
    description="Generation requests at --concurrency: p50/p95/p99 and throughput; p95 under --latency-p95-ms",
)
def latency(ctx: Context) -> Outcome:
    result = generation_load(ctx)
    if not result.latencies_ms:
        return failed(f"no request succeeded ({result.errors})")
    value = _figures(result)
    limit = ctx.options.latency_p95_ms
    if result.percentile(95) >= limit:
        return failed(f"p95 {result.percentile(95):.0f} ms is not under {limit:g} ms", value=value, **result.figures())
    return passed(value, **result.figures())


@check(
    "error-rate",
    "performance",
    critical=True,
    description="Under load (both runs) fewer than --max-error-rate percent of requests fail",
)
def error_rate(ctx: Context) -> Outcome:
    runs, problems = [generation_load(ctx)], []
    try:
        runs.append(overhead_load(ctx))
    except CheckFailed as err:
        problems.append(f"overhead run: {err.explanation}")
    total = sum(r.requests for r in runs)
    bad = sum(r.requests - len(r.latencies_ms) for r in runs)
    rate = 100.0 * bad / total if total else 0.0
    errors: dict[str, int] = {}
    for r in runs:
        for kind, n in r.errors.items():
            errors[kind] = errors.get(kind, 0) + n
    value = f"{rate:.3f}% ({bad}/{total})"
    if rate >= ctx.options.max_error_rate:
        limit = ctx.options.max_error_rate
        problems.insert(0, f"error rate {rate:.2f}% is not under {limit:g}% (by status: {errors})")
    if problems:
        return failed("; ".join(problems), value=value, errors=errors)
    return passed(value, errors=errors)


@check(
    "gateway-overhead",
    "performance",
    critical=False,
    description="The gateway's own latency (cached 1-token answers, no generation): p95 and p99 under "
    "--overhead-p95-ms / --overhead-p99-ms",
)
def gateway_overhead(ctx: Context) -> Outcome:
    result = overhead_load(ctx)
    if not result.latencies_ms:
        return failed(f"no request succeeded ({result.errors})")
    figures = result.figures()
    hits = result.headers_seen.get("hit", 0)
    figures["cache_hits"] = hits
    value = _figures(result)
    if hits < len(result.latencies_ms) // 2:
        value += " (no response cache: includes 1-token generation)"
    p95, p99 = result.percentile(95), result.percentile(99)
    if p95 >= ctx.options.overhead_p95_ms or p99 >= ctx.options.overhead_p99_ms:
        return failed(
            f"p95 {p95:.1f} ms / p99 {p99:.1f} ms; limits {ctx.options.overhead_p95_ms:g} / "
            f"{ctx.options.overhead_p99_ms:g} ms",
            value=value,
            **figures,
        )
    return passed(value, **figures)
