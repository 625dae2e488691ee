"""A small client of the runtime's admin API (`/admin/*` behind the platform's endpoint), for tenant records.

It runs inside the dynamic provider's process and in the CLI (`tenant show`'s usage), so it imports only httpx.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx


class AdminApiError(Exception):
    """The admin API refused a call or could not be reached; the message says which call and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AdminClient:
    def __init__(self, url: str, api_key: str, ca_file: str | None = None, timeout: float = 30.0) -> None:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, verify=verify, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, json: dict[str, Any] | None = None,
             params: dict[str, str] | None = None) -> Any:  # fmt: skip
        """The answer's JSON. Raises AdminApiError with the status and the API's own message."""
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as err:
            raise AdminApiError(f"cannot reach the admin API at {self.url}: {err}") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", {}).get("message") or response.text
            except ValueError:
                detail = response.text
            raise AdminApiError(f"{method} {path} answered {response.status_code}: {str(detail)[:300]}",
                                status=response.status_code)  # fmt: skip
        return response.json()

    # --- tenants, users, keys -------------------------------------------------------------
    def find_tenant(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.call("GET", "/admin/tenants") if t["name"] == name), None)

    def tenant(self, tenant_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.call("GET", f"/admin/tenants/{tenant_id}")
        except AdminApiError as err:
            if err.status == 404:
                return None
            raise
        return found

    def users(self, tenant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/admin/users", params={"tenant_id": tenant_id})
        return found

    def keys(self, tenant_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.call("GET", "/admin/keys", params={"tenant_id": tenant_id})
        return found

    def usage(self, tenant_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", "/admin/usage", params={"tenant_id": tenant_id})
        return found
