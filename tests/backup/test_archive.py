"""The backup folder without a database: names, checksums, retention, and how a bad reference is refused."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helixflow.stacks.backup.archive import BackupFolder, checksum_file
from helixflow.stacks.backup.model import human_age, human_size
from helixflow.stacks.errors import HelixFlowError

pytestmark = pytest.mark.unit
NOW = dt.datetime(2026, 12, 1, 12, 0, 0, tzinfo=dt.UTC)


def write_backup(folder: BackupFolder, when: dt.datetime, body: bytes = b"PGDMP data", kind: str = "manual") -> Path:
    partial, final = folder.new_partial(when, kind)
    partial.write_bytes(body)
    return Path(folder.seal(partial, final).location)


def test_a_sealed_backup_is_private_checksummed_and_listed_newest_first(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path / "backups", "prod")
    older = write_backup(folder, NOW - dt.timedelta(hours=2))
    newer = write_backup(folder, NOW, kind="pre-restore")
    assert newer.name == "prod-20261201T120000Z-pre-restore.dump"
    assert oct(newer.stat().st_mode & 0o777) == "0o600" and oct(folder.directory.stat().st_mode & 0o777) == "0o700"
    assert checksum_file(newer).read_text().endswith(f"  {newer.name}\n")  # `sha256sum -c` reads it
    listed = folder.list()
    assert [b.name for b in listed] == [newer.name, older.name]
    assert listed[0].kind == "pre-restore" and listed[1].kind == "manual"
    assert listed[1].size_bytes == len(b"PGDMP data") and listed[1].created == NOW - dt.timedelta(hours=2)
    assert not list(folder.directory.glob("*.partial"))


def test_two_backups_in_one_second_get_distinct_names(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path, "s")
    first, second = write_backup(folder, NOW), write_backup(folder, NOW)
    assert first != second and len(folder.list()) == 2


def test_retention_prunes_old_backups_and_their_checksums_but_never_the_new_one(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path, "s")
    old = write_backup(folder, NOW - dt.timedelta(days=31))
    kept = write_backup(folder, NOW - dt.timedelta(days=29))
    new = write_backup(folder, NOW)
    assert folder.prune(30, NOW, keep=new.name) == (old.name,)
    assert not old.exists() and not checksum_file(old).exists()
    assert kept.exists() and new.exists()
    assert folder.prune(1, NOW, keep=new.name) == (kept.name,)
    assert [b.name for b in folder.list()] == [new.name]


def test_a_changed_byte_or_a_truncation_fails_the_checksum(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path, "s")
    archive = write_backup(folder, NOW, body=b"PGDMP" + bytes(range(256)) * 10)
    folder.check_checksum(archive.resolve())  # intact
    archive.write_bytes(archive.read_bytes()[:-100])
    with pytest.raises(HelixFlowError, match="does not match its checksum") as err:
        folder.check_checksum(archive.resolve())
    assert err.value.hint and "nothing was changed" in err.value.hint


def test_our_backup_without_its_checksum_is_not_trusted_but_a_foreign_dump_may_have_none(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path / "backups", "s")
    archive = write_backup(folder, NOW)
    checksum_file(archive).unlink()
    with pytest.raises(HelixFlowError, match="no checksum file"):
        folder.check_checksum(archive.resolve())
    foreign = tmp_path / "elsewhere.dump"
    foreign.write_bytes(b"PGDMP")
    folder.check_checksum(foreign.resolve())  # pg_restore's full read still checks it


def test_an_unknown_backup_names_the_ones_there_are(tmp_path: Path) -> None:
    folder = BackupFolder(tmp_path, "s")
    with pytest.raises(HelixFlowError, match=r"no backup 'nope\.dump'") as err:
        folder.resolve("nope.dump")
    assert err.value.hint == "take one with `helixflow backup`"
    archive = write_backup(folder, NOW)
    with pytest.raises(HelixFlowError) as err:
        folder.resolve("nope.dump")
    assert err.value.hint and archive.name in err.value.hint
    assert folder.resolve(archive.name) == archive.resolve()
    assert folder.resolve(str(archive)) == archive.resolve()


def test_sizes_and_ages_read_as_people_write_them() -> None:
    assert (human_size(512), human_size(2048), human_size(5 * 1024**3)) == ("512 B", "2.0 KiB", "5.0 GiB")
    assert (human_age(30), human_age(90), human_age(7200), human_age(3 * 86400)) == ("30s", "1.5m", "2.0h", "3.0d")
