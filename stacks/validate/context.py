"""What checks share during one run: the deployment, the options, the deadline, HTTP clients that
remember every response (for the secret-echo check), the admin API, and throwaway resources
that are cleaned up at the end."""

from __future__ import annotations

import secrets as random_secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from helixflow.stacks.validate.deployment import Deployment
from helixflow.stacks.validate.model import CheckFailed, CheckSkipped

if TYPE_CHECKING:
    import ssl

    import httpx

T = TypeVar("T")
REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class Options:
    """Thresholds and sizes; defaults are the seed's."""

    timeout: float = 300.0  # the whole run
    requests: int = 200  # performance: requests per phase
    concurrency: int = 4  # a 2-core machine running the whole stack saturates above this
    max_tokens: int = 8  # per request of the generation load
    overhead_p95_ms: float = 90.0
    overhead_p99_ms: float = 150.0
    max_error_rate: float = 0.05  # percent
    latency_p95_ms: float = 2000.0  # end to end, generation included
    min_cert_days: int = 14
    min_success_rate: float = 95.0


@dataclass
class Recorded:
    what: str
    status: int
    text: str


@dataclass
class Context:
    """Raises nothing itself; helpers raise CheckFailed / CheckSkipped for the check that called them."""

    deployment: Deployment
    options: Options = field(default_factory=Options)
    deadline: float = 0.0
    responses: list[Recorded] = field(default_factory=list)
    extra_secrets: list[str] = field(default_factory=list)
    _memo: dict[str, Any] = field(default_factory=dict)
    _cleanups: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.options.timeout

    # --- time -------------------------------------------------------------------------------
    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def request_timeout(self) -> float:
        left = self.remaining()
        if left <= 0:
            raise CheckFailed("the run's time bound was reached")
        return min(REQUEST_TIMEOUT, left)

    # --- HTTP -------------------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext:
        import ssl

        return ssl.create_default_context(cafile=self.deployment.ca_file or None)

    def _client(self, base_url: str, tls: bool) -> httpx.Client:
        import httpx

        if base_url not in self._clients:
            self._clients[base_url] = httpx.Client(
                base_url=base_url,
                verify=self.ssl_context() if tls else False,
                timeout=REQUEST_TIMEOUT,
                follow_redirects=False,
            )
        return self._clients[base_url]

    def call(
        self, method: str, path: str, *, base: str | None = None, key: str | None = "default", **kwargs: Any
    ) -> httpx.Response:
        """One request to the endpoint (or `base`), remembered. key: 'default' = the deployment's API key,
        None = no Authorization header, anything else = that bearer credential."""
        import httpx

        base_url = base or self.deployment.endpoint
        headers = dict(kwargs.pop("headers", {}) or {})
        if key == "default":
            key = self.deployment.api_key
        if key is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = self._client(base_url, base_url.startswith("https")).request(
                method, path, headers=headers, timeout=self.request_timeout(), **kwargs
            )
        except httpx.HTTPError as err:
            raise CheckFailed(f"{method} {base_url}{path} failed: {type(err).__name__}: {err}") from None
        headers_text = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        self.responses.append(Recorded(f"{method} {path}", response.status_code, headers_text + "\n" + response.text))
        return response

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The admin API (the auth service) with the deployment's key; skips the check when there is none."""
        if not self.deployment.admin_url:
            raise CheckSkipped("no admin API for this deployment (pass --admin-url)")
        return self.call(method, path, base=self.deployment.admin_url, **kwargs)

    def admin_json(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.admin(method, path, **kwargs)
        if response.status_code != expect:
            raise CheckFailed(f"admin API {method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json()

    # --- shared, made once ------------------------------------------------------------------
    def memo(self, name: str, make: Callable[[], T]) -> T:
        """Something several checks use (the load run, the caller's identity), made on first use.
        A failure to make it is remembered too, so every check that needs it reports the same."""
        if name not in self._memo:
            try:
                self._memo[name] = ("ok", make())
            except (CheckFailed, CheckSkipped) as err:
                self._memo[name] = ("error", err)
        kind, value = self._memo[name]
        if kind == "error":
            raise value
        return value  # type: ignore[no-any-return]

    def me(self) -> dict[str, Any]:
        """Who the deployment's key belongs to (user, tenant, role, key id)."""
        return self.memo("me", lambda: self.admin_json("GET", "/admin/me"))

    def on_cleanup(self, what: str, action: Callable[[], None]) -> None:
        self._cleanups.append((what, action))

    def throwaway_tenant(self, purpose: str, **limits: int) -> dict[str, Any]:
        """A new tenant with an operator user and an API key, deactivated (and its key revoked) at the end.
        Returns {"tenant": {...}, "user": {...}, "key": {...}} with the key's plaintext in key["api_key"]."""
        suffix = random_secrets.token_hex(4)
        tenant = self.admin_json(
            "POST", "/admin/tenants", expect=201, json={"name": f"helixflow-validate-{purpose}-{suffix}", **limits}
        )
        self.on_cleanup(
            f"deactivate tenant {tenant['name']}",
            lambda: self._undo("PATCH", f"/admin/tenants/{tenant['id']}", json={"is_active": False}),
        )
        password = random_secrets.token_urlsafe(18)
        self.extra_secrets.append(password)
        user = self.admin_json(
            "POST",
            "/admin/users",
            expect=201,
            json={
                "tenant_id": tenant["id"],
                "username": f"hfv-{purpose}-{suffix}",
                "email": f"hfv-{suffix}@validate.invalid",
                "password": password,
                "role": "operator",
            },
        )
        key = self.new_key(user_id=user["id"], name=f"helixflow-validate-{purpose}")
        return {"tenant": tenant, "user": user, "key": key}

    def new_key(self, **body: Any) -> dict[str, Any]:
        """A new API key (revoked at the end). The plaintext is in ["api_key"] and counts as a secret."""
        key: dict[str, Any] = self.admin_json("POST", "/admin/keys", expect=201, json=body)
        self.extra_secrets.append(str(key.get("api_key", "")))
        self.on_cleanup(f"revoke key {key.get('id')}", lambda: self._undo("DELETE", f"/admin/keys/{key['id']}"))
        return key

    def _undo(self, method: str, path: str, **kwargs: Any) -> None:
        """A cleanup call; one the admin API refuses raises, so ``close`` reports it (a key left unrevoked)."""
        response = self.admin(method, path, **kwargs)
        if not 200 <= response.status_code < 300:
            raise CheckFailed(f"{method} {path} answered {response.status_code}")

    def close(self) -> list[str]:
        """Undo what the run created (newest first); returns what could not be undone."""
        problems = []
        for what, action in reversed(self._cleanups):
            try:
                # cleanup runs even when the run's time is up: give it a short bound of its own
                self.deadline = max(self.deadline, time.monotonic() + 10)
                action()
            except Exception as err:  # cleanup reports, it never stops the others
                problems.append(f"{what}: {err}")
        self._cleanups.clear()
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        return problems
