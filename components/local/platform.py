"""The local platform as one component: the seed's whole platform as processes on this machine.

    nginx (TLS, HTTP/2) -> gateway -> sglang-router -> CPU engine workers
                                   -> auth service (JWKS)
    PostgreSQL, Redis, the monitoring service, Prometheus scraping all of them.

`Platform("local", PlatformArgs(...))` creates every child with `parent=self`. Stacks made
before the platform was a component have those children at the stack's root: each child
carries an alias to that old parent, so such a stack upgrades in place with nothing replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from helixflow.components.local.bootstrap import AdminBootstrap
from helixflow.components.local.nginx import Nginx
from helixflow.components.local.postgres import PostgresServer, database_url, runtime_url
from helixflow.components.local.prometheus import Prometheus
from helixflow.components.local.redis import RedisServer, redis_url
from helixflow.components.local.service import LocalProcess, ProcessResource
from helixflow.components.local.tls import LocalCertificateAuthority
from helixflow.runtime.pool.local import ENGINE_API_KEY_ENV, cpu_engine_argv
from helixflow.runtime.pool.router import RouterSpec

TYPE = "helixflow:local:Platform"


@dataclass(frozen=True)
class PlatformPorts:
    """TCP ports on 127.0.0.1, one per role; `workers` holds one port per CPU engine worker."""

    https: int
    http: int
    gateway: int
    auth: int
    router: int
    router_metrics: int
    monitoring: int
    postgres: int
    redis: int
    prometheus: int
    workers: tuple[int, ...]


@dataclass(frozen=True)
class PlatformSecrets:
    """Generated once per stack and kept encrypted in its configuration; stored as secrets in its state."""

    postgres_password: str  # the superuser's: the migrations' admin step and restores only
    postgres_runtime_password: str  # the runtime's own role's: every service
    redis_password: str
    secret_key: str
    router_api_key: str


@dataclass(frozen=True)
class PlatformDirs:
    """Where the platform's processes keep pid files, logs, data and generated files."""

    run: str
    logs: str
    data: str
    postgres_data: str
    tls: str
    nginx: str

    def log_file(self, component: str) -> str:
        return f"{self.logs}/{component}.log"


@dataclass(frozen=True)
class AdminAccount:
    """The first tenant, its admin user, and the admin API key the stack hands out."""

    tenant: str
    username: str
    email: str


@dataclass(frozen=True)
class PlatformArgs:
    ports: PlatformPorts
    secrets: PlatformSecrets
    dirs: PlatformDirs
    admin: AdminAccount
    model_path: str  # the GGUF file the workers serve
    served_model_name: str
    router_policy: str
    gateway_processes: int
    engine_threads: int
    tls_valid_days: int
    python: str  # the interpreter the runtime's services run on
    postgres_bin_dir: str
    run_postgres_as: str | None

    def validate(self) -> None:
        """Raises ValueError for arguments no platform can run with (checked before any child exists)."""
        ports = self.ports
        taken = [ports.https, ports.http, ports.gateway, ports.auth, ports.router, ports.router_metrics,
                 ports.monitoring, ports.postgres, ports.redis, ports.prometheus, *ports.workers]  # fmt: skip
        if len(set(taken)) != len(taken):
            raise ValueError(f"the platform's ports must be distinct, got {taken}")
        if not ports.workers:
            raise ValueError("the platform needs at least one worker")
        if self.gateway_processes < 1 or self.engine_threads < 1:
            raise ValueError("gateway_processes and engine_threads must be at least 1")


