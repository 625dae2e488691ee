"""The `local:` section: every component as a process on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from helixflow.stacks.config.common import StackBase, Strict


class LocalPorts(Strict):
    """TCP ports on 127.0.0.1. Workers use `worker_base`, `worker_base + 1`, ..."""

    https: int = Field(8443, ge=1024, le=65535, description="nginx, TLS with HTTP/2: the stack's endpoint")
    http: int = Field(8000, ge=1024, le=65535, description="nginx, plain HTTP redirected to HTTPS")
    gateway: int = Field(8080, ge=1024, le=65535)
    auth: int = Field(8081, ge=1024, le=65535)
    router: int = Field(8082, ge=1024, le=65535, description="sglang-router (the inference pool)")
    monitoring: int = Field(8083, ge=1024, le=65535)
    router_metrics: int = Field(8084, ge=1024, le=65535)
    worker_base: int = Field(30001, ge=1024, le=65000)
    postgres: int = Field(15432, ge=1024, le=65535)
    redis: int = Field(16379, ge=1024, le=65535)
    prometheus: int = Field(9090, ge=1024, le=65535)


class LocalSettings(Strict):
    """The `local` target: every component as a process on this machine."""

    ports: LocalPorts = LocalPorts()
    workers: int = Field(2, ge=1, le=8, description="CPU engine workers behind sglang-router")
    gateway_processes: int = Field(2, ge=1, le=16, description="gateway worker processes")
    engine_threads: int = Field(1, ge=1, le=64, description="llama.cpp threads per worker")
    model_path: str | None = Field(
        None, description="a GGUF file to serve; default: the tiny offline test model written at set-up"
    )
    served_model_name: str = Field("helixflow-tiny", min_length=1, pattern=r"^[A-Za-z0-9._:/-]+$")
    router_policy: Literal["cache_aware", "round_robin", "random", "power_of_two"] = "cache_aware"
    tls_valid_days: int = Field(90, ge=2, le=825)
    admin_tenant: str = Field("default", min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    admin_username: str = Field("admin", min_length=1)
    admin_email: str = Field("admin@localhost", min_length=3)

    @model_validator(mode="after")
    def _ports_distinct(self) -> LocalSettings:
        taken: dict[int, str] = {}
        for role, port in self.port_map().items():
            if port in taken:
                raise ValueError(f"ports.{role} and ports.{taken[port]} are both {port}; give each its own port")
            taken[port] = role
        return self

    @model_validator(mode="after")
    def _model_exists(self) -> LocalSettings:
        if self.model_path is not None and not Path(self.model_path).expanduser().is_file():
            raise ValueError(f"model_path {self.model_path!r} is not a file; point it at a GGUF model")
        return self

    def worker_ports(self) -> list[int]:
        return [self.ports.worker_base + i for i in range(self.workers)]

    def port_map(self) -> dict[str, int]:
        """Every port the stack listens on, by role."""
        ports = {k: v for k, v in self.ports.model_dump().items() if k != "worker_base"}
        ports.update({f"worker {i}": p for i, p in enumerate(self.worker_ports())})
        return ports


class LocalStack(StackBase):
    """A stack of target `local`: its `local:` section, nothing of another target's."""

    target: Literal["local"] = "local"
    local: LocalSettings = LocalSettings()
