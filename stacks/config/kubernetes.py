"""The `kubernetes:` section: the runtime on a cluster you already have, from a kubeconfig."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from helixflow.stacks.config.common import StackBase, Strict

RUNTIME_IMAGE = "ghcr.io/helixflow/runtime:0.1.0"
SGLANG_IMAGE = "lmsysorg/sglang:v0.5.23-cu130-runtime"
POSTGRES_IMAGE = "postgres:16.10-bookworm"
REDIS_IMAGE = "redis:7.4.6-bookworm"
BACKUP_SCHEDULE = "17 3 * * *"  # daily, off the hour most jobs pick
BUCKET_PREFIX = r"^(s3|gs)://[a-z0-9][a-z0-9._-]{1,220}/([^/]+/)*$"
CRON = r"^(\*|[0-9*/,\-]+)( (\*|[0-9*/,\-]+)){4}$"  # five fields, as a CronJob's schedule takes them


class GpuPool(Strict):
    """How the SGLang workers find the GPU nodes."""

    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"}, description="labels every GPU node has"
    )
    toleration_key: str = Field("nvidia.com/gpu", min_length=1, description="the taint that keeps others off them")


class ModelSettings(Strict):
    id: str = Field("Qwen/Qwen2.5-7B-Instruct", min_length=1, description="the model (a Hugging Face id)")
    served_name: str | None = Field(None, description="the name clients ask for (default: the id)")
    source: Literal["huggingface", "bucket"] = Field("huggingface", description="where workers load it from")
    uri: str | None = Field(None, description="with source bucket: the model's prefix (s3://... or gs://...)")
    context_length: int | None = Field(None, ge=256, le=1_048_576)

    @model_validator(mode="after")
    def _uri_for_bucket(self) -> ModelSettings:
        if self.source == "bucket" and not (self.uri or "").startswith(("s3://", "gs://")):
            raise ValueError("model.source bucket needs model.uri, an s3:// or gs:// prefix")
        return self

    @property
    def name(self) -> str:
        return self.served_name or self.id


class BackupSchedule(Strict):
    schedule: str = Field(BACKUP_SCHEDULE, description="when the pg_dump CronJob runs: five-field cron, UTC")

    @field_validator("schedule")
    @classmethod
    def _cron(cls, schedule: str) -> str:
        if not re.match(CRON, schedule.strip()):
            raise ValueError(f"backup.schedule {schedule!r} is not a five-field cron expression, "
                             f"e.g. {BACKUP_SCHEDULE!r} (minute hour day month weekday, UTC)")  # fmt: skip
        return schedule.strip()


class CloudBackupSettings(BackupSchedule):
    """The pg_dump CronJob into the stack's bucket, under bucket.backup_prefix (which the bucket's lifecycle
    rule expires after bucket.backup_retention_days)."""

    enabled: bool = Field(True, description="run the CronJob (the managed database keeps its own backups too)")


class KubernetesBackupSettings(BackupSchedule):
    """The pg_dump CronJob into a bucket you have: off until bucket_uri is set. Expiring old backups is the
    bucket's lifecycle rule's job. The `backup` service account must be able to write there, and the
    `db-restore` one (what `helixflow restore` runs under) to read it: give each the annotation your cluster's
    identity needs (IRSA's eks.amazonaws.com/role-arn, GKE's iam.gke.io/gcp-service-account), or bind them
    with EKS Pod Identity (no annotation)."""

    bucket_uri: str | None = Field(None, description="s3://bucket/prefix/ or gs://bucket/prefix/ (none: no CronJob)")
    service_account_annotations: dict[str, str] = Field(
        default_factory=dict, description="annotations on the `backup` service account the job runs under")
    restore_service_account_annotations: dict[str, str] = Field(
        default_factory=dict, description="annotations on the `db-restore` service account `helixflow restore` runs "
        "its jobs under (read access to bucket_uri)")

    @field_validator("bucket_uri")
    @classmethod
    def _prefix(cls, uri: str | None) -> str | None:
        if uri is not None and not re.match(BUCKET_PREFIX, uri):
            raise ValueError(f"backup.bucket_uri {uri!r} must be a bucket prefix ending in '/': "
                             "s3://bucket/prefix/ or gs://bucket/prefix/")  # fmt: skip
        return uri


class DataSettings(Strict):
    """PostgreSQL and Redis: in the cluster (development), or the ones you run (their URLs, TLS verified)."""

    mode: Literal["in-cluster", "external"] = "in-cluster"
    postgres_url: str | None = Field(
        None, description="external: what the services connect with, postgresql://USER:PASSWORD@HOST/DB"
        "?sslmode=verify-full. It should be a role that owns schema `helixflow` only (not a superuser); with "
        "postgres_admin_url, the migrations create that role (NOSUPERUSER, its own password) and its schema; "
        "without it, the URL is used as is, migrations included (they create the schema if its user may)",
    )  # fmt: skip
    postgres_admin_url: str | None = Field(
        None, description="external, optional: an admin of the database (the superuser or the managed master "
        "user), used by the migrations Job only, from a Secret no service mounts: it creates postgres_url's "
        "role and schema `helixflow`, moves an earlier release's tables from `public` into it, and revokes "
        "what PUBLIC has on the database. Must connect as another user than postgres_url",
    )  # fmt: skip
    redis_url: str | None = Field(None, description="external: rediss://user:password@host:6379/0")
    storage_class: str | None = Field(None, description="in-cluster: the volumes' StorageClass (default: cluster's)")
    postgres_storage: str = Field("20Gi", pattern=r"^\d+(Mi|Gi|Ti)$")
    redis_storage: str = Field("5Gi", pattern=r"^\d+(Mi|Gi|Ti)$")

    @model_validator(mode="after")
    def _urls_for_external(self) -> DataSettings:
        if self.mode == "external":
            if not (self.postgres_url or "").startswith(("postgresql://", "postgres://")):
                raise ValueError("data.mode external needs data.postgres_url (postgresql://...)")
            if not (self.redis_url or "").startswith(("redis://", "rediss://")):
                raise ValueError("data.mode external needs data.redis_url (rediss://...)")
            if self.postgres_admin_url is not None:
                self._check_admin_url(self.postgres_url or "", self.postgres_admin_url)
        elif self.postgres_admin_url is not None:
            raise ValueError("data.postgres_admin_url is for data.mode external (in the cluster, the stack "
                             "makes the runtime's role itself); remove it")
        return self

    @staticmethod
    def _check_admin_url(url: str, admin_url: str) -> None:
        from urllib.parse import urlsplit

        if not admin_url.startswith(("postgresql://", "postgres://")):
            raise ValueError("data.postgres_admin_url must be a postgresql:// URL")
        if urlsplit(admin_url).username == urlsplit(url).username:
            raise ValueError("data.postgres_admin_url connects as the same user as data.postgres_url: give the "
                             "services a role of their own, or leave postgres_admin_url out")


Addon = Literal["install", "present"]
OptionalAddon = Literal["install", "present", "none"]


class AddonSettings(Strict):
    """Each cluster add-on HelixFlow relies on: `install` it (a pinned Helm chart), or it is `present` already
    (then `up` checks that the custom resource definitions HelixFlow needs are there)."""

    ingress_nginx: Addon = "present"
    cert_manager: Addon = "present"
    kube_prometheus_stack: Addon = "present"
    nvidia_device_plugin: OptionalAddon = Field("present", description="none where the platform provides it (GKE)")
    dcgm_exporter: OptionalAddon = "present"


class EdgeSettings(Strict):
    """The public endpoint: ingress-nginx behind the cluster's load balancer, certificates by cert-manager."""

    acme_server: Literal["production", "staging"] = Field(
        "production", description="with a domain: which Let's Encrypt issuer signs its certificate"
    )
    load_balancer_annotations: dict[str, str] = Field(
        default_factory=dict, description="annotations on ingress-nginx's LoadBalancer Service (cloud-specific)"
    )


