"""HelixFlow's Prometheus alert rules: the seed's HighErrorRate and HighLatency, extended.

One source for every target: the local Prometheus loads them from a file, the
Kubernetes components wrap the same groups in a PrometheusRule.
"""

from __future__ import annotations

from typing import Any

ALERT_GROUPS: list[dict[str, Any]] = [
    {
        "name": "helixflow.api",
        "rules": [
            {
                "alert": "HighErrorRate",
                "expr": (
                    'sum(rate(api_requests_total{status=~"5.."}[5m])) '
                    "/ clamp_min(sum(rate(api_requests_total[5m])), 1e-9) > 0.05"
                ),
                "for": "5m",
                "labels": {"severity": "critical"},
                "annotations": {
                    "summary": "More than 5% of API requests fail with 5xx",
                    "description": "Gateway 5xx ratio is {{ $value | humanizePercentage }} over 5 minutes.",
                },
            },
            {
                "alert": "HighLatency",
                "expr": (
                    "histogram_quantile(0.95, sum by (le) (rate(api_request_duration_seconds_bucket[5m]))) > 0.09"
                ),
                "for": "5m",
                "labels": {"severity": "warning"},
                "annotations": {
                    "summary": "API p95 latency above 90 ms",
                    "description": "p95 request duration is {{ $value | humanizeDuration }}.",
                },
            },
            {
                "alert": "HighRateLimiting",
                "expr": 'sum(rate(api_requests_total{status="429"}[5m])) > 1',
                "for": "10m",
                "labels": {"severity": "info"},
                "annotations": {"summary": "Tenants are being rate-limited steadily"},
            },
        ],
    },
    {
        "name": "helixflow.platform",
        "rules": [
            {
                "alert": "TargetDown",
                "expr": "up == 0",
                "for": "1m",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "{{ $labels.job }} at {{ $labels.instance }} is down"},
            },
            {
                "alert": "InferenceWorkerDown",
                "expr": 'up{job=~".*sglang-worker.*|.*engine.*"} == 0',
                "for": "2m",
                "labels": {"severity": "critical"},
                "annotations": {"summary": "Inference worker {{ $labels.instance }} is not answering"},
            },
            {
                "alert": "InferenceQueueGrowing",
                "expr": "sum(deriv(sglang:num_queue_reqs[10m])) > 0.1 and sum(sglang:num_queue_reqs) > 8",
                "for": "10m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "The inference queue has grown for 10 minutes: add workers"},
            },
            {
                "alert": "TimeToFirstTokenHigh",
                "expr": (
                    "histogram_quantile(0.95, sum by (le) (rate(sglang:time_to_first_token_seconds_bucket[5m]))) > 2"
                ),
                "for": "10m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "Time to first token p95 above 2 s"},
            },
            {
                "alert": "GpuMemoryHigh",
                "expr": "DCGM_FI_DEV_FB_USED / clamp_min(DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE, 1) > 0.95",
                "for": "15m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} above 95% memory"},
            },
            {
                "alert": "InferencePoolSaturated",
                "expr": "sum(sglang:num_queue_reqs) > 32",
                "for": "5m",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "Requests are queueing in the inference workers"},
            },
        ],
    },
    {
        "name": "helixflow.accounting",
        "rules": [
            {
                # The monitoring exporter's XLEN of hf:usage:dead: records PostgreSQL refused even without
                # their content. Each is a request not billed until it is replayed.
                "alert": "UsageDeadLetters",
                "expr": "max(helixflow_usage_dead_letters) > 0",
                "for": "1m",
                "labels": {"severity": "critical"},
                "annotations": {
                    "summary": "{{ $value }} usage records are dead-lettered and not billed",
                    "description": "Fix the cause (the auth service's /admin/usage/dead-letters says why), "
                    "then run `helixflow usage replay`.",
                },
            },
            {
                # 1 in a gateway process while its quota checks fail open (Redis unreachable).
                "alert": "QuotaFailOpen",
                "expr": "max(helixflow_quota_fail_open) > 0",
                "for": "1m",
                "labels": {"severity": "warning"},
                "annotations": {
                    "summary": "Quotas are not enforced: the gateway cannot reach Redis",
                    "description": "Requests are served without rate limits or token budgets until Redis is back.",
                },
            },
        ],
    },
]


def rules_document() -> dict[str, Any]:
    """The rule file Prometheus and promtool read."""
    return {"groups": ALERT_GROUPS}


ALERT_NAMES = [rule["alert"] for group in ALERT_GROUPS for rule in group["rules"]]
