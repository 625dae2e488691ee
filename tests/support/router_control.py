"""Talking to a running sglang-router: worker management and pool readiness.

sglang-router 0.3.2's worker API: `POST /workers {"url": …}` (202, registration
runs in the background: the router probes the worker's `/health`, `/model_info`,
`/server_info`), `GET /workers`, `DELETE /workers/{worker_id}`. Readiness comes
from `/readiness` (503 while no worker is healthy) and `/workers`: the router's
own `/health` answers 200 even with every worker dead.

`RouterAdmin` is synchronous (CLI, local stack, tests); `AsyncRouterAdmin` is for
the gateway's event loop. Both raise `PoolError` with a readable message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx


class PoolError(RuntimeError):
    """The router refused or did not answer a management call."""


@dataclass(frozen=True)
class WorkerState:
    worker_id: str
    url: str
    healthy: bool
    model_id: str | None
    load: int | None


@dataclass(frozen=True)
class PoolReadiness:
    ready: bool
    healthy_workers: int
    total_workers: int
    reason: str | None

    @property
    def summary(self) -> str:
        state = "ready" if self.ready else f"not ready ({self.reason or 'no healthy worker'})"
        return f"{state}: {self.healthy_workers}/{self.total_workers} workers healthy"


def parse_workers(body: Any) -> list[WorkerState]:
    """`GET /workers` → worker states. Raises PoolError on an unexpected shape."""
    if not isinstance(body, dict) or not isinstance(body.get("workers"), list):
        raise PoolError(f"unexpected /workers answer: {str(body)[:200]}")
    workers = []
    for item in body["workers"]:
        if not isinstance(item, dict) or "url" not in item:
            raise PoolError(f"unexpected worker entry: {str(item)[:200]}")
        load = item.get("load")
        workers.append(
            WorkerState(
                worker_id=str(item.get("id") or item.get("worker_id") or item["url"]),
                url=str(item["url"]).rstrip("/"),
                healthy=bool(item.get("is_healthy", item.get("healthy", False))),
                model_id=item.get("model_id"),
                load=load if isinstance(load, int) else None,
            )
        )
    return workers


def readiness_from(status: int, body: Any, workers: list[WorkerState]) -> PoolReadiness:
    healthy = sum(w.healthy for w in workers)
    reason = body.get("reason") if isinstance(body, dict) else None
    return PoolReadiness(
        ready=status == 200 and healthy > 0, healthy_workers=healthy, total_workers=len(workers), reason=reason
    )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise PoolError(f"{what}: router answered {response.status_code}: {response.text[:300]}")
    return _json(response)


class RouterAdmin:
    """Synchronous management client for one router (`base_url` like http://127.0.0.1:30000)."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 5.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s, headers=headers)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RouterAdmin:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PoolError(f"router at {self._client.base_url} unreachable: {exc}") from exc

    def workers(self) -> list[WorkerState]:
        return parse_workers(_check(self._call("GET", "/workers"), "listing workers"))

    def add_worker(self, url: str, *, api_key: str | None = None) -> str:
        """Queue a worker for registration; returns its id. It serves once the router has probed it."""
        body: dict[str, Any] = {"url": url.rstrip("/")}
        if api_key:
            body["api_key"] = api_key
        answer = _check(self._call("POST", "/workers", json=body), f"adding worker {url}")
        return str(answer.get("worker_id", url)) if isinstance(answer, dict) else url

    def remove_worker(self, url_or_id: str) -> None:
        """Remove a worker by its URL or id. Raises PoolError when the router does not know it."""
        worker_id = self._resolve(url_or_id)
        _check(self._call("DELETE", f"/workers/{worker_id}"), f"removing worker {url_or_id}")

    def _resolve(self, url_or_id: str) -> str:
        for worker in self.workers():
            if url_or_id.rstrip("/") in (worker.url, worker.worker_id):
                return worker.worker_id
        raise PoolError(f"the router has no worker {url_or_id!r}")

    def readiness(self) -> PoolReadiness:
        response = self._call("GET", "/readiness")
        return readiness_from(response.status_code, _json(response), self.workers())

    def wait_for_workers(self, count: int, *, timeout_s: float = 30.0) -> PoolReadiness:
        """Wait until at least `count` workers are healthy. Raises PoolError on timeout."""
        deadline = time.monotonic() + timeout_s
        state = PoolReadiness(False, 0, 0, None)
        while time.monotonic() < deadline:
            state = self.readiness()
            if state.ready and state.healthy_workers >= count:
                return state
            time.sleep(0.1)
        raise PoolError(f"pool not ready after {timeout_s:.0f}s: {state.summary}")


class AsyncRouterAdmin:
    """The same calls for an asyncio caller (the gateway's readiness probe)."""

    def __init__(self, base_url: str, *, api_key: str | None = None, timeout_s: float = 2.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout_s, headers=headers)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str) -> httpx.Response:
        try:
            return await self._client.request(method, path)
        except httpx.HTTPError as exc:
            raise PoolError(f"router at {self._client.base_url} unreachable: {exc}") from exc

    async def workers(self) -> list[WorkerState]:
        return parse_workers(_check(await self._call("GET", "/workers"), "listing workers"))

    async def readiness(self) -> PoolReadiness:
        response = await self._call("GET", "/readiness")
        return readiness_from(response.status_code, _json(response), await self.workers())
