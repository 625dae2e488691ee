"""gs:// on its own, against fake-gcs-server on 127.0.0.1 (STORAGE_EMULATOR_HOST, no Google credentials): a dump
past the size google-cloud-storage sends in one request goes up as a resumable upload and comes back whole; a
bucket that is not there is a clear error. (The contract both schemes share, `backup list --from` through the
CLI included: test_bucket_schemes.py.)"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from helixflow.stacks.backup import bucket
from helixflow.stacks.backup.archive import BackupFolder
from helixflow.stacks.errors import HelixFlowError
from tests.backup.buckets import sealed
from tests.backup.conftest import BUCKET

pytestmark = pytest.mark.services
PREFIX = f"gs://{BUCKET}/stacks/dev/"


def test_a_dump_past_one_request_goes_up_resumably_and_comes_back_whole(gcs: Any, tmp_path: Path) -> None:
    local = sealed(tmp_path, b"PGDMP" + os.urandom(9 * 1024 * 1024))  # past the library's 8 MiB multipart limit
    uploaded = bucket.upload(local, bucket.BucketPrefix.parse(PREFIX))
    assert bucket.find_backup(bucket.BucketPrefix.parse(PREFIX), local.name).size_bytes == local.size_bytes
    folder = BackupFolder(tmp_path / "restore-here", "dev")
    fetched = bucket.fetch(uploaded.location, folder.directory)
    folder.check_checksum(fetched)
    assert fetched.read_bytes() == Path(local.location).read_bytes()


def test_a_bucket_that_is_not_there_is_a_clear_error(gcs: Any, tmp_path: Path) -> None:
    elsewhere = bucket.BucketPrefix.parse("gs://no-such-bucket/backups/")
    with pytest.raises(HelixFlowError, match=r"could not upload the backup to gs://no-such-bucket/backups/\S+ \(404") \
            as err:  # fmt: skip
        bucket.upload(sealed(tmp_path), elsewhere)
    assert "gcloud auth application-default login" in (err.value.hint or "")
    with pytest.raises(HelixFlowError, match=r"could not list gs://no-such-bucket/backups/ \(404"):
        bucket.list_backups(elsewhere)
