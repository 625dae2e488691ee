"""Prometheus exposition that stays correct with several worker processes.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the gateway's launcher sets it when it
starts workers), every process writes its samples to files there and ``/metrics``
aggregates them all; otherwise a per-app registry is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def metrics_route(registry: CollectorRegistry, before_scrape: Callable[[], None] | None = None) -> Route:
    """``/metrics`` for the app's own registry, or for every worker's files in multiprocess mode.

    ``before_scrape`` runs first, on the event loop (the gateway folds its pending counts in).
    """

    async def metrics(_: Request) -> Response:
        if before_scrape is not None:
            before_scrape()
        if multiprocess_enabled():
            scrape = CollectorRegistry()
            MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
            # Collectors that are not per-process (e.g. the monitoring exporter) live in the app registry.
            return Response(generate_latest(scrape) + generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
