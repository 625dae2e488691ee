"""Backups in a bucket, S3 (s3://) or Google Cloud Storage (gs://): `helixflow backup --to
s3://bucket/prefix/` (or gs://bucket/prefix/) copies a backup (its dump and the `.sha256` beside it, the
checksum first) under that prefix; `backup list --from PREFIX` lists the dumps there, newest first;
`restore s3://bucket/prefix/NAME.dump` fetches both back, and the usual checks (checksum, every block
readable) run on the fetched copy before anything is changed.

Each scheme has its store (bucket_s3.S3Store, bucket_gcs.GcsStore; the interface: bucket_store.BucketStore),
which says where its credentials come from: boto3 finds them as the AWS CLI does (AWS_ENDPOINT_URL points it
at another S3-compatible server); google-cloud-storage uses Application Default Credentials
(STORAGE_EMULATOR_HOST points it at an emulator, with no credentials).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from helixflow.stacks.backup.archive import CHECKSUM_SUFFIX, PARTIAL_SUFFIX, checksum_file
from helixflow.stacks.backup.bucket_store import BucketStore, StoredObject
from helixflow.stacks.backup.model import BackupInfo
from helixflow.stacks.errors import HelixFlowError

Scheme = Literal["s3", "gs"]
SCHEMES: tuple[Scheme, ...] = get_args(Scheme)
# bucket names as each cloud allows them (GCS also takes '_', and up to 222 characters when dotted)
_BUCKET = {"s3": r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", "gs": r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]"}
_PREFIX = {s: re.compile(rf"^{s}://(?P<bucket>{b})/(?P<prefix>([^/]+/)*)$") for s, b in _BUCKET.items()}
_OBJECT = {s: re.compile(rf"^{s}://(?P<bucket>{b})/(?P<key>([^/]+/)*[^/]+\.dump)$") for s, b in _BUCKET.items()}
_EXAMPLES = " or ".join(f"{s}://bucket/prefix/" for s in SCHEMES)


def is_bucket_url(reference: str) -> bool:
    return "://" in reference


def _scheme(url: str) -> Scheme:
    scheme = url.split("://", 1)[0]
    for known in SCHEMES:
        if scheme == known:
            return known
    raise HelixFlowError(f"{url!r} is not a bucket URL this release writes to",
                         hint=f"give {_EXAMPLES} (or no --to: the stack's backup folder)")  # fmt: skip


def _store(scheme: Scheme) -> BucketStore:
    if scheme == "gs":
        from helixflow.stacks.backup.bucket_gcs import GcsStore

        return GcsStore()
    from helixflow.stacks.backup.bucket_s3 import S3Store

    return S3Store()


@dataclass(frozen=True)
class BucketPrefix:
    """Where backups go: s3://bucket/prefix/ or gs://bucket/prefix/ (the prefix may be empty: s3://bucket/)."""

    bucket: str
    prefix: str
    scheme: Scheme = "s3"

    @classmethod
    def parse(cls, url: str) -> BucketPrefix:
        """Raises HelixFlowError for anything but s3://bucket/prefix/ or gs://bucket/prefix/."""
        scheme = _scheme(url)
        match = _PREFIX[scheme].match(url)
        if not match:
            hint = f"give {scheme}://bucket/prefix/ (a bucket, then a prefix ending in '/')"
            raise HelixFlowError(f"{url!r} is not a bucket prefix", hint=hint)
        return cls(match["bucket"], match["prefix"], scheme)

    def url(self, name: str = "") -> str:
        return f"{self.scheme}://{self.bucket}/{self.prefix}{name}"


def _split_object(url: str) -> tuple[BucketPrefix, str]:
    """s3://bucket/prefix/NAME.dump (or gs://...) as its prefix and NAME.dump; raises HelixFlowError."""
    scheme = _scheme(url)
    match = _OBJECT[scheme].match(url)
    if not match:
        raise HelixFlowError(f"{url!r} is not a backup in a bucket",
                             hint=f"give {scheme}://bucket/prefix/NAME.dump, as `backup --to` printed it")  # fmt: skip
    prefix, _, name = match["key"].rpartition("/")
    return BucketPrefix(match["bucket"], prefix + "/" if prefix else "", scheme), name