class Platform(pulumi.ComponentResource):
    """Every component of a local stack. Raises ValueError (before creating anything) for bad arguments."""

    endpoint: pulumi.Output[str]
    http_url: pulumi.Output[str]
    gateway_url: pulumi.Output[str]
    ca_file: pulumi.Output[str]
    certificate_not_after: pulumi.Output[str]
    admin_api_key: pulumi.Output[str]
    database_url: pulumi.Output[str]
    database_admin_url: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    components: pulumi.Output[dict[str, Any]]

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        self._components: dict[str, dict[str, Any]] = {}
        self._declare()
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "http_url": self.http_url,
                "gateway_url": self.gateway_url,
                "ca_file": self.ca_file,
                "certificate_not_after": self.certificate_not_after,
                "admin_api_key": self.admin_api_key,
                "database_url": self.database_url,
                "database_admin_url": self.database_admin_url,
                "prometheus_url": self.prometheus_url,
                "components": self.components,
            }
        )

    # --- children ---------------------------------------------------------------------------
    def _opts(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        # The alias: stacks of earlier releases created these children at the stack's root.
        return pulumi.ResourceOptions(
            parent=self, depends_on=list(depends_on), aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
        )

    def _record(self, kind: str, name: str, port: int, health: str, resource: ProcessResource) -> None:
        self._components[name] = {
            "kind": kind,
            "port": port,
            "health": health,
            "log": self._args.dirs.log_file(name),
            "pid": resource.pid,
            "started": resource.started,
        }

    def _runtime_env(self) -> dict[str, str]:
        a, p = self._args, self._args.ports
        return {
            "HELIXFLOW_ENV": "production",
            "HELIXFLOW_DATABASE_URL": runtime_url(p.postgres, a.secrets.postgres_runtime_password),
            "HELIXFLOW_REDIS_URL": redis_url(p.redis, a.secrets.redis_password),
            "HELIXFLOW_SECRET_KEY": a.secrets.secret_key,
            "HELIXFLOW_POOL_URL": f"http://127.0.0.1:{p.router}",
            "HELIXFLOW_POOL_API_KEY": a.secrets.router_api_key,
            "HELIXFLOW_AUTH_URL": f"http://127.0.0.1:{p.auth}",
            "HELIXFLOW_GATEWAY_HOST": "127.0.0.1",
            "HELIXFLOW_GATEWAY_PORT": str(p.gateway),
            "HELIXFLOW_GATEWAY_WORKERS": str(a.gateway_processes),
            "HELIXFLOW_AUTH_HOST": "127.0.0.1",
            "HELIXFLOW_AUTH_PORT": str(p.auth),
            "HELIXFLOW_MONITORING_HOST": "127.0.0.1",
            "HELIXFLOW_MONITORING_PORT": str(p.monitoring),
            "PYTHONUNBUFFERED": "1",
        }

    def _declare(self) -> None:
        a, p, dirs = self._args, self._args.ports, self._args.dirs
        postgres = PostgresServer(
            "postgres",
            port=p.postgres,
            password=a.secrets.postgres_password,
            runtime_password=a.secrets.postgres_runtime_password,
            data_dir=dirs.postgres_data,
            bin_dir=a.postgres_bin_dir,
            run_as=a.run_postgres_as,
            state_dir=dirs.run,
            log_file=dirs.log_file("postgres"),
            opts=self._opts(),
        )
        self._record("postgresql", "postgres", p.postgres, f"tcp://127.0.0.1:{p.postgres}", postgres)
        redis = RedisServer(
            "redis",
            port=p.redis,
            password=a.secrets.redis_password,
            data_dir=f"{dirs.data}/redis",
            state_dir=dirs.run,
            log_file=dirs.log_file("redis"),
            opts=self._opts(),
        )
        self._record("redis", "redis", p.redis, f"tcp://127.0.0.1:{p.redis}", redis)

        env = self._runtime_env()
        bootstrap = AdminBootstrap(
            "admin-bootstrap",
            env=env,
            tenant=a.admin.tenant,
            username=a.admin.username,
            email=a.admin.email,
            opts=self._opts(depends_on=[postgres]),
        )
        data_stores = [postgres, redis]
        workers = [self._worker(i, port) for i, port in enumerate(p.workers)]
        spec = self._router_spec()
        router = self._process(
            "router", "sglang-router", p.router, spec.argv(python=a.python),
            env={"PYTHONUNBUFFERED": "1", **spec.env()}, health_path="/liveness", depends_on=workers,
        )  # fmt: skip
        auth = self._process(
            "auth", "auth service", p.auth, [a.python, "-m", "helixflow.runtime.auth"], env=env,
            health_path="/health/ready", depends_on=data_stores,
        )  # fmt: skip
        gateway = self._process(
            "gateway", "gateway", p.gateway, [a.python, "-m", "helixflow.runtime.gateway"], env=env,
            health_path="/health/ready", depends_on=[*data_stores, auth, router],
        )  # fmt: skip
        self._process(
            "monitoring", "monitoring service", p.monitoring, [a.python, "-m", "helixflow.runtime.monitoring"],
            env=env, health_path="/health/live", depends_on=[*data_stores, router],
        )  # fmt: skip

        ca = LocalCertificateAuthority(
            "local-ca", directory=dirs.tls, hosts=["localhost", "127.0.0.1", "::1"], valid_days=a.tls_valid_days,
            opts=self._opts(),
        )  # fmt: skip
        nginx = Nginx(
            "nginx",
            https_port=p.https,
            http_port=p.http,
            upstream_ports=[p.gateway],
            auth_port=p.auth,
            cert_file=ca.cert_file,
            key_file=ca.key_file,
            ca_not_after=ca.not_after,
            prefix=dirs.nginx,
            opts=self._opts(depends_on=[gateway, auth]),
            state_dir=dirs.run,
            log_file=dirs.log_file("nginx"),
        )
        self._record("nginx", "nginx", p.https, f"http://127.0.0.1:{p.http}/nginx-health", nginx)
        prometheus = Prometheus(
            "prometheus",
            port=p.prometheus,
            targets={
                "gateway": [p.gateway],
                "auth": [p.auth],
                "monitoring": [p.monitoring],
                "router": [p.router_metrics],
                "workers": list(p.workers),
            },
            data_dir=f"{dirs.data}/prometheus",
            state_dir=dirs.run,
            log_file=dirs.log_file("prometheus"),
            opts=self._opts(),
        )
        self._record("prometheus", "prometheus", p.prometheus, f"http://127.0.0.1:{p.prometheus}/-/ready", prometheus)

        self.endpoint = pulumi.Output.from_input(f"https://localhost:{p.https}")
        self.http_url = pulumi.Output.from_input(f"http://127.0.0.1:{p.http}")
        self.gateway_url = pulumi.Output.from_input(f"http://127.0.0.1:{p.gateway}")
        self.ca_file = ca.ca_file
        self.certificate_not_after = ca.not_after
        self.admin_api_key = pulumi.Output.secret(bootstrap.api_key)
        # Read-only sessions as the runtime's role: what `helixflow validate` uses to find its own usage records,
        # and `helixflow backup` to dump the schema. Only a restore (a new database) needs the superuser.
        read_only = "?options=-c%20default_transaction_read_only%3Don"
        self.database_url = pulumi.Output.secret(
            runtime_url(p.postgres, a.secrets.postgres_runtime_password) + read_only)
        self.database_admin_url = pulumi.Output.secret(database_url(p.postgres, a.secrets.postgres_password))
        self.prometheus_url = pulumi.Output.from_input(f"http://127.0.0.1:{p.prometheus}")
        self.components = pulumi.Output.from_input(self._components)

    def _worker(self, index: int, port: int) -> LocalProcess:
        a = self._args
        argv = cpu_engine_argv(Path(a.model_path), a.served_model_name, port=port, threads=a.engine_threads)
        env = {ENGINE_API_KEY_ENV: a.secrets.router_api_key, "PYTHONUNBUFFERED": "1"}
        return self._process(f"worker-{index}", "CPU engine worker", port, argv, env=env, health_path="/health")

    def _router_spec(self) -> RouterSpec:
        a, p = self._args, self._args.ports
        return RouterSpec(
            host="127.0.0.1",
            port=p.router,
            worker_urls=[f"http://127.0.0.1:{port}" for port in p.workers],
            policy=a.router_policy,
            prometheus_host="127.0.0.1",
            prometheus_port=p.router_metrics,
            api_key=a.secrets.router_api_key,
        )

    def _process(
        self,
        name: str,
        kind: str,
        port: int,
        argv: list[str],
        *,
        health_path: str,
        env: dict[str, str] | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> LocalProcess:
        health = f"http://127.0.0.1:{port}{health_path}"
        resource = LocalProcess(
            name,
            argv=argv,
            env=env or {"PYTHONUNBUFFERED": "1"},
            health_url=health,
            opts=self._opts(depends_on),
            state_dir=self._args.dirs.run,
            log_file=self._args.dirs.log_file(name),
        )
        self._record(kind, name, port, health, resource)
        return resource
