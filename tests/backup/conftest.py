"""The e2e tier's throwaway local stack, for the backup tests that bring one up; and a bucket in a real S3 or
Cloud Storage API server on 127.0.0.1 (tests/backup/buckets.py), emptied after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.backup.buckets import fake_gcs, moto_s3
from tests.e2e.conftest import local_stack  # noqa: F401 (a fixture, found by name)

BUCKET = "hf-backups"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 client on the moto server, with the bucket hf-backups (boto3 reads the same environment)."""
    import boto3

    for key, value in {"AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture(scope="module")
def gcs_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fake_gcs(tmp_path_factory.mktemp("fake-gcs")) as endpoint:
        yield endpoint


@pytest.fixture
def gcs(gcs_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The google-cloud-storage bucket hf-backups on fake-gcs-server (STORAGE_EMULATOR_HOST points the code
    under test there too; no Google credentials are looked for)."""
    from google.auth.credentials import AnonymousCredentials

    from helixflow.stacks.backup.bucket_gcs import _storage

    storage = _storage()  # imported without google.api_core's notice about Python 3.11
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    client = storage.Client(project="test", credentials=AnonymousCredentials())
    bucket = client.create_bucket(BUCKET)
    yield bucket
    for blob in client.list_blobs(BUCKET):
        blob.delete()
    bucket.delete()
