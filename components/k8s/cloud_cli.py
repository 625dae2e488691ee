"""The clouds' own CLIs, pinned, for what pods copy to and from the stack's bucket (model files in, backups
out), by the bucket URI's scheme. Credentials come from the pod's service account (EKS Pod Identity, GKE
Workload Identity): the CLIs find them by themselves; no key is mounted.

Both run as any user with a read-only root file system when HOME (and gcloud's config) are under /tmp.
"""

from __future__ import annotations

CLI_IMAGES = {
    "s3": "amazon/aws-cli:2.31.9",
    "gs": "gcr.io/google.com/cloudsdktool/google-cloud-cli:542.0.0-slim",
}
CLI_ENV = {"HOME": "/tmp", "CLOUDSDK_CONFIG": "/tmp/gcloud"}


def scheme_of(uri: str) -> str:
    """`s3` or `gs`; raises ValueError for any other URI."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in CLI_IMAGES:
        raise ValueError(f"{uri!r} is not an s3:// or gs:// URI")
    return scheme


def sync_down(uri: str, directory: str) -> list[str]:
    """The argv that copies every object under `uri` into `directory`, skipping files already there unchanged
    (a restarted pod on the same cache volume downloads nothing again)."""
    prefix = uri.rstrip("/") + "/"
    if scheme_of(uri) == "s3":
        return ["aws", "s3", "sync", prefix, directory, "--only-show-errors", "--no-progress"]
    return ["gcloud", "storage", "rsync", "--recursive", prefix, directory]
