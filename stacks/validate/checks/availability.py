"""Availability: the endpoint's health and readiness, and every component of a local stack."""

from __future__ import annotations

from helixflow.stacks.validate.context import Context
from helixflow.stacks.validate.model import Outcome, failed, passed, skipped
from helixflow.stacks.validate.registry import check


@check(
    "endpoint-health",
    "availability",
    critical=True,
    description="GET /health through the endpoint: database, redis, model_loading, memory and disk healthy",
)
def endpoint_health(ctx: Context) -> Outcome:
    response = ctx.call("GET", "/health", key=None)
    try:
        checks = response.json().get("checks", {})
    except ValueError:
        return failed(f"/health answered {response.status_code} without JSON")
    unhealthy = sorted(name for name, result in checks.items() if not result.get("healthy"))
    if response.status_code != 200 or unhealthy:
        return failed(f"/health answered {response.status_code}; unhealthy: {', '.join(unhealthy) or '?'}")
    return passed(f"{len(checks)}/{len(checks)} healthy", checks=sorted(checks))


@check(
    "endpoint-ready",
    "availability",
    critical=True,
    description="GET /health/ready through the endpoint answers 200 (redis and the inference pool ready)",
)
def endpoint_ready(ctx: Context) -> Outcome:
    response = ctx.call("GET", "/health/ready", key=None)
    if response.status_code != 200:
        return failed(f"/health/ready answered {response.status_code}: {response.text[:150]}")
    return passed("ready")


@check(
    "components",
    "availability",
    critical=True,
    description="Every component of the stack (on a local stack: gateway, auth, router, each worker, monitoring, "
    "PostgreSQL, Redis, nginx, Prometheus) is healthy, as its target reads it",
)
def components(ctx: Context) -> Outcome:
    outputs = ctx.deployment.outputs
    if not outputs.get("target"):
        return skipped("only a stack's outputs say what its components are")
    from helixflow.stacks.targets import get_target

    statuses = get_target(str(outputs["target"])).status(outputs)
    if not statuses:
        return failed("the stack's target reports no components")
    bad = [f"{s.name} {s.state}" for s in statuses if s.state != "healthy"]
    value = f"{len(statuses) - len(bad)}/{len(statuses)} healthy"
    if bad:
        return failed(f"not healthy: {', '.join(bad)}", value=value)
    return passed(value, components=[s.name for s in statuses])
