"""A tenant's record in the runtime's database on a cluster, written from inside the cluster (the CLI need not
reach the gateway): a Secret with the tenant's preset API key and a Job, both in the runtime's namespace, that
runs `python -m helixflow.runtime.bootstrap tenant` with the services' database and Redis settings (their
Secret). A change of quotas is a new Job (a Job's template cannot change); `retire` makes the Job revoke the
tenant's keys instead (`tenant delete` runs it before the stack is destroyed). The engine waits for each Job to
complete, so a refused record fails the tenant's run."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.pods import Resources
from helixflow.components.k8s.runtime import DATA_CA_DIR, DATA_CA_SECRET, RUNTIME_USER, SECRET_NAME

TYPE = "helixflow:k8s:TenantRecordJob"
KEY_ENV = "HELIXFLOW_TENANT_API_KEY"
TENANT_LABEL = "helixflow.io/tenant"
# the migrations Job's label: the runtime namespace's NetworkPolicies let those pods reach PostgreSQL and Redis
APP = "migrate"
FLAGS = (("--rpm", "requests_per_minute"), ("--tpm", "tokens_per_minute"), ("--monthly-tokens", "monthly_tokens"))


@dataclass(frozen=True)
class TenantRecordArgs:
    tenant: str
    runtime_namespace: str
    image: str  # the runtime's
    api_key: pulumi.Input[str]
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    monthly_tokens: int | None = None
    retire: bool = False

    def command(self) -> list[str]:
        command = ["python", "-m", "helixflow.runtime.bootstrap", "tenant", self.tenant]
        if self.retire:
            return [*command, "--retire"]
        for flag, field in FLAGS:
            value = getattr(self, field)
            if value is not None:
                command += [flag, str(value)]
        return command

    def validate(self) -> None:
        """Raises ValueError before any resource is created."""
        if not self.tenant or not self.runtime_namespace or not self.image:
            raise ValueError("a tenant record needs the tenant, the runtime's namespace and its image")


class TenantRecordJob(pulumi.ComponentResource):
    """Raises ValueError for bad arguments."""

    def __init__(self, name: str, args: TenantRecordArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        labels = {**pods.labels(APP), TENANT_LABEL: args.tenant}
        secret_name = f"helixflow-tenant-{args.tenant}"
        secret = k8s.core.v1.Secret(
            f"{name}-key",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=args.runtime_namespace, labels=labels),
            type="Opaque", string_data={KEY_ENV: pulumi.Output.secret(args.api_key)},
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        container = k8s.core.v1.ContainerArgs(
            name="record", image=args.image, command=args.command(),
            env=pods.env({"HELIXFLOW_ENV": "production", "PYTHONUNBUFFERED": "1"}),
            env_from=[*pods.env_from_secret(SECRET_NAME), *pods.env_from_secret(secret_name)],
            resources=Resources("100m", "128Mi", "500m", "256Mi").args(), security_context=pods.container_security(),
            volume_mounts=[k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),
                           k8s.core.v1.VolumeMountArgs(name="data-ca", mount_path=DATA_CA_DIR, read_only=True)],
        )  # fmt: skip
        # the data stores' CAs when the platform has them (the database URL may name one): optional, as there
        data_ca = k8s.core.v1.VolumeArgs(name="data-ca", secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=DATA_CA_SECRET, default_mode=0o444, optional=True))  # fmt: skip
        job = k8s.batch.v1.Job(
            f"{name}-{'retire' if args.retire else 'record'}",
            metadata=k8s.meta.v1.ObjectMetaArgs(namespace=args.runtime_namespace, labels=labels),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=4, active_deadline_seconds=300,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        security_context=pods.pod_security(RUNTIME_USER), containers=[container],
                        volumes=[pods.scratch_volume(), data_ca], restart_policy="Never",
                        automount_service_account_token=False,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
        )  # fmt: skip
        self.job_name = job.metadata.name
        self.register_outputs({"job_name": self.job_name})
