"""Backups in an S3 bucket, against a real S3 API server on 127.0.0.1 (moto's server mode): a sealed backup is
uploaded with its checksum, listed with its size, fetched back byte for byte, and a dump that changed in the
bucket is refused by the checksum check before any restore could use it. The bucket's errors are clear
HelixFlowErrors. The same for both schemes, s3:// and gs:// (find_backup too): test_bucket_schemes.py. (Not
covered here: a local stack's real pg_dump going through it.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from helixflow.stacks.backup import bucket
from helixflow.stacks.backup.archive import BackupFolder, checksum_file
from helixflow.stacks.errors import HelixFlowError
from tests.backup.buckets import sealed
from tests.backup.conftest import BUCKET

pytestmark = pytest.mark.services
PREFIX = f"s3://{BUCKET}/stacks/dev/"


def test_a_backup_goes_up_with_its_checksum_is_listed_and_comes_back_byte_for_byte(
    s3: object, tmp_path: Path
) -> None:
    local = sealed(tmp_path)
    uploaded = bucket.upload(local, bucket.BucketPrefix.parse(PREFIX))
    assert uploaded.location == PREFIX + local.name
    [listed] = bucket.list_backups(bucket.BucketPrefix.parse(PREFIX))  # the .sha256 is not a backup
    assert (listed.name, listed.size_bytes, listed.location) == (local.name, local.size_bytes, uploaded.location)
    assert listed.age_seconds() < 300  # when the bucket stored it
    elsewhere = BackupFolder(tmp_path / "restore-here", "dev")
    fetched = bucket.fetch(uploaded.location, elsewhere.directory)
    assert fetched.read_bytes() == Path(local.location).read_bytes()
    assert checksum_file(fetched).read_text() == checksum_file(Path(local.location)).read_text()
    elsewhere.check_checksum(fetched)  # what a restore checks first
    assert not list(elsewhere.directory.glob("*.partial"))


def test_a_dump_changed_in_the_bucket_fails_the_checksum_before_any_restore(s3: object, tmp_path: Path) -> None:
    local = sealed(tmp_path)
    uploaded = bucket.upload(local, bucket.BucketPrefix.parse(PREFIX))
    key = uploaded.location.removeprefix(f"s3://{BUCKET}/")
    s3.put_object(Bucket=BUCKET, Key=key, Body=Path(local.location).read_bytes()[:100])  # type: ignore[attr-defined]
    folder = BackupFolder(tmp_path / "restore-here", "dev")
    fetched = bucket.fetch(uploaded.location, folder.directory)
    with pytest.raises(HelixFlowError, match="does not match its checksum"):
        folder.check_checksum(fetched)


def test_the_buckets_refusals_are_clear_errors(s3: object, tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match="NoSuchBucket") as err:
        bucket.upload(sealed(tmp_path), bucket.BucketPrefix.parse("s3://no-such-bucket/backups/"))
    assert "credentials" in (err.value.hint or "")
    with pytest.raises(HelixFlowError, match="is not a backup in a bucket"):
        bucket.fetch(PREFIX, tmp_path)
