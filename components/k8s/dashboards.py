"""Grafana dashboards, as data: the seed's "HelixFlow Performance Overview", the engine and GPUs, and
tenants and cost. Each queries only metrics HelixFlow exports (the gateway, auth and monitoring services,
the SGLang workers) or the DCGM exporter HelixFlow installs; a unit test checks every name."""

from __future__ import annotations

from typing import Any

# What the DCGM exporter's default counters publish that these dashboards use.
DCGM_METRICS = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE")


def _panel(number: int, title: str, *queries: tuple[str, str], unit: str = "short") -> dict[str, Any]:
    return {
        "id": number, "title": title, "type": "timeseries", "datasource": {"type": "prometheus", "uid": "prometheus"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * ((number - 1) % 2), "y": 8 * ((number - 1) // 2)},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(queries)],
    }  # fmt: skip


def _dashboard(uid: str, title: str, panels: list[dict[str, Any]]) -> dict[str, Any]:
    return {"uid": uid, "title": title, "tags": ["helixflow"], "timezone": "utc", "schemaVersion": 39,
            "refresh": "30s", "time": {"from": "now-6h", "to": "now"}, "panels": panels}  # fmt: skip


def performance_overview() -> dict[str, Any]:
    return _dashboard("helixflow-performance", "HelixFlow Performance Overview", [
        _panel(1, "Request Rate",
               ("sum by (method, endpoint) (rate(api_requests_total[5m]))", "{{method}} {{endpoint}}"), unit="reqps"),
        _panel(2, "Error ratio (5xx)", ('sum(rate(api_requests_total{status=~"5.."}[5m])) '
                                        "/ clamp_min(sum(rate(api_requests_total[5m])), 1e-9)", "5xx"),
               unit="percentunit"),
        _panel(3, "Latency p50 / p95 / p99",
               *[(f"histogram_quantile({q}, sum by (le) (rate(api_request_duration_seconds_bucket[5m])))",
                  f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)], unit="s"),
        _panel(4, "Model inference time p95",
               ("histogram_quantile(0.95, sum by (le, model) (rate(model_inference_seconds_bucket[5m])))", "{{model}}"),
               unit="s"),
        _panel(5, "Active connections", ("sum(active_connections)", "in flight")),
        _panel(6, "Rate-limited requests", ("sum by (reason) (rate(helixflow_rate_limited_total[5m]))", "{{reason}}"),
               unit="reqps"),
    ])  # fmt: skip


def engine_and_gpu() -> dict[str, Any]:
    return _dashboard("helixflow-engine", "HelixFlow Engine and GPUs", [
        _panel(1, "Time to first token p95",
               ("histogram_quantile(0.95, sum by (le) (rate(sglang:time_to_first_token_seconds_bucket[5m])))",
                "engine"),
               ("histogram_quantile(0.95, sum by (le) (rate(helixflow_time_to_first_token_seconds_bucket[5m])))",
                "gateway"), unit="s"),
        _panel(2, "Running and queued requests", ("sum(sglang:num_running_reqs)", "running"),
               ("sum(sglang:num_queue_reqs)", "queued")),
        _panel(3, "Generated tokens / s", ("sum(rate(sglang:generation_tokens_total[5m]))", "tokens/s")),
        _panel(4, "GPU utilisation", ("avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", "{{Hostname}} {{gpu}}"),
               unit="percent"),
        _panel(5, "GPU memory used", ("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)",
                                      "{{Hostname}} {{gpu}}"), unit="percentunit"),
        _panel(6, "GPU power", ("sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "{{Hostname}}"), unit="watt"),
    ])  # fmt: skip


def tenants_and_cost() -> dict[str, Any]:
    return _dashboard("helixflow-tenants", "HelixFlow Tenants and Cost", [
        _panel(1, "Requests per tenant", ("sum by (tenant) (rate(helixflow_tenant_requests_total[1h]))", "{{tenant}}"),
               unit="reqps"),
        _panel(2, "Tokens per tenant",
               ("sum by (tenant, kind) (rate(helixflow_tenant_tokens_total[1h]))", "{{tenant}} {{kind}}")),
        _panel(3, "Cost per tenant (last 24 h)", ("sum by (tenant) (increase(helixflow_tenant_cost_total[24h]))",
                                                  "{{tenant}}")),
        _panel(4, "Usage records waiting", ("helixflow_usage_backlog", "backlog"),
               ("helixflow_usage_pending", "pending")),
    ])  # fmt: skip


DASHBOARDS = {"performance": performance_overview, "engine": engine_and_gpu, "tenants": tenants_and_cost}


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
