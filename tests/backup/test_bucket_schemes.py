"""One contract, both schemes: s3:// against moto's S3 server and gs:// against fake-gcs-server (real API
servers on 127.0.0.1). Upload puts the checksum first; the listing is newest first with sizes and times from
the bucket and the pre-restore kind; find_backup finds a dump with its checksum and refuses one without it
(or a name that is not there, with the hint to list them); fetch brings both back byte for byte under partial
names, and refuses a dump without its checksum before downloading anything; a dump changed in the bucket fails
the checksum check a restore makes first."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from helixflow.stacks.backup import bucket
from helixflow.stacks.backup.archive import BackupFolder, checksum_file
from helixflow.stacks.errors import HelixFlowError
from tests.backup.buckets import DUMP, sealed
from tests.backup.conftest import BUCKET

pytestmark = pytest.mark.services


class RawBucket:
    """The test's own hands on the bucket, past HelixFlow: write or delete one object."""

    def __init__(self, scheme: str, client: Any) -> None:
        self.scheme, self.client = scheme, client

    def put(self, key: str, data: bytes) -> None:
        if self.scheme == "s3":
            self.client.put_object(Bucket=BUCKET, Key=key, Body=data)
        else:
            self.client.blob(key).upload_from_string(data)

    def delete(self, key: str) -> None:
        if self.scheme == "s3":
            self.client.delete_object(Bucket=BUCKET, Key=key)
        else:
            self.client.blob(key).delete()

    def keys(self) -> list[str]:
        if self.scheme == "s3":
            return [item["Key"] for item in self.client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
        return [blob.name for blob in self.client.list_blobs()]


@pytest.fixture(params=["s3", "gs"])
def raw(request: pytest.FixtureRequest) -> RawBucket:
    return RawBucket(request.param, request.getfixturevalue("s3" if request.param == "s3" else "gcs"))


@pytest.fixture
def prefix(raw: RawBucket) -> bucket.BucketPrefix:
    return bucket.BucketPrefix.parse(f"{raw.scheme}://{BUCKET}/stacks/dev/")


def test_parse_keeps_the_scheme(prefix: bucket.BucketPrefix, raw: RawBucket) -> None:
    assert (prefix.scheme, prefix.bucket, prefix.prefix) == (raw.scheme, BUCKET, "stacks/dev/")
    assert prefix.url("x.dump") == f"{raw.scheme}://{BUCKET}/stacks/dev/x.dump"


def test_upload_list_find_and_fetch_round_trip_with_the_checksum_intact(
    prefix: bucket.BucketPrefix, raw: RawBucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = sealed(tmp_path)
    real_store, uploads = bucket._store, []

    def recording(scheme: bucket.Scheme) -> object:
        store = real_store(scheme)
        upload = store.upload
        store.upload = lambda path, b, key: (uploads.append(key), upload(path, b, key))
        return store

    monkeypatch.setattr(bucket, "_store", recording)
    uploaded = bucket.upload(local, prefix)
    assert uploads == [f"stacks/dev/{local.name}.sha256", f"stacks/dev/{local.name}"]  # checksum first
    assert uploaded.location == prefix.url(local.name)
    assert sorted(raw.keys()) == [f"stacks/dev/{local.name}", f"stacks/dev/{local.name}.sha256"]
    [listed] = bucket.list_backups(prefix)  # the .sha256 is not a backup
    assert (listed.name, listed.size_bytes, listed.location, listed.kind) == (local.name, local.size_bytes,
                                                                              uploaded.location, "manual")  # fmt: skip
    assert 0 <= listed.age_seconds() < 300  # when the bucket stored it, not the name's time
    found = bucket.find_backup(prefix, local.name)
    assert found == listed
    folder = BackupFolder(tmp_path / "restore-here", "dev")
    fetched = bucket.fetch(found.location, folder.directory)
    assert fetched == folder.directory / local.name
    assert fetched.read_bytes() == Path(local.location).read_bytes()
    assert checksum_file(fetched).read_text() == checksum_file(Path(local.location)).read_text()
    folder.check_checksum(fetched)  # what a restore checks first
    assert not list(folder.directory.glob("*.partial"))
    assert fetched.stat().st_mode & 0o777 == 0o600 and folder.directory.stat().st_mode & 0o777 == 0o700


def test_the_listing_is_newest_first_and_knows_pre_restore_backups(
    prefix: bucket.BucketPrefix, raw: RawBucket, tmp_path: Path
) -> None:
    first = bucket.upload(sealed(tmp_path, DUMP[:1000], dt.datetime(2026, 5, 2, tzinfo=dt.UTC)), prefix)
    time.sleep(1.1)  # S3 keeps the time in whole seconds
    second = bucket.upload(sealed(tmp_path, DUMP[:2000], dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "pre-restore"),
                           prefix)  # fmt: skip
    raw.put("stacks/dev/older/not-this-level.dump", b"x")  # deeper than the prefix: not its backup
    raw.put("stacks/dev/notes.txt", b"x")
    listed = bucket.list_backups(prefix)
    # uploaded later, so newer in the bucket, though its name's time is earlier
    assert [(b.name, b.kind, b.size_bytes) for b in listed] == [(second.name, "pre-restore", 2000),
                                                               (first.name, "manual", 1000)]  # fmt: skip
    assert listed[0].created >= listed[1].created
    assert bucket.find_backup(prefix, second.name).kind == "pre-restore"


def test_find_backup_refuses_a_missing_dump_with_the_way_to_list_them(
    prefix: bucket.BucketPrefix, tmp_path: Path
) -> None:
    bucket.upload(sealed(tmp_path), prefix)
    with pytest.raises(HelixFlowError, match=r"there is no backup nope\.dump under \w+://hf-backups/stacks/dev/") as e:
        bucket.find_backup(prefix, "nope.dump")
    assert f"helixflow backup list --from {prefix.url()}" in (e.value.hint or "")
    for not_a_name in ("sub/x.dump", "x.sha256", ""):
        with pytest.raises(HelixFlowError, match="is not the name of a backup"):
            bucket.find_backup(prefix, not_a_name)


def test_a_dump_without_its_checksum_is_refused_by_find_backup_and_fetch(
    prefix: bucket.BucketPrefix, raw: RawBucket, tmp_path: Path
) -> None:
    local = sealed(tmp_path)
    bucket.upload(local, prefix)
    raw.delete(f"stacks/dev/{local.name}.sha256")
    refusal = rf"{prefix.url(local.name)} has no checksum beside it \({local.name}\.sha256 is missing\)"
    with pytest.raises(HelixFlowError, match=refusal) as err:
        bucket.find_backup(prefix, local.name)
    assert "helixflow backup --to" in (err.value.hint or "")
    target = tmp_path / "restore-here"
    with pytest.raises(HelixFlowError, match=refusal):
        bucket.fetch(prefix.url(local.name), target)
    assert not target.exists()  # nothing fetched, not even the folder made


def test_fetching_a_dump_that_is_not_there_is_a_clear_error(prefix: bucket.BucketPrefix, tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match=rf"there is no backup nope\.dump under {prefix.url()}") as err:
        bucket.fetch(prefix.url("nope.dump"), tmp_path / "restore-here")
    assert f"helixflow backup list --from {prefix.url()}" in (err.value.hint or "")
    assert not list((tmp_path / "restore-here").glob("*"))


def test_a_dump_changed_in_the_bucket_fails_the_checksum_before_any_restore(
    prefix: bucket.BucketPrefix, raw: RawBucket, tmp_path: Path
) -> None:
    local = sealed(tmp_path)
    bucket.upload(local, prefix)
    raw.put(f"stacks/dev/{local.name}", Path(local.location).read_bytes()[:100])
    assert bucket.find_backup(prefix, local.name).size_bytes == 100  # the size is the bucket's
    folder = BackupFolder(tmp_path / "restore-here", "dev")
    fetched = bucket.fetch(prefix.url(local.name), folder.directory)
    with pytest.raises(HelixFlowError, match="does not match its checksum"):
        folder.check_checksum(fetched)


def test_backup_list_reads_the_prefix_through_the_cli(
    prefix: bucket.BucketPrefix, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import yaml

    from helixflow.cli.main import run

    local = sealed(tmp_path)
    bucket.upload(local, prefix)
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": {}}))
    assert run(["backup", "list", "-s", "dev", "--from", prefix.url(), "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)["backups"]
    assert (listed["name"], listed["size_bytes"], listed["location"]) == (local.name, local.size_bytes,
                                                                         prefix.url(local.name))  # fmt: skip