def _info(prefix: BucketPrefix, name: str, stored: StoredObject) -> BackupInfo:
    kind = "pre-restore" if name.endswith("-pre-restore.dump") else "manual"
    return BackupInfo(name, prefix.url(name), stored.size, stored.stored, kind)


def _no_checksum(prefix: BucketPrefix, name: str) -> HelixFlowError:
    return HelixFlowError(f"{prefix.url(name)} has no checksum beside it ({name}{CHECKSUM_SUFFIX} is missing), so "
                          "it cannot be checked before a restore",
                          hint="upload backups with `helixflow backup --to PREFIX` (it writes the checksum first), "
                          f"or put the dump's {CHECKSUM_SUFFIX} back beside it")  # fmt: skip


def upload(backup: BackupInfo, destination: BucketPrefix) -> BackupInfo:
    """Copies a sealed local backup and its checksum under the prefix (checksum first: a listed dump always
    has one); returns it as a bucket backup. Raises HelixFlowError when the bucket refuses."""
    archive = Path(backup.location)
    store = _store(destination.scheme)
    with store.guard("upload the backup to", destination.url(archive.name)):
        for path in (checksum_file(archive), archive):
            store.upload(path, destination.bucket, destination.prefix + path.name)
    return BackupInfo(backup.name, destination.url(backup.name), backup.size_bytes, backup.created, backup.kind,
                      backup.pruned)  # fmt: skip


def fetch(url: str, directory: Path) -> Path:
    """Downloads s3://bucket/prefix/NAME.dump (or gs://...) and its checksum into `directory` (under a partial
    name until both are there); returns the dump's path. Raises HelixFlowError for a bad URL, a missing backup
    or checksum, or the bucket's refusal."""
    prefix, name = _split_object(url)
    find_backup(prefix, name)  # a missing dump or checksum is refused by name, before anything is downloaded
    key = prefix.prefix + name
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    archive = directory / name
    store = _store(prefix.scheme)
    with store.guard("fetch", url):
        for source, target in ((key + CHECKSUM_SUFFIX, checksum_file(archive)), (key, archive)):
            partial = target.with_name(target.name + PARTIAL_SUFFIX)
            store.download(prefix.bucket, source, partial)
            partial.chmod(0o600)
            partial.rename(target)
    return archive


def find_backup(prefix: BucketPrefix, name: str) -> BackupInfo:
    """The dump NAME directly under the prefix (its size, and when the bucket stored it), checked to have its
    checksum beside it: what a restore looks up before changing anything. Raises HelixFlowError for a name
    that is not a dump's, a missing dump or checksum, or the bucket's refusal."""
    if "/" in name or not name.endswith(".dump"):
        raise HelixFlowError(f"{name!r} is not the name of a backup under {prefix.url()}",
                             hint="give a NAME.dump from `helixflow backup list --from PREFIX`")  # fmt: skip
    store = _store(prefix.scheme)
    with store.guard("look up", prefix.url(name)):
        dump = store.stat(prefix.bucket, prefix.prefix + name)
        if dump is None:
            raise HelixFlowError(f"there is no backup {name} under {prefix.url()}",
                                 hint=f"`helixflow backup list --from {prefix.url()}` shows the names")  # fmt: skip
        if store.stat(prefix.bucket, prefix.prefix + name + CHECKSUM_SUFFIX) is None:
            raise _no_checksum(prefix, name)
    return _info(prefix, name, dump)


def list_backups(prefix: BucketPrefix) -> list[BackupInfo]:
    """The dumps under the prefix, newest first (by the time the bucket stored them). Raises HelixFlowError
    when the bucket refuses."""
    store = _store(prefix.scheme)
    found = []
    with store.guard("list", prefix.url()):
        for item in store.list(prefix.bucket, prefix.prefix):
            name = item.key[len(prefix.prefix) :]
            if name.endswith(".dump") and "/" not in name:
                found.append(_info(prefix, name, item))
    return sorted(found, key=lambda b: (b.created, b.name), reverse=True)
