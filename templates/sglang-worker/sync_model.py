"""Sync a model from s3://bucket/prefix or gs://bucket/prefix into a local directory.

Idempotent: a file already present with the same size is skipped, so a pod that
restarts on the same cache volume starts without downloading again. Credentials
come from the pod's identity (IRSA / Workload Identity).

    python3 sync_model.py s3://bucket/models/qwen /models/qwen
"""

import sys
from pathlib import Path


def _objects(uri):
    scheme, _, rest = uri.partition("://")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix else ""
    if scheme == "s3":
        import boto3

        s3 = boto3.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                yield key[len(prefix) :], obj["Size"], lambda dest, key=key: s3.download_file(bucket, key, dest)
    elif scheme == "gs":
        from google.cloud import storage

        for blob in storage.Client().list_blobs(bucket, prefix=prefix):
            yield blob.name[len(prefix) :], blob.size, blob.download_to_filename
    else:
        raise SystemExit(f"sync_model: unsupported URI {uri!r} (s3:// or gs://)")


def main(uri, target):
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    fetched = skipped = 0
    for name, size, download in _objects(uri):
        if not name or name.endswith("/"):
            continue
        dest = root / name
        if dest.is_file() and dest.stat().st_size == size:
            skipped += 1
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(dest.name + ".partial")
        download(str(partial))
        partial.replace(dest)
        fetched += 1
    if fetched + skipped == 0:
        raise SystemExit(f"sync_model: nothing found under {uri}")
    print(f"sync_model: {fetched} files fetched, {skipped} already present in {root}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: sync_model.py s3://bucket/prefix|gs://bucket/prefix TARGET_DIR")
    main(sys.argv[1], sys.argv[2])
