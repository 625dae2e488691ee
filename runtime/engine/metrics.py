"""The `sglang:` metrics the CPU engine can report honestly.

Names and the `model_name` label follow SGLang's server so the same dashboards,
alerts and router load signals work against either engine. Only what this engine
really measures is exported: no GPU, KV-cache or speculative-decoding gauges.
Each engine has its own registry (no process-global state).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class EngineMetrics:
    def __init__(self, model_name: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("model_name",)

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, labels, registry=self.registry)

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, labels, registry=self.registry)

        def histogram(name: str, doc: str) -> Histogram:
            return Histogram(name, doc, labels, buckets=_LATENCY_BUCKETS, registry=self.registry)

        self.prompt_tokens = counter("sglang:prompt_tokens", "Prefill tokens processed.").labels(model_name)
        self.generation_tokens = counter("sglang:generation_tokens", "Tokens generated.").labels(model_name)
        self.requests = counter("sglang:num_requests", "Requests that finished.").labels(model_name)
        self.aborted = counter("sglang:num_aborted_requests", "Requests cancelled before finishing.").labels(model_name)
        self.running = gauge("sglang:num_running_reqs", "Requests being decoded now.").labels(model_name)
        self.queued = gauge("sglang:num_queue_reqs", "Requests waiting for the engine.").labels(model_name)
        self.time_to_first_token = histogram(
            "sglang:time_to_first_token_seconds", "Arrival to first non-empty text, queueing included."
        ).labels(model_name)
        self.inter_token_latency = histogram(
            "sglang:inter_token_latency_seconds", "Time between consecutive generated tokens."
        ).labels(model_name)
        self.e2e_latency = histogram(
            "sglang:e2e_request_latency_seconds", "Arrival to the last token, queueing included."
        ).labels(model_name)
        self.queue_time = histogram("sglang:queue_time_seconds", "Time waiting for the engine.").labels(model_name)
