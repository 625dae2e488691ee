"""Optional OpenTelemetry tracing (``HELIXFLOW_TRACING_ENABLED=true``, OTLP over HTTP to
``HELIXFLOW_OTLP_ENDPOINT``). Off by default; the packages come with the ``tracing`` extra.

The SDK is imported once, at start-up, and only when enabled: a failed optional import
must never be retried on the request path.
"""

from __future__ import annotations

import logging
from typing import Any

from helixflow.runtime.settings import RuntimeSettings

log = logging.getLogger("helixflow.tracing")


def setup_tracing(settings: RuntimeSettings, service: str) -> Any | None:
    """A tracer, or None when tracing is off or the ``tracing`` extra is not installed."""
    if not settings.tracing_enabled:
        return None
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("HELIXFLOW_TRACING_ENABLED is set but the 'tracing' extra is not installed: tracing stays off")
        return None
    provider = TracerProvider(resource=Resource.create({"service.name": f"{settings.service_name}-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.otlp_endpoint)))
    return provider.get_tracer("helixflow.runtime")


def traceparent(span: Any) -> str | None:
    """The W3C ``traceparent`` header for a span, so the pool's spans join the gateway's trace."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"
