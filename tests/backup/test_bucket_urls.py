"""Bucket URLs and the errors that come before any bucket answers, with no server but an in-test one: both
schemes parse (the prefix carries its scheme), anything else is refused with a hint that names both; missing
Google or AWS credentials, and a Cloud Storage server that refuses them (an in-process double of the JSON API
answering 403), are HelixFlowErrors with the hint to fix them, never a traceback."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helixflow.stacks.backup import bucket
from helixflow.stacks.errors import HelixFlowError
from tests.backup.buckets import sealed

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "parts"),
    [("s3://hf-backups/stacks/dev/", ("s3", "hf-backups", "stacks/dev/")),
     ("s3://hf.backups/", ("s3", "hf.backups", "")),
     ("gs://hf-backups/stacks/dev/", ("gs", "hf-backups", "stacks/dev/")),
     ("gs://hf_backups/x/", ("gs", "hf_backups", "x/"))],
)  # fmt: skip
def test_both_schemes_parse_and_the_prefix_carries_its_scheme(url: str, parts: tuple[str, str, str]) -> None:
    prefix = bucket.BucketPrefix.parse(url)
    assert (prefix.scheme, prefix.bucket, prefix.prefix) == parts
    assert prefix.url() == url and prefix.url("a.dump") == url + "a.dump"
    assert bucket.is_bucket_url(url) and not bucket.is_bucket_url("dev-20260501T031700Z.dump")


@pytest.mark.parametrize(
    ("url", "says", "hint"),
    [("gs://hf-backups/backups", "is not a bucket prefix", "give gs://bucket/prefix/ (a bucket, then a prefix"),
     ("s3://hf-backups", "is not a bucket prefix", "give s3://bucket/prefix/"),
     ("s3://hf_backups/x/", "is not a bucket prefix", "give s3://bucket/prefix/"),  # S3 names take no '_'
     ("gs://HF/x/", "is not a bucket prefix", "give gs://bucket/prefix/"),
     ("az://hf-backups/x/", "is not a bucket URL this release writes to", "give s3://bucket/prefix/ or gs://bucket/prefix/"),
     ("https://storage.googleapis.com/hf-backups/", "is not a bucket URL", "or gs://bucket/prefix/")],
)  # fmt: skip
def test_a_bad_prefix_is_refused_with_the_hint(url: str, says: str, hint: str) -> None:
    with pytest.raises(HelixFlowError, match=says) as err:
        bucket.BucketPrefix.parse(url)
    assert hint in (err.value.hint or "")


@pytest.mark.parametrize(
    ("url", "says", "hint"),
    [("gs://hf-backups/stacks/dev/", "is not a backup in a bucket", "give gs://bucket/prefix/NAME.dump"),
     ("s3://hf-backups/dev.sha256", "is not a backup in a bucket", "give s3://bucket/prefix/NAME.dump"),
     ("ftp://hf-backups/dev.dump", "is not a bucket URL", "give s3://bucket/prefix/ or gs://bucket/prefix/")],
)  # fmt: skip
def test_fetch_refuses_a_url_that_is_not_a_dump_before_any_request(
    url: str, says: str, hint: str, tmp_path: Path
) -> None:
    with pytest.raises(HelixFlowError, match=says) as err:
        bucket.fetch(url, tmp_path / "here")
    assert hint in (err.value.hint or "") and not (tmp_path / "here").exists()


def _calls(tmp_path: Path) -> dict[str, Callable[[bucket.BucketPrefix], object]]:
    return {
        "upload the backup to": lambda p: bucket.upload(sealed(tmp_path), p),
        "fetch": lambda p: bucket.fetch(p.url("dev-20260501T031700Z.dump"), tmp_path / "here"),
        "list": bucket.list_backups,
        "look up": lambda p: bucket.find_backup(p, "dev-20260501T031700Z.dump"),
    }


def _says(action: str) -> str:
    """What the error says was being done: a fetch looks its backup up before it downloads anything."""
    return "look up" if action == "fetch" else action


@pytest.mark.parametrize("action", ["upload the backup to", "fetch", "list", "look up"])
def test_no_google_credentials_is_a_clear_error_with_the_way_to_get_them(
    action: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))  # ADC looks here first
    with pytest.raises(HelixFlowError, match=rf"could not {_says(action)} gs://hf-backups/stacks/dev/.*\(no Google "
                       r"credentials: File .*no-such-key\.json was not found\)") as err:  # fmt: skip
        _calls(tmp_path)[action](bucket.BucketPrefix.parse("gs://hf-backups/stacks/dev/"))
    assert "gcloud auth application-default login" in (err.value.hint or "")
    assert "may read and write that prefix" in (err.value.hint or "")


def test_no_aws_credentials_is_a_clear_error_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials an earlier test's client found
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                       "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}.items():  # fmt: skip (nothing leaves the machine)
        monkeypatch.setenv(key, value)
    with pytest.raises(HelixFlowError, match=r"could not list s3://hf-backups/ \(Unable to locate credentials") as err:
        bucket.list_backups(bucket.BucketPrefix.parse("s3://hf-backups/"))
    assert "aws sts get-caller-identity" in (err.value.hint or "")


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Cloud Storage's JSON API refusing the caller, as it does for credentials without the permission."""

    def _refuse(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        detail = {"message": "anonymous@example.com does not have storage.objects access", "reason": "forbidden"}
        body = json.dumps({"error": {"code": 403, "message": "denied", "errors": [detail]}})
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = do_PUT = do_DELETE = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_gcs(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{server.server_address[1]}")
    yield "gs://hf-backups/stacks/dev/"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("action", ["upload the backup to", "fetch", "list", "look up"])
def test_a_refusal_from_cloud_storage_is_a_clear_error(action: str, refusing_gcs: str, tmp_path: Path) -> None:
    with pytest.raises(HelixFlowError, match=rf"could not {_says(action)} {refusing_gcs}.*\(403: "
                       r"anonymous@example\.com does not have storage.objects access\)") as err:  # fmt: skip
        _calls(tmp_path)[action](bucket.BucketPrefix.parse(refusing_gcs))
    assert "credentials" in (err.value.hint or "")
