"""Shortcuts for runtime tests: admin API calls and OpenAI-shaped requests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

MODEL = "tiny-test-model"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def admin_post(auth_url: str, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(auth_url + path, json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


def new_tenant(auth_url: str, admin_key: str, **limits: Any) -> dict[str, Any]:
    """A tenant with an operator, a user key, a viewer key and an operator key."""
    tenant = admin_post(auth_url, admin_key, "/admin/tenants", {"name": unique("t"), **limits})
    people: dict[str, Any] = {"tenant": tenant}
    for role in ("operator", "user", "viewer"):
        name = unique(role)
        user = admin_post(auth_url, admin_key, "/admin/users",
                          {"tenant_id": tenant["id"], "username": name, "email": f"{name}@x.test",
                           "password": "password-123", "role": role})
        key = admin_post(auth_url, admin_key, "/admin/keys", {"user_id": user["id"], "name": role})
        people[role] = {"user": user, "key": key["api_key"], "key_id": key["id"], "username": name}
    return people


def chat_body(content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}


def chat(gateway_url: str, key: str, content: str = "hello", headers: dict[str, str] | None = None,
         **extra: Any) -> httpx.Response:
    return httpx.post(gateway_url + "/v1/chat/completions", json=chat_body(content, **extra),
                      headers={**bearer(key), **(headers or {})}, timeout=10)


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    data: dict[str, Any] = error
    return data


def within(seconds: float, check: Callable[[], bool], what: str, interval: float = 0.05) -> None:
    """Poll `check` until it holds; fail once `seconds` have passed (a "within N s" promise, tested as made)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {seconds:g}s")
        time.sleep(interval)


def answered(request: Callable[[], httpx.Response], status: int, times: int = 8) -> Callable[[], bool]:
    """A check for `within`: `times` requests in a row (both gateway workers among them) answer `status`."""
    return lambda: all(request().status_code == status for _ in range(times))
