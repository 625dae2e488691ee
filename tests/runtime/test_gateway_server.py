"""The gateway runs on uvicorn like the other services (the home-made HTTP server failed the 2x rule), and keeps
what that server did for it: a client that leaves mid-request has its request cancelled and recorded."""

from __future__ import annotations

import time

import httpx

from tests.runtime.helpers import bearer, chat, new_tenant, unique
from tests.support.services import Service


def test_the_gateway_is_served_by_uvicorn(gateway: Service, auth_service: Service) -> None:
    for service in (gateway, auth_service):
        assert httpx.get(service.url + "/health/live").headers.get("server") == "uvicorn", service.module


def test_the_admin_api_finds_a_request_s_usage_by_its_request_id(gateway: Service, auth_service: Service,
                                                                   admin_key: str) -> None:
    people = new_tenant(auth_service.url, admin_key)
    request_id = unique("usage-lookup")
    assert chat(gateway.url, people["user"]["key"], headers={"X-Request-ID": request_id}).status_code == 200
    lookup = f"{auth_service.url}/admin/usage/requests/{request_id}"
    deadline = time.monotonic() + 15
    while (found := httpx.get(lookup, headers=bearer(people["viewer"]["key"]))).status_code == 404:
        assert time.monotonic() < deadline, "the request was never recorded"
        time.sleep(0.2)
    [record] = found.json()["records"]
    assert (record["status"], record["tenant_id"]) == ("completed", people["tenant"]["id"])
    stranger = new_tenant(auth_service.url, admin_key)  # another tenant's viewer does not see it
    assert httpx.get(lookup, headers=bearer(stranger["viewer"]["key"])).status_code == 404
