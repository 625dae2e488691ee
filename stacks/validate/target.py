"""What validation runs against: an endpoint and a key, plus what a local stack's outputs add
(the admin API, Prometheus, each component, the database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from helixflow.stacks.errors import HelixFlowError


@dataclass(frozen=True)
class Target:
    """Everything a check may use. Fields a target does not have are None/empty: checks needing them skip."""

    endpoint: str
    api_key: str
    ca_file: str | None = None
    model: str | None = None
    admin_url: str | None = None
    prometheus_url: str | None = None
    http_url: str | None = None  # where plain HTTP should redirect to the endpoint
    database_url: str | None = None
    gateway_url: str | None = None  # the gateway without nginx in front (local stacks)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    stack: str | None = None
    stack_secrets: tuple[str, ...] = ()  # a local stack's generated passwords and keys

    @property
    def host(self) -> str:
        return urlparse(self.endpoint).hostname or ""

    @property
    def port(self) -> int:
        url = urlparse(self.endpoint)
        return url.port or (443 if url.scheme == "https" else 80)

    @property
    def is_local_stack(self) -> bool:
        return self.stack is not None

    def secrets(self) -> list[str]:
        """Values no response may ever contain."""
        return [s for s in (self.api_key, _password(self.database_url), *self.stack_secrets) if s]

    def describe(self) -> str:
        return f"stack {self.stack} ({self.endpoint})" if self.stack else self.endpoint


def _password(url: str | None) -> str:
    return (urlparse(url).password or "") if url else ""


def target_from_url(
    url: str,
    api_key: str,
    ca_file: str | None = None,
    admin_url: str | None = None,
    prometheus_url: str | None = None,
    model: str | None = None,
) -> Target:
    """A deployed endpoint given by hand. Raises HelixFlowError on a malformed URL or a missing CA file."""
    import os

    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise HelixFlowError(f"--url must be an http(s) URL, got {url!r}", hint="e.g. https://api.example.com")
    if not api_key:
        raise HelixFlowError("--url needs --api-key", hint="pass the API key validation should use")
    if ca_file and not os.path.isfile(ca_file):
        hint = "pass the PEM file of the CA that signed the TLS certificate"
        raise HelixFlowError(f"CA file {ca_file} does not exist", hint=hint)
    http_url = None
    if parsed.scheme == "https" and parsed.port in (None, 443):
        http_url = f"http://{parsed.hostname}"  # the redirect check needs the standard ports to know where to look
    return Target(
        endpoint=url.rstrip("/"),
        api_key=api_key,
        ca_file=ca_file,
        model=model,
        # HelixFlow's load balancer serves the admin API (/admin/*) on the endpoint itself
        admin_url=(admin_url or url).rstrip("/"),
        prometheus_url=prometheus_url.rstrip("/") if prometheus_url else None,
        http_url=http_url,
    )


def target_from_stack(name: str) -> Target:
    """A stack's outputs (with secrets) and its database URL. Raises HelixFlowError when it is not up."""
    from helixflow.stacks.driver import StackDriver
    from helixflow.stacks.secrets import CONFIG_KEYS

    driver = StackDriver(name)
    if not driver.exists():
        raise HelixFlowError(f"stack '{name}' does not exist", hint="create it with `helixflow up`")
    # One workspace for outputs and config: each costs the engine's start-up. `_stack()` is the
    # driver's only way to the stack's decrypted configuration (the database password).
    stack = driver._stack()
    outputs = {key: item.value for key, item in stack.outputs().items()}
    if not outputs.get("endpoint"):
        raise HelixFlowError(f"stack '{name}' has no endpoint (is it up?)", hint=f"run `helixflow up -s {name}`")
    components: dict[str, dict[str, Any]] = outputs.get("components") or {}
    config = {key.partition(":")[2]: item.value for key, item in stack.get_all_config().items()}

    def local_url(component: str) -> str | None:
        info = components.get(component)
        return f"http://127.0.0.1:{info['port']}" if info else None

    database_url = None
    password = config.get(CONFIG_KEYS["postgres_password"])
    if "postgres" in components and password:
        from helixflow.components.local.postgres import database_url as make_url

        database_url = make_url(int(components["postgres"]["port"]), password)
    http_url = None
    nginx_health = str(components.get("nginx", {}).get("health", ""))
    if nginx_health.startswith("http://"):
        http_url = f"http://127.0.0.1:{urlparse(nginx_health).port}"
    return Target(
        endpoint=str(outputs["endpoint"]).rstrip("/"),
        api_key=str(outputs.get("admin_api_key") or ""),
        ca_file=outputs.get("ca_file"),
        model=outputs.get("model"),
        admin_url=str(outputs["endpoint"]).rstrip("/"),  # through nginx, as a client reaches it
        prometheus_url=outputs.get("prometheus_url"),
        http_url=http_url,
        database_url=database_url,
        gateway_url=local_url("gateway"),
        components=components,
        stack=name,
        stack_secrets=tuple(str(config[k]) for k in CONFIG_KEYS.values() if config.get(k)),
    )
