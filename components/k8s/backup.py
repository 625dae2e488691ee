"""The cluster targets' backups: a CronJob that pg_dumps the runtime database daily into the stack's bucket.

    init container `dump` (the PostgreSQL image): pg_dump --format=custom (compressed), checked with
        pg_restore --list, a `.sha256` beside it (the same files `helixflow backup` writes locally)
    container `upload` (the cloud's CLI image, from the bucket URI's scheme): copies both to the bucket

Bucket credentials come from the pod's service account (IRSA on EKS, Workload Identity on GKE): no key
is mounted. Old backups are deleted by the bucket's 30-day lifecycle rule, not by the job.

`BackupJob(name, BackupArgs(...), opts)`; arguments are validated before anything is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.cloud_cli import CLI_ENV, CLI_IMAGES
from helixflow.components.k8s.pods import Resources

TYPE = "helixflow:k8s:BackupJob"
APP = "db-backup"
DATA_USER = 999  # the postgres user of the official image; the cloud CLIs run as any user with HOME=/tmp
DEFAULT_SCHEDULE = "17 3 * * *"  # daily, off the hour most jobs pick
UPLOADER_IMAGES = CLI_IMAGES  # pinned: the CLI that copies to the bucket, by the bucket URI's scheme
_CRON_FIELD = r"(\*|[0-9*/,\-]+)"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def valid_schedule(schedule: str) -> bool:
    """A five-field cron expression (what a CronJob's schedule takes)."""
    return bool(_CRON.match(schedule.strip()))

DUMP_SCRIPT = """set -eu
cd "${BACKUP_DIR:-/backup}"
name="helixflow-$(date -u +%Y%m%dT%H%M%SZ)${BACKUP_KIND:+-$BACKUP_KIND}.dump"  # pre-restore: before a restore
pg_dump --format=custom --compress=6 --no-owner --no-privileges --schema=helixflow --dbname="$DATABASE_URL" \\
  --file="$name.partial"
pg_restore --list "$name.partial" > /dev/null
mv "$name.partial" "$name"
sha256sum "$name" > "$name.sha256"
ls -l
"""
UPLOAD_COMMANDS = {
    "s3": ["aws", "s3", "cp", "/backup/", "$(BUCKET_URI)", "--recursive", "--only-show-errors"],
    "gs": ["gcloud", "storage", "cp", "/backup/*", "$(BUCKET_URI)"],
}


@dataclass(frozen=True)
class BackupArgs:
    """namespace: where the job runs (the runtime's); image: a pinned PostgreSQL image (pg_dump of the server's
    major version or newer); database_url_secret / database_url_key: the Secret and key holding the runtime's
    postgresql:// URL; bucket_uri: the stack's backup prefix, s3://bucket/prefix/ or gs://bucket/prefix/ (an
    Output when the bucket is made in the same program: then give its `scheme`); service_account: the one with
    write access to that prefix."""

    namespace: str
    image: str
    database_url_secret: str
    bucket_uri: pulumi.Input[str]
    service_account: str
    database_url_key: str = "HELIXFLOW_DATABASE_URL"
    schedule: str = DEFAULT_SCHEDULE
    uploader_image: str | None = None  # default: UPLOADER_IMAGES for the bucket's scheme
    bucket_scheme: str | None = None  # default: the bucket URI's, when it is a string
    ca_secret: str | None = None  # the data stores' CAs, mounted at ca_dir (where the database URL names them)
    ca_dir: str = "/etc/helixflow/ca"

    @property
    def scheme(self) -> str:
        if self.bucket_scheme is not None:
            return self.bucket_scheme
        return self.bucket_uri.split("://", 1)[0] if isinstance(self.bucket_uri, str) else ""

    def validate(self) -> None:
        """Raises ValueError for arguments no cluster would run (before any resource is created)."""
        if self.scheme not in UPLOADER_IMAGES:
            raise ValueError(f"bucket_uri {self.bucket_uri!r} must be s3://bucket/prefix/ or gs://bucket/prefix/")
        if isinstance(self.bucket_uri, str):
            self._validate_uri(self.bucket_uri)
        if not valid_schedule(self.schedule):
            raise ValueError(
                f"schedule {self.schedule!r} is not a five-field cron expression, e.g. {DEFAULT_SCHEDULE!r}"
            )
        for what, value in (("namespace", self.namespace), ("service_account", self.service_account),
                            ("database_url_secret", self.database_url_secret)):  # fmt: skip
            if not _DNS_LABEL.match(value):
                raise ValueError(f"{what} {value!r} is not a Kubernetes name (lower-case letters, digits, '-')")
        if not re.match(r"^[-._a-zA-Z0-9]+$", self.database_url_key):
            raise ValueError(f"database_url_key {self.database_url_key!r} is not a Secret key")
        for image in (self.image, self.uploader()):
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            if "@sha256:" not in image and tag in ("", "latest"):
                raise ValueError(f"image {image!r} must be pinned to a tag other than latest (or a digest)")

    def _validate_uri(self, uri: str) -> None:
        if not re.match(r"^[a-z0-9]+://[a-z0-9][a-z0-9._-]{1,220}/", uri) or not uri.startswith(f"{self.scheme}://"):
            raise ValueError(f"bucket_uri {uri!r} must be s3://bucket/prefix/ or gs://bucket/prefix/")
        if not uri.endswith("/"):
            raise ValueError(f"bucket_uri {uri!r} must end with '/' (it is a prefix)")

    def uploader(self) -> str:
        return self.uploader_image or UPLOADER_IMAGES.get(self.scheme, "")

    def ca_mounts(self) -> list[k8s.core.v1.VolumeMountArgs]:
        if not self.ca_secret:
            return []
        return [k8s.core.v1.VolumeMountArgs(name="data-ca", mount_path=self.ca_dir, read_only=True)]

    def ca_volumes(self) -> list[k8s.core.v1.VolumeArgs]:
        if not self.ca_secret:
            return []
        return [k8s.core.v1.VolumeArgs(name="data-ca", secret=k8s.core.v1.SecretVolumeSourceArgs(
            secret_name=self.ca_secret, default_mode=0o444))]  # fmt: skip


@dataclass(frozen=True)
class BucketBackup:
    """What the Kubernetes layer needs to run the job: the PostgreSQL image that dumps, when, and where: the
    stack's backup prefix (`bucket_uri`, with its `scheme` when it is an Output). The cloud platforms fill
    bucket_uri in with their own bucket's; the layer refuses a backup without one."""

    image: str
    schedule: str = DEFAULT_SCHEDULE
    bucket_uri: pulumi.Input[str] | None = None
    scheme: str | None = None

    def into(self, bucket_uri: pulumi.Input[str], scheme: str) -> BucketBackup:
        return BucketBackup(image=self.image, schedule=self.schedule, bucket_uri=bucket_uri, scheme=scheme)

    def job_args(self, namespace: str, database_url_secret: str, database_url_key: str,
                 service_account: str, ca_secret: str | None = None) -> BackupArgs:  # fmt: skip
        """Raises ValueError when no bucket was given."""
        if self.bucket_uri is None:
            raise ValueError("the backup job needs the bucket's backup prefix (bucket_uri)")
        return BackupArgs(namespace=namespace, image=self.image, database_url_secret=database_url_secret,
                          database_url_key=database_url_key, bucket_uri=self.bucket_uri,
                          service_account=service_account, schedule=self.schedule, bucket_scheme=self.scheme,
                          ca_secret=ca_secret)  # fmt: skip


class BackupJob(pulumi.ComponentResource):
    """A daily pg_dump of the runtime database into the stack's bucket. Raises ValueError for bad arguments."""

    cron_job_name: pulumi.Output[str]
    schedule: pulumi.Output[str]

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        cron = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=args.namespace, labels=pods.labels(APP)),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule=args.schedule.strip(), time_zone="Etc/UTC",
                concurrency_policy="Forbid",  # a slow dump is never overlapped by the next one
                starting_deadline_seconds=3600, successful_jobs_history_limit=3, failed_jobs_history_limit=3,
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(APP)),
                    spec=k8s.batch.v1.JobSpecArgs(backoff_limit=2, active_deadline_seconds=3 * 3600,
                                                  ttl_seconds_after_finished=7 * 86400, template=self._pod()),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        self.cron_job_name = cron.metadata.apply(lambda m: m.name or APP)
        self.schedule = pulumi.Output.from_input(args.schedule.strip())
        self.register_outputs({"cron_job_name": self.cron_job_name, "schedule": self.schedule})

    def _pod(self) -> k8s.core.v1.PodTemplateSpecArgs:
        a = self._args
        url = k8s.core.v1.EnvVarSourceArgs(
            secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=a.database_url_secret, key=a.database_url_key)
        )
        backup_mount = k8s.core.v1.VolumeMountArgs(name="backup", mount_path="/backup")
        tmp_mount = k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")
        dump = k8s.core.v1.ContainerArgs(
            name="dump", image=a.image, command=["sh", "-c", DUMP_SCRIPT],
            env=[k8s.core.v1.EnvVarArgs(name="DATABASE_URL", value_from=url)],
            resources=Resources("100m", "256Mi", "1", "1Gi").args(), security_context=pods.container_security(),
            volume_mounts=[backup_mount, tmp_mount, *a.ca_mounts()],
        )  # fmt: skip
        upload = k8s.core.v1.ContainerArgs(
            name="upload", image=a.uploader(), command=UPLOAD_COMMANDS[a.scheme],
            env=[k8s.core.v1.EnvVarArgs(name="BUCKET_URI", value=a.bucket_uri), *pods.env(CLI_ENV)],
            resources=Resources("50m", "128Mi", "500m", "512Mi").args(), security_context=pods.container_security(),
            volume_mounts=[backup_mount, tmp_mount],
        )  # fmt: skip
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(APP)),
            spec=k8s.core.v1.PodSpecArgs(
                # the token is what EKS Pod Identity / GKE Workload Identity exchange for the bucket's credentials
                service_account_name=a.service_account, automount_service_account_token=True, restart_policy="Never",
                security_context=pods.pod_security(DATA_USER), init_containers=[dump], containers=[upload],
                volumes=[pods.scratch_volume("backup", size="50Gi"), pods.scratch_volume(), *a.ca_volumes()],
            ),
        )  # fmt: skip
