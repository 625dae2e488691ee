"""The local backup folder: one `<stack>-<UTC time>[-kind].dump` per backup, a `.sha256` beside each
(`sha256sum -c` reads it), retention by the time in the name.

A dump is written under a `.partial` name and renamed only once complete and checksummed, so the
folder never lists a half-written backup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from pathlib import Path

from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.errors import HelixFlowError

SUFFIX = ".dump"
CHECKSUM_SUFFIX = ".sha256"
PARTIAL_SUFFIX = ".partial"
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^(?P<stack>.+)-(?P<time>\d{8}T\d{6}Z)(?:-(?P<n>\d+))?(?:-(?P<kind>pre-restore))?\.dump$")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_file(archive: Path) -> Path:
    return archive.with_name(archive.name + CHECKSUM_SUFFIX)


class BackupFolder:
    """A stack's backups in one directory. Raises HelixFlowError for a backup it cannot find or trust."""

    def __init__(self, directory: Path, stack: str) -> None:
        self.directory, self.stack = directory, stack

    # --- writing ---------------------------------------------------------------------------
    def new_partial(self, now: dt.datetime, kind: str = "manual") -> tuple[Path, Path]:
        """(where to write the dump, its final path): a name no backup has yet."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o700)  # dumps hold password hashes and every tenant's usage
        stamp = now.astimezone(dt.UTC).strftime(TIME_FORMAT)
        tail = "-pre-restore" if kind == "pre-restore" else ""
        final = self.directory / f"{self.stack}-{stamp}{tail}{SUFFIX}"
        count = 1
        while final.exists():
            count += 1
            final = self.directory / f"{self.stack}-{stamp}-{count}{tail}{SUFFIX}"
        return final.with_name(final.name + PARTIAL_SUFFIX), final

    def seal(self, partial: Path, final: Path) -> BackupInfo:
        """Makes a complete dump a backup: private, flushed to disk, checksummed, then renamed into place."""
        partial.chmod(0o600)
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        checksum_file(final).write_text(f"{sha256_of(partial)}  {final.name}\n")
        partial.rename(final)
        info = self.describe(final)
        assert info is not None
        return info

    # --- reading ---------------------------------------------------------------------------
    def describe(self, path: Path) -> BackupInfo | None:
        match = _NAME.match(path.name)
        if not match or not path.is_file():
            return None
        created = dt.datetime.strptime(match["time"], TIME_FORMAT).replace(tzinfo=dt.UTC)
        return BackupInfo(name=path.name, location=str(path), size_bytes=path.stat().st_size, created=created,
                          kind=match["kind"] or "manual")  # fmt: skip

    def list(self) -> list[BackupInfo]:
        """Newest first."""
        if not self.directory.is_dir():
            return []
        found = [self.describe(p) for p in self.directory.glob(f"*{SUFFIX}")]
        return sorted((b for b in found if b is not None), key=lambda b: (b.created, b.name), reverse=True)

    def resolve(self, reference: str) -> Path:
        """A backup named as `backup list` shows it, or the path of a dump file."""
        candidate = Path(reference).expanduser()
        if "/" not in reference:
            candidate = self.directory / reference
        if candidate.is_file():
            return candidate.resolve()
        names = [b.name for b in self.list()[:5]]
        raise HelixFlowError(
            f"no backup {reference!r} for stack '{self.stack}'",
            hint=f"one of: {', '.join(names)} (`helixflow backup list`)"
            if names
            else "take one with `helixflow backup`",
        )

    def check_checksum(self, archive: Path) -> None:
        """Our own backups must match the checksum written with them; a dump from elsewhere is checked
        when it brings one."""
        sidecar = checksum_file(archive)
        ours = archive.parent == self.directory.resolve()
        if not sidecar.exists():
            if ours:
                raise HelixFlowError(
                    f"{archive.name} has no checksum file ({sidecar.name})",
                    hint="it cannot be trusted; choose another backup. Nothing was changed",
                )
            return
        expected = sidecar.read_text().split()[:1]
        if expected != [sha256_of(archive)]:
            raise HelixFlowError(
                f"{archive.name} does not match its checksum: it is truncated or corrupt",
                hint="choose another backup (`helixflow backup list`); nothing was changed",
            )

    # --- retention -------------------------------------------------------------------------
    def prune(self, retention_days: int, now: dt.datetime, keep: str) -> tuple[str, ...]:
        """Deletes backups older than retention_days (never `keep`, the one just taken); their names."""
        cutoff = now - dt.timedelta(days=retention_days)
        pruned = []
        for backup in self.list():
            if backup.created < cutoff and backup.name != keep:
                path = Path(backup.location)
                path.unlink(missing_ok=True)
                checksum_file(path).unlink(missing_ok=True)
                pruned.append(backup.name)
        for stale in self.directory.glob(f"*{PARTIAL_SUFFIX}"):  # a dump an interrupted backup left
            if dt.datetime.fromtimestamp(stale.stat().st_mtime, dt.UTC) < now - dt.timedelta(hours=1):
                stale.unlink(missing_ok=True)
        return tuple(sorted(pruned))
