"""The `local` target's Pulumi program: the configuration mapped onto `helixflow:local:Platform`."""

from __future__ import annotations

import pulumi

from helixflow.components.local.platform import (
    AdminAccount,
    Platform,
    PlatformArgs,
    PlatformDirs,
    PlatformPorts,
    PlatformSecrets,
)
from helixflow.stacks.config import LocalSettings
from helixflow.stacks.secrets import SecretSource, StackSecrets
from helixflow.stacks.targets.base import Program
from helixflow.stacks.targets.local.paths import LocalPaths
from helixflow.stacks.targets.local.preflight import LocalHost


def platform_args(local: LocalSettings, secrets: StackSecrets, paths: LocalPaths, host: LocalHost) -> PlatformArgs:
    """The typed arguments of the platform component, from the stack's settings and what preflight found."""
    ports = local.ports
    return PlatformArgs(
        ports=PlatformPorts(
            https=ports.https, http=ports.http, gateway=ports.gateway, auth=ports.auth, router=ports.router,
            router_metrics=ports.router_metrics, monitoring=ports.monitoring, postgres=ports.postgres,
            redis=ports.redis, prometheus=ports.prometheus, workers=tuple(local.worker_ports()),
        ),
        secrets=PlatformSecrets(
            postgres_password=secrets.postgres_password,
            postgres_runtime_password=secrets.postgres_runtime_password,
            redis_password=secrets.redis_password,
            secret_key=secrets.secret_key,
            router_api_key=secrets.router_api_key,
        ),
        dirs=PlatformDirs(
            run=str(paths.run_dir), logs=str(paths.logs_dir), data=str(paths.data_dir),
            postgres_data=str(paths.postgres_data_dir), tls=str(paths.tls_dir), nginx=str(paths.nginx_dir),
        ),
        admin=AdminAccount(tenant=local.admin_tenant, username=local.admin_username, email=local.admin_email),
        model_path=str(host.model_path),
        served_model_name=local.served_model_name,
        router_policy=local.router_policy,
        gateway_processes=local.gateway_processes,
        engine_threads=local.engine_threads,
        tls_valid_days=local.tls_valid_days,
        python=host.python,
        postgres_bin_dir=str(host.postgres_bin_dir),
        run_postgres_as=host.run_postgres_as,
    )


def build_local_program(local: LocalSettings, secrets: SecretSource, paths: LocalPaths, host: LocalHost) -> Program:
    """The inline program `helixflow up` runs for a `local` stack. Building it touches nothing."""

    def program() -> None:
        platform = Platform("local", platform_args(local, secrets(), paths, host))
        pulumi.export("target", "local")
        pulumi.export("endpoint", platform.endpoint)
        pulumi.export("http_url", platform.http_url)
        pulumi.export("gateway_url", platform.gateway_url)
        pulumi.export("ca_file", platform.ca_file)
        pulumi.export("certificate_not_after", platform.certificate_not_after)
        pulumi.export("model", local.served_model_name)
        pulumi.export("admin_tenant", local.admin_tenant)
        pulumi.export("admin_api_key", platform.admin_api_key)
        pulumi.export("database_url", platform.database_url)
        pulumi.export("database_admin_url", platform.database_admin_url)
        pulumi.export("prometheus_url", platform.prometheus_url)
        pulumi.export("logs_dir", str(paths.logs_dir))
        pulumi.export("components", platform.components)

    return program