class AlertingSettings(Strict):
    """Alertmanager's Slack receiver. The webhook URL is never in the configuration: it is read from a Secret."""

    slack_secret: str | None = Field(
        None, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        description="a Secret in the runtime namespace holding the Slack webhook URL (none: no Slack receiver)",
    )  # fmt: skip
    slack_secret_key: str = Field("webhook-url", min_length=1)
    slack_channel: str = Field("#helixflow-alerts", min_length=2)


class ImageSettings(Strict):
    runtime: str = Field(RUNTIME_IMAGE, description="gateway, auth, monitoring, migrations and the router")
    sglang: str = Field(SGLANG_IMAGE, description="the SGLang workers")
    postgres: str = POSTGRES_IMAGE
    redis: str = REDIS_IMAGE

    @model_validator(mode="after")
    def _pinned(self) -> ImageSettings:
        for field, image in self.model_dump().items():
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if "@sha256:" not in image and tag in ("", "latest"):
                raise ValueError(f"images.{field} {image!r} must be pinned to a tag other than latest (or a digest)")
        return self


class ScalingSettings(Strict):
    """The gateway's horizontal autoscaling (the seed's 3 to 20 replicas at 70% CPU)."""

    min_replicas: int = Field(3, ge=1, le=100)
    max_replicas: int = Field(20, ge=1, le=500)
    target_cpu_percent: int = Field(70, ge=10, le=95)

    @model_validator(mode="after")
    def _ordered(self) -> ScalingSettings:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"scaling.max_replicas {self.max_replicas} is below min_replicas {self.min_replicas}")
        return self


class KubernetesSettings(Strict):
    kubeconfig: str | None = Field(None, description="path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    context: str | None = Field(None, description="the kubeconfig context (default: its current context)")
    namespace_prefix: str = Field("helixflow", min_length=1, max_length=40, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    kubernetes_version: str = Field("1.34", pattern=r"^1\.\d+$", description="the cluster's version (for validation)")
    gpu_pool: GpuPool = GpuPool()
    workers: int = Field(2, ge=0, le=1000, description="SGLang workers")
    gpus_per_worker: int = Field(1, ge=1, le=16)
    router_replicas: int = Field(2, ge=1, le=10)
    model: ModelSettings = ModelSettings()
    data: DataSettings = DataSettings()
    addons: AddonSettings = AddonSettings()
    images: ImageSettings = ImageSettings()
    scaling: ScalingSettings = ScalingSettings()
    admin_tenant: str = Field("default", min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    edge: EdgeSettings = EdgeSettings()
    alerting: AlertingSettings = AlertingSettings()
    backup: KubernetesBackupSettings = KubernetesBackupSettings()
    worker_service_account_annotations: dict[str, str] = Field(
        default_factory=dict, description="annotations on the `sglang-worker` service account (its cloud identity, "
        "for a bucket model)")  # fmt: skip


class KubernetesStack(StackBase):
    """A stack of target `kubernetes`: its `kubernetes:` section only."""

    target: Literal["kubernetes"]
    kubernetes: KubernetesSettings = KubernetesSettings()
