"""gs:// through google-cloud-storage. It finds its credentials as Google's client libraries do (Application
Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, the metadata
server of a GCE VM or a GKE pod). STORAGE_EMULATOR_HOST (honoured by the library itself) points it at another
server, e.g. fake-gcs-server; then it sends no credentials and needs no ADC."""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from pathlib import Path
from typing import Any

from helixflow.stacks.backup.bucket_store import StoredObject
from helixflow.stacks.errors import HelixFlowError

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
HINT = ("check the bucket's name, your Google credentials (`gcloud auth application-default login`, or "
        "GOOGLE_APPLICATION_CREDENTIALS naming a key file) and that they may read and write that prefix")  # fmt: skip


def _storage() -> Any:
    with warnings.catch_warnings():  # google.api_core's notice about Python 3.11's end of life, on import
        warnings.filterwarnings("ignore", "You are using a Python version", FutureWarning)
        import google.cloud.storage as storage
    return storage


class GcsStore:
    """The BucketStore for gs:// (see bucket_store.BucketStore)."""

    def __init__(self) -> None:
        self._gcs: Any = None

    def _client(self) -> Any:
        """Raises google.auth's DefaultCredentialsError where no credentials can be found (inside `guard`)."""
        if self._gcs is None:
            storage = _storage()
            if os.environ.get(EMULATOR_ENV):
                from google.auth.credentials import AnonymousCredentials

                project = os.environ.get("GOOGLE_CLOUD_PROJECT") or "helixflow"
                self._gcs = storage.Client(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
            else:  # objects need no project: None skips looking one up (ADC still gives the credentials)
                self._gcs = storage.Client(project=None)
        return self._gcs

    @contextmanager
    def guard(self, action: str, url: str) -> Iterator[None]:
        _storage()  # the first import of google.api_core, quietly
        from google.api_core.exceptions import GoogleAPIError
        from google.auth.exceptions import GoogleAuthError
        from google.resumable_media import DataCorruption, InvalidResponse
        from requests.exceptions import RequestException

        try:
            yield
        except (GoogleAPIError, GoogleAuthError, DataCorruption, InvalidResponse, RequestException) as err:
            raise HelixFlowError(f"could not {action} {url} ({_reason(err)})", hint=HINT) from None

    def upload(self, path: Path, bucket: str, key: str) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        # retried like a download: uploading the same file again leaves the same object
        self._client().bucket(bucket).blob(key).upload_from_filename(str(path), retry=DEFAULT_RETRY)

    def download(self, bucket: str, key: str, path: Path) -> None:
        self._client().bucket(bucket).blob(key).download_to_filename(str(path))  # checks its CRC32C

    def stat(self, bucket: str, key: str) -> StoredObject | None:
        blob = self._client().bucket(bucket).get_blob(key)
        return None if blob is None else _stored(blob)

    def list(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        for blob in self._client().list_blobs(bucket, prefix=prefix):
            yield _stored(blob)


def _stored(blob: Any) -> StoredObject:
    when: dt.datetime = blob.time_created or blob.updated
    return StoredObject(str(blob.name), int(blob.size or 0), when.astimezone(dt.UTC))


def _reason(err: Exception) -> str:
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import DefaultCredentialsError

    if isinstance(err, DefaultCredentialsError):
        return f"no Google credentials: {str(err).split('. ', 1)[0].rstrip('.')}"
    if isinstance(err, GoogleAPICallError) and err.code is not None:
        details = _messages(err.errors)
        if not details and err.response is not None:  # an upload's error carries only the response
            with suppress(ValueError, KeyError, TypeError, AttributeError):
                details = _messages(err.response.json()["error"]["errors"])
        try:
            phrase = HTTPStatus(err.code).phrase
        except ValueError:
            phrase = type(err).__name__
        return f"{err.code}: {details[0] if details else phrase}"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _messages(errors: Any) -> list[str]:
    return [str(e["message"]) for e in errors or [] if isinstance(e, dict) and e.get("message")]
