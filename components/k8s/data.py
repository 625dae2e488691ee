"""PostgreSQL and Redis in the cluster, for a development cluster: StatefulSets of the official images
(pinned) on persistent volumes, in their own namespace under Pod Security `restricted`. Production
stacks give the URLs of managed data stores instead."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.pods import Resources
from helixflow.runtime.db.roles import RUNTIME_ROLE

TYPE = "helixflow:k8s:DataStores"
POSTGRES_PORT, REDIS_PORT = 5432, 6379
DATA_USER = 999  # the postgres and redis users of the official Debian-based images
DATABASE = "helixflow"


@dataclass(frozen=True)
class InClusterData:
    """What a stack chooses of its in-cluster data stores."""

    postgres_image: str
    redis_image: str
    postgres_password: pulumi.Input[str]  # the `postgres` superuser's: the migrations' admin step only
    redis_password: pulumi.Input[str]
    # the runtime's own role's (RUNTIME_ROLE, made by the migrations Job): what the services connect with
    postgres_runtime_password: pulumi.Input[str] = ""
    postgres_storage: str = "20Gi"
    redis_storage: str = "5Gi"
    storage_class: str | None = None


@dataclass(frozen=True)
class DataArgs:
    namespace: str
    stores: InClusterData


class DataStores(pulumi.ComponentResource):
    """In-cluster PostgreSQL and Redis; `database_url` (the runtime's role), `database_admin_url` (the
    superuser, for the migrations) and `redis_url`, all secrets, reach them by Service name.
    Raises ValueError without a runtime password."""

    database_url: pulumi.Output[str]
    database_admin_url: pulumi.Output[str]
    redis_url: pulumi.Output[str]

    def __init__(self, name: str, args: DataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if isinstance(args.stores.postgres_runtime_password, str) and not args.stores.postgres_runtime_password:
            raise ValueError("the in-cluster data stores need postgres_runtime_password (the runtime role's)")
        super().__init__(TYPE, name, None, opts)
        self._namespace, self._stores = args.namespace, args.stores
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=self._namespace, labels={
                **pods.PART_OF, "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest"}),
            # `down` keeps the data: the namespace and the volume claims in it stay (`down --purge-data` deletes them)
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )  # fmt: skip
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="helixflow-data", namespace=self._namespace, labels=pods.PART_OF),
            string_data={"POSTGRES_PASSWORD": self._stores.postgres_password,
                         "REDIS_PASSWORD": self._stores.redis_password},
            opts=in_ns,
        )  # fmt: skip
        after = pulumi.ResourceOptions(parent=self, depends_on=[ns, secret])
        self._postgres(name, after)
        self._redis(name, after)
        host = f"{self._namespace}.svc.cluster.local"
        self.database_admin_url = pulumi.Output.secret(pulumi.Output.from_input(self._stores.postgres_password).apply(
            lambda p: f"postgresql://postgres:{p}@postgres.{host}:{POSTGRES_PORT}/{DATABASE}"))  # fmt: skip
        self.database_url = pulumi.Output.secret(pulumi.Output.from_input(
            self._stores.postgres_runtime_password).apply(
            lambda p: f"postgresql://{RUNTIME_ROLE}:{p}@postgres.{host}:{POSTGRES_PORT}/{DATABASE}"))  # fmt: skip
        self.redis_url = pulumi.Output.secret(pulumi.Output.from_input(self._stores.redis_password).apply(
            lambda p: f"redis://:{p}@redis.{host}:{REDIS_PORT}/0"))  # fmt: skip
        self.register_outputs({"database_url": self.database_url, "database_admin_url": self.database_admin_url,
                               "redis_url": self.redis_url})  # fmt: skip

    def _claim(self, size: str) -> k8s.core.v1.PersistentVolumeClaimArgs:
        return k8s.core.v1.PersistentVolumeClaimArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(name="data"),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"], storage_class_name=self._stores.storage_class,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": size}),
            ),
        )  # fmt: skip

    def _stateful_set(self, name: str, app: str, port: int, container: k8s.core.v1.ContainerArgs, size: str,
                      opts: pulumi.ResourceOptions) -> None:  # fmt: skip
        meta = k8s.meta.v1.ObjectMetaArgs(name=app, namespace=self._namespace, labels=pods.labels(app))
        service = k8s.core.v1.Service(
            f"{name}-{app}-service", metadata=meta,
            spec=k8s.core.v1.ServiceSpecArgs(selector={pods.APP_LABEL: app}, cluster_ip="None", ports=[
                k8s.core.v1.ServicePortArgs(name=app, port=port, target_port=port)]),
            opts=opts,
        )  # fmt: skip
        k8s.apps.v1.StatefulSet(
            f"{name}-{app}", metadata=meta,
            spec=k8s.apps.v1.StatefulSetSpecArgs(
                service_name=app, replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels={pods.APP_LABEL: app}),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(app)),
                    spec=k8s.core.v1.PodSpecArgs(security_context=pods.pod_security(DATA_USER), containers=[container],
                                                 automount_service_account_token=False,
                                                 volumes=[pods.scratch_volume(), pods.scratch_volume("run")]),
                ),
                volume_claim_templates=[self._claim(size)],
                # `down` keeps the data: the claims outlive the StatefulSet unless --purge-data
                persistent_volume_claim_retention_policy=k8s.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs(
                    when_deleted="Retain", when_scaled="Retain"),
            ),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service])),
        )  # fmt: skip

    def _postgres(self, name: str, opts: pulumi.ResourceOptions) -> None:
        a = self._stores
        secret_ref = k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name="helixflow-data", key="POSTGRES_PASSWORD"))
        ready = k8s.core.v1.ProbeArgs(exec_=k8s.core.v1.ExecActionArgs(command=["pg_isready", "-U", "postgres"]),
                                      period_seconds=5, failure_threshold=6)  # fmt: skip
        container = k8s.core.v1.ContainerArgs(
            name="postgres", image=a.postgres_image,
            env=[k8s.core.v1.EnvVarArgs(name="POSTGRES_PASSWORD", value_from=secret_ref),
                 *pods.env({"POSTGRES_DB": DATABASE, "PGDATA": "/var/lib/postgresql/data/pgdata"})],
            ports=[k8s.core.v1.ContainerPortArgs(name="postgres", container_port=POSTGRES_PORT)],
            resources=Resources("250m", "512Mi", "2", "2Gi").args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/var/lib/postgresql/data"),
                           k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                           k8s.core.v1.VolumeMountArgs(name="run", mount_path="/var/run/postgresql")],
            startup_probe=ready, readiness_probe=ready, liveness_probe=ready,
        )  # fmt: skip
        self._stateful_set(name, "postgres", POSTGRES_PORT, container, a.postgres_storage, opts)

    def _redis(self, name: str, opts: pulumi.ResourceOptions) -> None:
        a = self._stores
        secret_ref = k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name="helixflow-data", key="REDIS_PASSWORD"))
        ready = k8s.core.v1.ProbeArgs(tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=REDIS_PORT), period_seconds=5)
        container = k8s.core.v1.ContainerArgs(
            name="redis", image=a.redis_image,
            command=["redis-server", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", "/data",
                     "--maxmemory-policy", "noeviction", "--requirepass", "$(REDIS_PASSWORD)"],
            env=[k8s.core.v1.EnvVarArgs(name="REDIS_PASSWORD", value_from=secret_ref)],
            ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=REDIS_PORT)],
            resources=Resources("100m", "256Mi", "1", "1Gi").args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data"),
                           k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")],
            startup_probe=ready, readiness_probe=ready, liveness_probe=ready,
        )  # fmt: skip
        self._stateful_set(name, "redis", REDIS_PORT, container, a.redis_storage, opts)
