"""The `local` target's Pulumi program: the seed's whole platform as processes on this machine.

    nginx (TLS, HTTP/2) -> gateway -> sglang-router -> CPU engine workers
                                   -> auth service (JWKS)
    PostgreSQL, Redis, the monitoring service, Prometheus scraping all of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pulumi

from helixflow.components.local.bootstrap import AdminBootstrap
from helixflow.components.local.nginx import Nginx
from helixflow.components.local.postgres import PostgresServer, database_url
from helixflow.components.local.prometheus import Prometheus
from helixflow.components.local.redis import RedisServer, redis_url
from helixflow.components.local.service import LocalProcess, ProcessResource
from helixflow.components.local.tls import LocalCertificateAuthority
from helixflow.runtime.pool.local import ENGINE_API_KEY_ENV, cpu_engine_argv
from helixflow.runtime.pool.router import RouterSpec
from helixflow.stacks.config import LocalSettings, StackConfig
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.secrets import StackSecrets


def build_local_program(
    config: StackConfig, secrets: StackSecrets, paths: StackPaths, model_path: Path
) -> Callable[[], None]:
    """The inline program `helixflow up` runs for a `local` stack."""
    local = config.local

    def program() -> None:
        _LocalStack(local, secrets, paths, model_path).declare()

    return program


class _LocalStack:
    def __init__(self, local: LocalSettings, secrets: StackSecrets, paths: StackPaths, model_path: Path) -> None:
        self.local = local
        self.ports = local.ports
        self.secrets = secrets
        self.paths = paths
        self.model_path = model_path
        self.python = sys.executable
        self.components: dict[str, dict[str, object]] = {}

    def _log(self, name: str) -> str:
        return str(self.paths.log_file(name))

    def _runtime_env(self) -> dict[str, str]:
        return {
            "HELIXFLOW_ENV": "production",
            "HELIXFLOW_DATABASE_URL": database_url(self.ports.postgres, self.secrets.postgres_password),
            "HELIXFLOW_REDIS_URL": redis_url(self.ports.redis, self.secrets.redis_password),
            "HELIXFLOW_SECRET_KEY": self.secrets.secret_key,
            "HELIXFLOW_POOL_URL": f"http://127.0.0.1:{self.ports.router}",
            "HELIXFLOW_POOL_API_KEY": self.secrets.router_api_key,
            "HELIXFLOW_AUTH_URL": f"http://127.0.0.1:{self.ports.auth}",
            "HELIXFLOW_GATEWAY_HOST": "127.0.0.1",
            "HELIXFLOW_GATEWAY_PORT": str(self.ports.gateway),
            "HELIXFLOW_GATEWAY_WORKERS": str(self.local.gateway_processes),
            "HELIXFLOW_AUTH_HOST": "127.0.0.1",
            "HELIXFLOW_AUTH_PORT": str(self.ports.auth),
            "HELIXFLOW_MONITORING_HOST": "127.0.0.1",
            "HELIXFLOW_MONITORING_PORT": str(self.ports.monitoring),
            "PYTHONUNBUFFERED": "1",
        }

    def _record(self, kind: str, name: str, port: int, health: str, resource: ProcessResource) -> None:
        self.components[name] = {
            "kind": kind,
            "port": port,
            "health": health,
            "log": str(self.paths.log_file(name)),
            "pid": resource.pid,
            "started": resource.started,
        }

    def declare(self) -> None:
        ports, paths = self.ports, self.paths
        run_as_postgres = "postgres" if _is_root() else None

        postgres = PostgresServer(
            "postgres",
            port=ports.postgres,
            password=self.secrets.postgres_password,
            data_dir=str(paths.postgres_data_dir),
            bin_dir=str(_postgres_bin_dir()),
            run_as=run_as_postgres,
            state_dir=str(self.paths.run_dir),
            log_file=self._log("postgres"),
        )
        self._record("postgresql", "postgres", ports.postgres, f"tcp://127.0.0.1:{ports.postgres}", postgres)
        redis = RedisServer(
            "redis",
            port=ports.redis,
            password=self.secrets.redis_password,
            data_dir=str(paths.data_dir / "redis"),
            state_dir=str(self.paths.run_dir),
            log_file=self._log("redis"),
        )
        self._record("redis", "redis", ports.redis, f"tcp://127.0.0.1:{ports.redis}", redis)

        env = self._runtime_env()
        bootstrap = AdminBootstrap(
            "admin-bootstrap",
            env=env,
            tenant=self.local.admin_tenant,
            username=self.local.admin_username,
            email=self.local.admin_email,
            opts=pulumi.ResourceOptions(depends_on=[postgres]),
        )

        data_stores = [postgres, redis]
        workers = [self._worker(i, port) for i, port in enumerate(self.local.worker_ports())]
        router = self._process(
            "router",
            "sglang-router",
            ports.router,
            self._router_argv(),
            health_path="/liveness",
            depends_on=workers,
        )
        auth = self._process(
            "auth", "auth service", ports.auth, [self.python, "-m", "helixflow.runtime.auth"], env=env,
            health_path="/health/ready", depends_on=data_stores,
        )  # fmt: skip
        gateway = self._process(
            "gateway", "gateway", ports.gateway, [self.python, "-m", "helixflow.runtime.gateway"], env=env,
            health_path="/health/ready", depends_on=[*data_stores, auth, router],
        )  # fmt: skip
        self._process(
            "monitoring", "monitoring service", ports.monitoring,
            [self.python, "-m", "helixflow.runtime.monitoring"], env=env,
            health_path="/health/live", depends_on=[*data_stores, router],
        )  # fmt: skip

        ca = LocalCertificateAuthority(
            "local-ca",
            directory=str(paths.stack_dir / "tls"),
            hosts=["localhost", "127.0.0.1", "::1"],
            valid_days=self.local.tls_valid_days,
        )
        nginx = Nginx(
            "nginx",
            https_port=ports.https,
            http_port=ports.http,
            upstream_ports=[ports.gateway],
            auth_port=ports.auth,
            cert_file=ca.cert_file,
            key_file=ca.key_file,
            ca_not_after=ca.not_after,
            prefix=str(paths.stack_dir / "nginx"),
            opts=pulumi.ResourceOptions(depends_on=[gateway, auth]),
            state_dir=str(self.paths.run_dir),
            log_file=self._log("nginx"),
        )
        self._record("nginx", "nginx", ports.https, f"http://127.0.0.1:{ports.http}/nginx-health", nginx)
        prometheus = Prometheus(
            "prometheus",
            port=ports.prometheus,
            targets={
                "gateway": [ports.gateway],
                "auth": [ports.auth],
                "monitoring": [ports.monitoring],
                "router": [ports.router_metrics],
                "workers": self.local.worker_ports(),
            },
            data_dir=str(paths.data_dir / "prometheus"),
            state_dir=str(self.paths.run_dir),
            log_file=self._log("prometheus"),
        )
        self._record(
            "prometheus", "prometheus", ports.prometheus, f"http://127.0.0.1:{ports.prometheus}/-/ready", prometheus
        )

        endpoint = f"https://localhost:{ports.https}"
        pulumi.export("target", "local")
        pulumi.export("endpoint", endpoint)
        pulumi.export("ca_file", ca.ca_file)
        pulumi.export("certificate_not_after", ca.not_after)
        pulumi.export("model", self.local.served_model_name)
        pulumi.export("admin_tenant", self.local.admin_tenant)
        pulumi.export("admin_api_key", pulumi.Output.secret(bootstrap.api_key))
        pulumi.export("prometheus_url", f"http://127.0.0.1:{ports.prometheus}")
        pulumi.export("logs_dir", str(paths.logs_dir))
        pulumi.export("components", self.components)

    def _worker(self, index: int, port: int) -> LocalProcess:
        argv = cpu_engine_argv(
            self.model_path, self.local.served_model_name, port=port, threads=self.local.engine_threads
        )
        env = {ENGINE_API_KEY_ENV: self.secrets.router_api_key, "PYTHONUNBUFFERED": "1"}
        return self._process(f"worker-{index}", "CPU engine worker", port, argv, env=env, health_path="/health")

    def _router_argv(self) -> list[str]:

        spec = RouterSpec(
            host="127.0.0.1",
            port=self.ports.router,
            worker_urls=[f"http://127.0.0.1:{p}" for p in self.local.worker_ports()],
            policy=self.local.router_policy,
            prometheus_host="127.0.0.1",
            prometheus_port=self.ports.router_metrics,
            api_key=self.secrets.router_api_key,
        )
        return spec.argv(python=self.python)

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
            opts=pulumi.ResourceOptions(depends_on=list(depends_on)),
            state_dir=str(self.paths.run_dir),
            log_file=self._log(name),
        )
        self._record(kind, name, port, health, resource)
        return resource


def _is_root() -> bool:
    import os

    return os.geteuid() == 0


def _postgres_bin_dir() -> Path:
    from helixflow.stacks.prereqs import postgres_bin_dir

    found = postgres_bin_dir()
    if found is None:  # the driver's preflight refuses to start without it
        raise RuntimeError("PostgreSQL binaries not found")
    return found
