"""s3:// through boto3. It finds its credentials and region as the AWS CLI does (environment, ~/.aws, an
instance or pod role); AWS_ENDPOINT_URL points it at another S3-compatible server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.bucket_store import StoredObject
from helixflow.stacks.errors import HelixFlowError

HINT = ("check the bucket's name, your AWS credentials (`aws sts get-caller-identity`) and that they may read and "
        "write that prefix")  # fmt: skip


class S3Store:
    """The BucketStore for s3:// (see bucket_store.BucketStore)."""

    def __init__(self) -> None:
        self._s3: Any = None

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3")
        return self._s3

    @contextmanager
    def guard(self, action: str, url: str) -> Iterator[None]:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "error")
            reason = f"{code}: {err.response.get('Error', {}).get('Message', '')}".rstrip(": ")
            raise HelixFlowError(f"could not {action} {url} ({reason})", hint=HINT) from None
        except (BotoCoreError, Boto3Error) as err:  # upload_file wraps the bucket's error in Boto3Error
            raise HelixFlowError(f"could not {action} {url} ({err})", hint=HINT) from None

    def upload(self, path: Path, bucket: str, key: str) -> None:
        self._client().upload_file(str(path), bucket, key)

    def download(self, bucket: str, key: str, path: Path) -> None:
        self._client().download_file(bucket, key, str(path))

    def stat(self, bucket: str, key: str) -> StoredObject | None:
        from botocore.exceptions import ClientError

        try:
            head = self._client().head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise
        return StoredObject(key, int(head["ContentLength"]), _utc(head["LastModified"]))

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        for page in self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield StoredObject(str(item["Key"]), int(item["Size"]), _utc(item["LastModified"]))


def _utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC)
