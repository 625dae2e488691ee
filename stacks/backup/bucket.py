"""Backups in an S3 bucket: `helixflow backup --to s3://bucket/prefix/` copies a backup (its dump and the
`.sha256` beside it) under that prefix; `restore s3://bucket/prefix/NAME.dump` fetches both back, and the
usual checks (checksum, every block readable) run on the fetched copy before anything is changed.

boto3 finds its credentials and region as the AWS CLI does (environment, ~/.aws, an instance or pod role);
AWS_ENDPOINT_URL points it at another S3-compatible server. gs:// is not offered: google-cloud-storage is not
a dependency of this release.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.archive import CHECKSUM_SUFFIX, PARTIAL_SUFFIX, checksum_file
from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.errors import HelixFlowError

_PREFIX = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<prefix>([^/]+/)*)$")
_OBJECT = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>([^/]+/)*[^/]+\.dump)$")


def is_bucket_url(reference: str) -> bool:
    return "://" in reference


def _refuse_other_schemes(url: str) -> None:
    scheme = url.split("://", 1)[0]
    if scheme == "gs":
        raise HelixFlowError(f"backups to {url} (Google Cloud Storage) are not supported in this release",
                             hint="back up into the stack's folder and copy it with `gcloud storage cp`")  # fmt: skip
    if scheme != "s3":
        raise HelixFlowError(f"{url!r} is not a bucket URL this release writes to",
                             hint="give s3://bucket/prefix/ (or no --to: the stack's backup folder)")  # fmt: skip


@dataclass(frozen=True)
class BucketPrefix:
    """Where backups go: s3://bucket/prefix/ (the prefix may be empty: s3://bucket/)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str) -> BucketPrefix:
        """Raises HelixFlowError for anything but s3://bucket/prefix/."""
        _refuse_other_schemes(url)
        match = _PREFIX.match(url)
        if not match:
            raise HelixFlowError(f"{url!r} is not a bucket prefix",
                                 hint="give s3://bucket/prefix/ (a bucket, then a prefix ending in '/')")  # fmt: skip
        return cls(match["bucket"], match["prefix"])

    def url(self, name: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{name}"


def _client() -> Any:
    import boto3

    return boto3.client("s3")


def _failed(action: str, url: str, err: Exception) -> HelixFlowError:
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "error")
        reason = f"{code}: {err.response.get('Error', {}).get('Message', '')}".rstrip(": ")
    else:
        reason = str(err)
    return HelixFlowError(f"could not {action} {url} ({reason})",
                          hint="check the bucket's name, your AWS credentials (`aws sts get-caller-identity`) "
                          "and that they may read and write that prefix")  # fmt: skip


def upload(backup: BackupInfo, destination: BucketPrefix) -> BackupInfo:
    """Copies a sealed local backup and its checksum under the prefix (checksum first: a listed dump always
    has one); returns it as a bucket backup. Raises HelixFlowError when the bucket refuses."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    archive = Path(backup.location)
    s3 = _client()
    try:
        for path in (checksum_file(archive), archive):
            s3.upload_file(str(path), destination.bucket, destination.prefix + path.name)
    except (BotoCoreError, ClientError, Boto3Error) as err:  # upload_file wraps the bucket's error in Boto3Error
        raise _failed("upload the backup to", destination.url(archive.name), err) from None
    return BackupInfo(backup.name, destination.url(backup.name), backup.size_bytes, backup.created, backup.kind,
                      backup.pruned)  # fmt: skip


def fetch(url: str, directory: Path) -> Path:
    """Downloads s3://bucket/prefix/NAME.dump and its checksum into `directory` (under a partial name until
    both are there); returns the dump's path. Raises HelixFlowError for a missing backup or checksum."""
    from botocore.exceptions import BotoCoreError, ClientError

    _refuse_other_schemes(url)
    match = _OBJECT.match(url)
    if not match:
        raise HelixFlowError(f"{url!r} is not a backup in a bucket",
                             hint="give s3://bucket/prefix/NAME.dump, as `backup --to` printed it")  # fmt: skip
    bucket, key = match["bucket"], match["key"]
    name = key.rsplit("/", 1)[-1]
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    archive = directory / name
    s3 = _client()
    try:
        for source, target in ((key + CHECKSUM_SUFFIX, checksum_file(archive)), (key, archive)):
            partial = target.with_name(target.name + PARTIAL_SUFFIX)
            s3.download_file(bucket, source, str(partial))
            partial.chmod(0o600)
            partial.rename(target)
    except (BotoCoreError, ClientError) as err:
        raise _failed("fetch", url, err) from None
    return archive


def list_backups(prefix: BucketPrefix) -> list[BackupInfo]:
    """The dumps under the prefix, newest first (by the time the bucket stored them)."""
    from botocore.exceptions import BotoCoreError, ClientError

    found = []
    try:
        pages = _client().get_paginator("list_objects_v2").paginate(Bucket=prefix.bucket, Prefix=prefix.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(prefix.prefix) :]
                if name.endswith(".dump") and "/" not in name:
                    created = item["LastModified"].astimezone(dt.UTC)
                    kind = "pre-restore" if name.endswith("-pre-restore.dump") else "manual"
                    found.append(BackupInfo(name, prefix.url(name), int(item["Size"]), created, kind))
    except (BotoCoreError, ClientError) as err:
        raise _failed("list", prefix.url(), err) from None
    return sorted(found, key=lambda b: (b.created, b.name), reverse=True)
