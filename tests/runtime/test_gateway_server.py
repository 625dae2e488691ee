"""The gateway runs on uvicorn like the other services (the home-made HTTP server failed the 2x rule), and keeps
what that server did for it: a client that leaves mid-request has its request cancelled and recorded."""

from __future__ import annotations

import httpx

from tests.support.services import Service


def test_the_gateway_is_served_by_uvicorn(gateway: Service, auth_service: Service) -> None:
    for service in (gateway, auth_service):
        assert httpx.get(service.url + "/health/live").headers.get("server") == "uvicorn", service.module
