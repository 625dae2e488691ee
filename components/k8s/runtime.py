"""HelixFlow's runtime services on a cluster: the namespace (Pod Security `restricted` enforced), the
secrets, a migrations Job that completes before the services roll, and the gateway, auth and
monitoring Deployments with their Services, autoscaling and disruption budgets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.pods import Resources

TYPE = "helixflow:k8s:Runtime"
RUNTIME_USER = 10001  # the runtime image's user (templates/runtime/Dockerfile)
SECRET_NAME = "helixflow-runtime"  # every runtime pod's environment: the runtime role's database URL
DATABASE_URL_KEY = "HELIXFLOW_DATABASE_URL"  # the runtime role's URL in SECRET_NAME (what a backup dumps)
MIGRATIONS_SECRET = "helixflow-migrations"  # the database's admin URL: the migrations Job's alone
ADMIN_URL_KEY = "HELIXFLOW_DATABASE_ADMIN_URL"
GATEWAY_PORT, AUTH_PORT, MONITORING_PORT = 8080, 8081, 8083
DATA_CA_DIR, DATA_CA_SECRET = "/etc/helixflow/ca", "helixflow-data-ca"


@dataclass(frozen=True)
class RuntimeSecrets:
    database_url: pulumi.Input[str]  # the runtime's own role (it owns schema `helixflow`)
    redis_url: pulumi.Input[str]
    secret_key: pulumi.Input[str]
    pool_api_key: pulumi.Input[str]
    # The database's admin: the migrations Job makes the role of database_url and its schema with it first
    # (runtime/db/roles.py). None: the migrations run as database_url's user.
    database_admin_url: pulumi.Input[str] | None = None


@dataclass(frozen=True)
class AdminAccount:
    """The first tenant and its admin, made by the migrations Job once the schema is there. The admin's API key
    is chosen by the stack (derived from its secret key), so the stack can hand it out as a secret output."""

    api_key: pulumi.Input[str]
    tenant: str = "default"
    username: str = "admin"
    email: str = "admin@helixflow.invalid"


@dataclass(frozen=True)
class Scaling:
    min_replicas: int = 3
    max_replicas: int = 20
    target_cpu_percent: int = 70


@dataclass(frozen=True)
class RuntimeArgs:
    namespace: str
    image: str
    secrets: RuntimeSecrets
    pool_url: str  # the router's Service
    scaling: Scaling = field(default_factory=Scaling)
    admin: AdminAccount | None = None
    ca_files: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)  # file name -> PEM, at DATA_CA_DIR

    def validate(self) -> None:
        if not self.namespace or not self.image:
            raise ValueError("the runtime needs a namespace and an image")
        if not 1 <= self.scaling.min_replicas <= self.scaling.max_replicas:
            raise ValueError(f"replicas must satisfy 1 <= min <= max, got {self.scaling}")


SERVICES: dict[str, tuple[int, str, Resources]] = {
    # name -> (port, module, resources)
    "gateway": (GATEWAY_PORT, "helixflow.runtime.gateway", Resources("500m", "512Mi", "2", "1Gi")),
    "auth": (AUTH_PORT, "helixflow.runtime.auth", Resources("250m", "384Mi", "1", "768Mi")),
    "monitoring": (MONITORING_PORT, "helixflow.runtime.monitoring", Resources("100m", "256Mi", "500m", "512Mi")),
}
SCALED = ("gateway", "auth")  # monitoring exports platform-wide figures: one replica, or each would be counted twice


class Runtime(pulumi.ComponentResource):
    """The runtime's namespace, secrets, migrations and services. Raises ValueError for bad arguments."""

    namespace: pulumi.Output[str]
    gateway_service: pulumi.Output[str]

    def __init__(self, name: str, args: RuntimeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.namespace, labels={
                **pods.PART_OF,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
            }),
            opts=child,
        )  # fmt: skip
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SECRET_NAME, namespace=args.namespace, labels=pods.PART_OF),
            type="Opaque",
            string_data={
                DATABASE_URL_KEY: args.secrets.database_url,
                "HELIXFLOW_REDIS_URL": args.secrets.redis_url,
                "HELIXFLOW_SECRET_KEY": args.secrets.secret_key,
                "HELIXFLOW_POOL_API_KEY": args.secrets.pool_api_key,
                **({"HELIXFLOW_BOOTSTRAP_API_KEY": args.admin.api_key} if args.admin else {}),
            },
            opts=in_ns,
        )
        secrets: list[pulumi.Resource] = [secret]
        if args.secrets.database_admin_url is not None:  # a Secret of its own: no service's env_from reaches it
            secrets.append(k8s.core.v1.Secret(
                f"{name}-migrations-secret", metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=MIGRATIONS_SECRET, namespace=args.namespace, labels=pods.PART_OF),
                type="Opaque", string_data={ADMIN_URL_KEY: args.secrets.database_admin_url}, opts=in_ns,
            ))  # fmt: skip
        if args.ca_files:  # before any pod that mounts it
            secrets.append(k8s.core.v1.Secret(
                f"{name}-data-ca", metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=DATA_CA_SECRET, namespace=args.namespace, labels=pods.PART_OF),
                string_data=dict(args.ca_files), opts=in_ns,
            ))  # fmt: skip
        migrations = self._migrations(name, pulumi.ResourceOptions(parent=self, depends_on=secrets))
        rolled = pulumi.ResourceOptions(parent=self, depends_on=[*secrets, migrations])
        for service in SERVICES:
            self._service(name, service, rolled)
        self.namespace = ns.metadata.name
        self.gateway_service = pulumi.Output.from_input(f"gateway.{args.namespace}.svc.cluster.local:{GATEWAY_PORT}")
        self.register_outputs({"namespace": self.namespace, "gateway_service": self.gateway_service})

    def _env(self, service: str | None = None) -> list[k8s.core.v1.EnvVarArgs]:
        ns = self._args.namespace
        values = {
            "HELIXFLOW_ENV": "production",
            "HELIXFLOW_POOL_URL": self._args.pool_url,
            "HELIXFLOW_AUTH_URL": f"http://auth.{ns}.svc.cluster.local:{AUTH_PORT}",
            "HELIXFLOW_GATEWAY_HOST": "0.0.0.0", "HELIXFLOW_GATEWAY_PORT": str(GATEWAY_PORT),
            "HELIXFLOW_GATEWAY_WORKERS": "1",  # one process per pod: the HPA scales pods
            "HELIXFLOW_AUTH_HOST": "0.0.0.0", "HELIXFLOW_AUTH_PORT": str(AUTH_PORT),
            "HELIXFLOW_MONITORING_HOST": "0.0.0.0", "HELIXFLOW_MONITORING_PORT": str(MONITORING_PORT),
            "PYTHONUNBUFFERED": "1",
        }  # fmt: skip
        return pods.env(values)

    def _pod(self, app: str, container: k8s.core.v1.ContainerArgs, restart: str | None = None,
             spread: bool = True) -> k8s.core.v1.PodTemplateSpecArgs:  # fmt: skip
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(app)),
            spec=k8s.core.v1.PodSpecArgs(
                security_context=pods.pod_security(RUNTIME_USER), containers=[container],
                volumes=[pods.scratch_volume(), *self._ca_volume()], restart_policy=restart,
                automount_service_account_token=False,
                topology_spread_constraints=pods.zone_spread(app) if spread else None,
            ),
        )  # fmt: skip

    def _ca_volume(self) -> list[k8s.core.v1.VolumeArgs]:
        if not self._args.ca_files:
            return []
        return [k8s.core.v1.VolumeArgs(name="data-ca", secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=DATA_CA_SECRET, default_mode=0o444))]  # fmt: skip

    def _container(self, app: str, command: list[str], resources: Resources, port: int | None = None,
                   probes: bool = True, extra_env: list[k8s.core.v1.EnvVarArgs] | None = None,
                   ) -> k8s.core.v1.ContainerArgs:  # fmt: skip
        return k8s.core.v1.ContainerArgs(
            name=app, image=self._args.image, command=command, env=[*self._env(), *(extra_env or [])],
            env_from=pods.env_from_secret(SECRET_NAME),
            ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=port)] if port else None,
            resources=resources.args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"), *(
                [k8s.core.v1.VolumeMountArgs(name="data-ca", mount_path=DATA_CA_DIR, read_only=True)]
                if self._args.ca_files else [])],
            startup_probe=pods.http_probe("/health/live", port, period=2, failures=60) if probes and port else None,
            readiness_probe=pods.http_probe("/health/ready", port, period=5) if probes and port else None,
            liveness_probe=pods.http_probe("/health/live", port, period=10) if probes and port else None,
        )  # fmt: skip

    def _migrations(self, name: str, opts: pulumi.ResourceOptions) -> k8s.batch.v1.Job:
        """A new image gets a new Job (a Job's template cannot change), so its migrations run before it rolls."""
        command = ["python", "-m", "helixflow.runtime.db", "upgrade"]
        admin = self._args.admin
        if admin:  # then the first tenant and admin; its output (with the generated password) stays out of the log
            command = ["sh", "-c", " ".join(command) + " && python -m helixflow.runtime.bootstrap bootstrap "
                       f"--tenant {admin.tenant} --username {admin.username} --email {admin.email} --json >/dev/null"]
        admin_url = [k8s.core.v1.EnvVarArgs(name=ADMIN_URL_KEY, value_from=k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=MIGRATIONS_SECRET, key=ADMIN_URL_KEY)))
        ] if self._args.secrets.database_admin_url is not None else []  # fmt: skip
        container = self._container("migrate", command, Resources("100m", "128Mi", "500m", "256Mi"), probes=False,
                                    extra_env=admin_url)
        return k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=self._args.namespace, labels=pods.labels("migrate")),
            spec=k8s.batch.v1.JobSpecArgs(backoff_limit=4, active_deadline_seconds=600,
                                          template=self._pod("migrate", container, restart="Never", spread=False)),
            opts=opts,
        )  # fmt: skip

    def _service(self, name: str, app: str, opts: pulumi.ResourceOptions) -> None:
        port, module, resources = SERVICES[app]
        ns, scaling = self._args.namespace, self._args.scaling
        replicas = scaling.min_replicas if app in SCALED else 1
        container = self._container(app, ["python", "-m", module], resources, port)
        selector = k8s.meta.v1.LabelSelectorArgs(match_labels={pods.APP_LABEL: app})
        deployment = k8s.apps.v1.Deployment(
            f"{name}-{app}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=ns, labels=pods.labels(app)),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=replicas, selector=selector, template=self._pod(app, container),
                strategy=k8s.apps.v1.DeploymentStrategyArgs(
                    type="RollingUpdate",
                    rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(max_unavailable=0, max_surge=1),
                ),
            ),
            # the HPA owns the replica count once it exists
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])),
        )  # fmt: skip
        child = pulumi.ResourceOptions(parent=self, depends_on=[deployment])
        k8s.core.v1.Service(
            f"{name}-{app}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=ns, labels=pods.labels(app)),
            spec=k8s.core.v1.ServiceSpecArgs(
                selector={pods.APP_LABEL: app},
                ports=[k8s.core.v1.ServicePortArgs(name="http", port=port, target_port="http")],
            ),
            opts=child,
        )  # fmt: skip
        if app not in SCALED:
            return
        target = k8s.autoscaling.v2.CrossVersionObjectReferenceArgs(api_version="apps/v1", kind="Deployment", name=app)
        utilization = k8s.autoscaling.v2.MetricTargetArgs(type="Utilization",
                                                           average_utilization=scaling.target_cpu_percent)
        cpu = k8s.autoscaling.v2.ResourceMetricSourceArgs(name="cpu", target=utilization)
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-{app}-hpa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=ns, labels=pods.labels(app)),
            spec=k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgs(
                scale_target_ref=target, min_replicas=scaling.min_replicas, max_replicas=scaling.max_replicas,
                metrics=[k8s.autoscaling.v2.MetricSpecArgs(type="Resource", resource=cpu)],
            ),
            opts=child,
        )  # fmt: skip
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-{app}-pdb",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=app, namespace=ns, labels=pods.labels(app)),
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(max_unavailable=1, selector=selector),
            opts=child,
        )  # fmt: skip
