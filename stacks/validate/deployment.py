"""What validation runs against: an endpoint and a key, plus what a stack's outputs add
(the admin API, Prometheus, a read-only database URL, each component's status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from helixflow.stacks.errors import HelixFlowError


@dataclass(frozen=True)
class Deployment:
    """Everything a check may use. Fields a deployment does not have are None/empty: checks needing them skip."""

    endpoint: str
    api_key: str
    ca_file: str | None = None
    model: str | None = None
    admin_url: str | None = None
    prometheus_url: str | None = None
    http_url: str | None = None  # where plain HTTP should redirect to the endpoint
    database_url: str | None = None
    gateway_url: str | None = None  # the gateway without nginx in front (local stacks)
    outputs: dict[str, Any] = field(default_factory=dict)  # everything a stack exported (none for a bare URL)
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
    def is_stack(self) -> bool:
        return self.stack is not None

    def secrets(self) -> list[str]:
        """Values no response may ever contain."""
        return [s for s in (self.api_key, _password(self.database_url), *self.stack_secrets) if s]

    def describe(self) -> str:
        return f"stack {self.stack} ({self.endpoint})" if self.stack else self.endpoint


def _password(url: str | None) -> str:
    return (urlparse(url).password or "") if url else ""


def deployment_from_url(
    url: str,
    api_key: str,
    ca_file: str | None = None,
    admin_url: str | None = None,
    prometheus_url: str | None = None,
    model: str | None = None,
) -> Deployment:
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
    return Deployment(
        endpoint=url.rstrip("/"),
        api_key=api_key,
        ca_file=ca_file,
        model=model,
        # HelixFlow's load balancer serves the admin API (/admin/*) on the endpoint itself
        admin_url=(admin_url or url).rstrip("/"),
        prometheus_url=prometheus_url.rstrip("/") if prometheus_url else None,
        http_url=http_url,
    )


def deployment_from_stack(name: str) -> Deployment:
    """What a stack exported (with secrets). Raises HelixFlowError when it does not exist or is not up."""
    from helixflow.stacks.driver import StackDriver

    driver = StackDriver(name)
    if not driver.exists():
        raise HelixFlowError(f"stack '{name}' does not exist", hint="create it with `helixflow up`")
    deployed = driver.deployed()
    outputs = deployed.outputs
    if not outputs.get("endpoint"):
        raise HelixFlowError(f"stack '{name}' has no endpoint (is it up?)", hint=f"run `helixflow up -s {name}`")

    def output(key: str) -> str | None:
        value = outputs.get(key)
        return str(value).rstrip("/") if value else None

    endpoint = str(outputs["endpoint"]).rstrip("/")
    return Deployment(
        endpoint=endpoint,
        api_key=str(outputs.get("admin_api_key") or ""),
        ca_file=output("ca_file"),
        model=output("model"),
        admin_url=endpoint,  # the admin API is served on the endpoint, as a client reaches it
        prometheus_url=output("prometheus_url"),
        http_url=output("http_url"),
        database_url=output("database_url"),
        gateway_url=output("gateway_url"),
        outputs=outputs,
        stack=name,
        stack_secrets=deployed.secret_values,
    )
