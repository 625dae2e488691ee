"""The cluster targets' restores: a suspended CronJob `db-restore` that is never scheduled, only the template
`helixflow restore` makes its Jobs from (as `kubectl create job --from=cronjob/db-restore` would), with the
backup's name in BACKUP_NAME.

    init container `fetch` (the cloud's CLI image): copies BACKUP_NAME and its `.sha256` from the backup prefix
    init container `restore` (the PostgreSQL image): the checksum, then every block read (pg_restore to
        /dev/null); with RESTORE_MODE=verify it stops there. Otherwise the schema `helixflow` is replaced in
        one transaction (psql --single-transaction): dropped, made again for the runtime's role, and the dump
        restored as that role, so a failure anywhere leaves the database as it was
    container `migrate` (the runtime image): the release's migrations, for a backup of an earlier release

The pod runs under its own service account, which the cloud identities let read the backup prefix (the
backup job's may only write it). The writers are stopped and started again by `helixflow restore`, not here.

`RestoreJob(name, RestoreArgs(...), opts)`; arguments are validated before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from helixflow.components.k8s import pods
from helixflow.components.k8s.backup import _DNS_LABEL, DATA_USER, BackupArgs
from helixflow.components.k8s.cloud_cli import CLI_ENV
from helixflow.components.k8s.pods import Resources
from helixflow.components.k8s.runtime import ADMIN_URL_KEY, RUNTIME_USER
from helixflow.runtime.db.roles import SCHEMA  # the only schema the backups hold

TYPE = "helixflow:k8s:RestoreJob"
APP = "db-restore"
# A Job whose template says otherwise is refused by the CLI: these are its contract with `helixflow restore`.
BACKUP_NAME_ENV, MODE_ENV = "BACKUP_NAME", "RESTORE_MODE"
FETCH, RESTORE, MIGRATE = "fetch", "restore", "migrate"

FETCH_COMMANDS = {
    # --recursive with filters: the one aws-cli form that copies two named objects in one command
    "s3": ["aws", "s3", "cp", "$(BUCKET_URI)", "/backup/", "--recursive", "--exclude", "*",
           "--include", "$(BACKUP_NAME)", "--include", "$(BACKUP_NAME).sha256", "--only-show-errors"],
    "gs": ["gcloud", "storage", "cp", "$(BUCKET_URI)$(BACKUP_NAME)", "$(BUCKET_URI)$(BACKUP_NAME).sha256", "/backup/"],
}  # fmt: skip

# The messages go to the pod's termination message (FallbackToLogsOnError), which `helixflow restore` prints.
RESTORE_SCRIPT = """set -eu
cd "${BACKUP_DIR:-/backup}"
fail() { echo "$1" >&2; exit 1; }
b="$BACKUP_NAME"
[ -f "$b" ] || fail "backup $b is not under $BUCKET_URI (helixflow backup list shows the names)"
[ -f "$b.sha256" ] || fail "backup $b has no $b.sha256 beside it"
sha256sum -c --status "$b.sha256" || fail "backup $b does not match its checksum (corrupt or truncated)"
pg_restore --list "$b" > toc 2>/dev/null || fail "backup $b is not a pg_dump archive"
pg_restore --file=/dev/null "$b" 2>/dev/null || fail "backup $b is truncated: pg_restore cannot read all of it"
grep -q ' SCHEMA - @SCHEMA@ ' toc || fail "backup $b holds no schema @SCHEMA@"
if [ "$RESTORE_MODE" = verify ]; then echo "backup $b verified"; exit 0; fi
role=$(psql "$DATABASE_URL" -XAtc 'select current_user') || fail "cannot connect as the runtime's role"
grep -v ' SCHEMA - @SCHEMA@ ' toc > toc.restore
{
  echo 'DROP SCHEMA IF EXISTS @SCHEMA@ CASCADE;'
  echo "CREATE SCHEMA @SCHEMA@ AUTHORIZATION \"$role\";"
  echo "SET ROLE \"$role\";"
} > restore.sql
pg_restore --no-owner --no-privileges --use-list=toc.restore --file=- "$b" >> restore.sql \
  || fail "pg_restore could not read backup $b"
psql "$ADMIN_URL" -X -q -v ON_ERROR_STOP=1 --single-transaction -f restore.sql > /dev/null \
  || fail "the restore failed and was rolled back: the database is as it was"
