"""Observability: the seed's metric names on /metrics; Prometheus scraping every target with the rules loaded."""

from __future__ import annotations

import time
from typing import Any

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import CheckFailed, CheckSkipped, Outcome, failed, passed
from helixflow.stacks.validate.registry import check

SEED_METRICS = ("api_requests_total", "api_request_duration_seconds", "model_inference_seconds", "active_connections")
SEED_ALERTS = ("HighErrorRate", "HighLatency")
# Right after `up` a target is "unknown" until its first scrape, or "down" from a scrape made while it was
# starting, until the next one (the local stack scrapes every 5 s): wait out a couple of intervals.
SCRAPE_WAIT = 12.0
METRICS_WAIT = 3.0  # the gateway's workers fold their counts into the shared files once a second


@check(
    "metrics", "observability", critical=False,
    description="The gateway exposes " + ", ".join(SEED_METRICS) + " (its internal port, or Prometheus)",
)
def metrics(ctx: Context) -> Outcome:
    # A metric family shows once it has a sample (so in multiprocess mode too): make one inference request
    # of this check's own, whatever else ran, then give the gateway's workers a folding interval or two.
    from helixflow.stacks.validate.checks.api import NO_CACHE, chat_body

    ctx.call("POST", "/v1/chat/completions", json=chat_body(ctx, max_tokens=1), headers=NO_CACHE)
    # /metrics is internal (the public endpoint does not serve it): read it where the stack's outputs say.
    if ctx.deployment.gateway_url:
        names, wait = _exposed_names, METRICS_WAIT
    elif ctx.deployment.prometheus_url:
        names, wait = _scraped_names, SCRAPE_WAIT
    else:
        raise CheckSkipped("/metrics is internal: needs the gateway's own address (a stack's outputs) or Prometheus "
                           "(--prometheus-url)")
    deadline = time.monotonic() + min(wait, ctx.remaining())
    while True:
        found = names(ctx)
        missing = [m for m in SEED_METRICS if not any(n == m or n.startswith(m + "_") for n in found)]
        if not missing:
            return passed(f"{len(SEED_METRICS)}/{len(SEED_METRICS)} seed metrics")
        if time.monotonic() > deadline:
            return failed(f"missing: {', '.join(missing)}")
        time.sleep(0.5)


def _exposed_names(ctx: Context) -> set[str]:
    """The metric families the gateway's /metrics declares (its internal address, not through nginx)."""
    response = ctx.call("GET", "/metrics", base=ctx.deployment.gateway_url, key=None)
    if response.status_code != 200:
        raise CheckFailed(f"the gateway's /metrics answered {response.status_code}")
    return {line.split(" ")[2] for line in response.text.splitlines() if line.startswith("# TYPE ")}


def _scraped_names(ctx: Context) -> set[str]:
    """The series names Prometheus holds (a histogram shows as its _bucket/_count/_sum series)."""
    return set(_prometheus(ctx, "/api/v1/label/__name__/values"))


def _prometheus(ctx: Context, path: str) -> Any:
    if not ctx.deployment.prometheus_url:
        raise CheckSkipped("no Prometheus for this target (local stacks have one; else pass --prometheus-url)")
    response = ctx.call("GET", path, base=ctx.deployment.prometheus_url, key=None)
    if response.status_code != 200:
        raise CheckFailed(f"Prometheus {path} answered {response.status_code}")
    return response.json()["data"]


@check(
    "prometheus-targets", "observability", critical=False, description="Prometheus scrapes every target and each is up"
)
def prometheus_targets(ctx: Context) -> Outcome:
    started = time.monotonic()
    while True:
        targets = _prometheus(ctx, "/api/v1/targets")["activeTargets"]
        states = {f"{t['labels'].get('job')}/{t['labels'].get('instance')}": t["health"] for t in targets}
        waiting = [n for n, s in states.items() if s != "up"]
        if not waiting or time.monotonic() - started > min(SCRAPE_WAIT, ctx.remaining()):
            break
        time.sleep(1)
    down = sorted(f"{n} {s}" for n, s in states.items() if s != "up")
    value = f"{len(states) - len(down)}/{len(states)} up"
    if not states:
        return failed("Prometheus has no targets")
    if down:
        return failed(f"not up: {', '.join(down)}", value=value)
    return passed(value)


@check(
    "prometheus-rules",
    "observability",
    critical=False,
    description="Prometheus has HelixFlow's alert rules loaded (the seed's HighErrorRate and HighLatency included)",
)
def prometheus_rules(ctx: Context) -> Outcome:
    groups = _prometheus(ctx, "/api/v1/rules")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"] if rule.get("type") == "alerting"}
    expected = set(SEED_ALERTS)
    if ctx.deployment.is_stack:  # a HelixFlow stack loads every one of HelixFlow's rules
        from helixflow.components.alert_rules import ALERT_GROUPS

        expected |= {rule["alert"] for group in ALERT_GROUPS for rule in group["rules"] if "alert" in rule}
    missing = sorted(expected - loaded)
    if missing:
        return failed(f"alert rules not loaded: {', '.join(missing)}", value=f"{len(loaded)} loaded")
    return passed(f"{len(loaded)} alert rules")
