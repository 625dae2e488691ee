"""What `bucket` needs of an object store, one implementation per URL scheme (`bucket_s3.S3Store` for s3://,
`bucket_gcs.GcsStore` for gs://): put a file, get one, look one up, list a prefix. Each turns its library's
errors into HelixFlowError inside `guard`, with a hint about that cloud's credentials."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    """One object in a bucket, as the bucket reports it."""

    key: str
    size: int
    stored: dt.datetime  # when the bucket stored it (UTC)


class BucketStore(Protocol):
    """The object store behind one URL scheme. The methods raise the library's own errors; `guard` turns them
    into HelixFlowError (its client is made on first use, so inside the guard too)."""

    def guard(self, action: str, url: str) -> AbstractContextManager[None]:
        """Raises HelixFlowError "could not ACTION URL (reason)" for the store's errors inside the block."""
        ...

    def upload(self, path: Path, bucket: str, key: str) -> None: ...

    def download(self, bucket: str, key: str, path: Path) -> None: ...

    def stat(self, bucket: str, key: str) -> StoredObject | None:
        """The object, or None when the bucket has none by that key."""
        ...

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix` (at any depth)."""
        ...