echo "backup $b restored"
""".replace("@SCHEMA@", SCHEMA)


@dataclass(frozen=True)
class RestoreArgs:
    """backup: the backup job's arguments (namespace, PostgreSQL image, bucket, the runtime's Secret); the
    restore reads from where it writes. runtime_image: what runs the migrations; service_account: the one with
    read access to the backup prefix; admin_url_secret: the Secret holding the database admin's URL under
    admin_url_key (None: the runtime's URL restores too, as for an external database given no admin)."""

    backup: BackupArgs
    runtime_image: str
    service_account: str
    admin_url_secret: str | None = None
    admin_url_key: str = ADMIN_URL_KEY

    def validate(self) -> None:
        """Raises ValueError for arguments no cluster would run (before any resource is created)."""
        self.backup.validate()
        if not _DNS_LABEL.match(self.service_account):
            raise ValueError(f"service_account {self.service_account!r} is not a Kubernetes name")
        if self.service_account == self.backup.service_account:
            raise ValueError("the restore and the backup job need different service accounts (read vs write)")
        tag = self.runtime_image.rsplit("/", 1)[-1].partition(":")[2]
        if "@sha256:" not in self.runtime_image and tag in ("", "latest"):
            raise ValueError(f"image {self.runtime_image!r} must be pinned to a tag other than latest (or a digest)")


class RestoreJob(pulumi.ComponentResource):
    """The restore template. Raises ValueError for bad arguments."""

    cron_job_name: pulumi.Output[str]

    def __init__(self, name: str, args: RestoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        self._args = args
        cron = k8s.batch.v1.CronJob(
            f"{name}-cronjob",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP, namespace=args.backup.namespace, labels=pods.labels(APP)),
            spec=k8s.batch.v1.CronJobSpecArgs(
                schedule="0 0 1 1 *", suspend=True,  # a template only: `helixflow restore` makes its Jobs
                time_zone="Etc/UTC", concurrency_policy="Forbid",
                successful_jobs_history_limit=4, failed_jobs_history_limit=4,  # two Jobs a restore: check, restore
                job_template=k8s.batch.v1.JobTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(APP)),
                    # no retry: a second restore over a half-done one is the operator's call
                    spec=k8s.batch.v1.JobSpecArgs(backoff_limit=0, active_deadline_seconds=3 * 3600,
                                                  ttl_seconds_after_finished=7 * 86400, template=self._pod()),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )  # fmt: skip
        self.cron_job_name = cron.metadata.apply(lambda m: m.name or APP)
        self.register_outputs({"cron_job_name": self.cron_job_name})

    def _env(self) -> list[k8s.core.v1.EnvVarArgs]:
        a = self._args

        def from_secret(env: str, secret: str, key: str) -> k8s.core.v1.EnvVarArgs:
            return k8s.core.v1.EnvVarArgs(name=env, value_from=k8s.core.v1.EnvVarSourceArgs(
                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=secret, key=key)))  # fmt: skip

        runtime = (a.backup.database_url_secret, a.backup.database_url_key)
        admin = (a.admin_url_secret, a.admin_url_key) if a.admin_url_secret else runtime
        return [
            k8s.core.v1.EnvVarArgs(name=BACKUP_NAME_ENV, value=""),  # set by `helixflow restore` on each Job
            k8s.core.v1.EnvVarArgs(name=MODE_ENV, value="restore"),
            k8s.core.v1.EnvVarArgs(name="BUCKET_URI", value=a.backup.bucket_uri),
            from_secret("DATABASE_URL", *runtime),
            from_secret("ADMIN_URL", *admin),
        ]

    def _mounts(self) -> list[k8s.core.v1.VolumeMountArgs]:
        mounts = [k8s.core.v1.VolumeMountArgs(name="backup", mount_path="/backup"),
                  k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")]  # fmt: skip
        return mounts + self._args.backup.ca_mounts()

    def _pod(self) -> k8s.core.v1.PodTemplateSpecArgs:
        a, b = self._args, self._args.backup
        env = self._env()
        plain = [e for e in env if e.value_from is None]  # the copy needs no database URL
        fetch = k8s.core.v1.ContainerArgs(
            name=FETCH, image=b.uploader(), command=FETCH_COMMANDS[b.scheme], env=[*plain, *pods.env(CLI_ENV)],
            resources=Resources("50m", "128Mi", "500m", "512Mi").args(), security_context=pods.container_security(),
            volume_mounts=self._mounts()[:2], termination_message_policy="FallbackToLogsOnError",
        )  # fmt: skip
        restore = k8s.core.v1.ContainerArgs(
            name=RESTORE, image=b.image, command=["sh", "-c", RESTORE_SCRIPT], env=env,
            resources=Resources("100m", "256Mi", "1", "1Gi").args(), security_context=pods.container_security(),
            volume_mounts=self._mounts(), termination_message_policy="FallbackToLogsOnError",
        )  # fmt: skip
        admin_url = next(e for e in env if e.name == "ADMIN_URL").value_from
        migrate = k8s.core.v1.ContainerArgs(
            name=MIGRATE, image=a.runtime_image, command=["python", "-m", "helixflow.runtime.db", "upgrade"],
            env=[k8s.core.v1.EnvVarArgs(name=ADMIN_URL_KEY, value_from=admin_url),
                 k8s.core.v1.EnvVarArgs(name="HOME", value="/tmp")],
            env_from=pods.env_from_secret(b.database_url_secret),
            resources=Resources("100m", "128Mi", "500m", "256Mi").args(),
            security_context=pods.container_security(user=RUNTIME_USER),
            volume_mounts=self._mounts()[1:], termination_message_policy="FallbackToLogsOnError",
        )  # fmt: skip
        volumes = [pods.scratch_volume("backup", size="50Gi"), pods.scratch_volume(), *b.ca_volumes()]
        return k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(labels=pods.labels(APP)),
            spec=k8s.core.v1.PodSpecArgs(
                # the token is what EKS Pod Identity / GKE Workload Identity exchange for the bucket's credentials
                service_account_name=a.service_account, automount_service_account_token=True, restart_policy="Never",
                security_context=pods.pod_security(DATA_USER), init_containers=[fetch, restore], containers=[migrate],
                volumes=volumes,
            ),
        )  # fmt: skip
