"""Real bucket API servers on 127.0.0.1 for the bucket backup tests, and sealed backups to put in them: moto's
S3 server (in this process) and fake-gcs-server (a child process; ./scripts/setup.sh builds it,
scripts/install-fake-gcs-server.sh). Fixtures over them are in conftest.py beside this file."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helixflow.stacks.backup.archive import BackupFolder
from helixflow.stacks.backup.model import BackupInfo
from tests.support.processes import ManagedProcess, free_port
from tests.tiers import require_services

DUMP = b"PGDMP" + bytes(range(256)) * 64
WHEN = dt.datetime(2026, 5, 1, 3, 17, tzinfo=dt.UTC)


def sealed(tmp_path: Path, content: bytes = DUMP, when: dt.datetime = WHEN, kind: str = "manual") -> BackupInfo:
    """A local backup as `helixflow backup` leaves it: the dump and its .sha256, in the stack's folder."""
    folder = BackupFolder(tmp_path / "backups", "dev")
    partial, final = folder.new_partial(when, kind)
    partial.write_bytes(content)
    return folder.seal(partial, final)


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 server; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    require_services("moto's S3 server")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def fake_gcs_server_binary() -> str:
    found = os.environ.get("HELIXFLOW_FAKE_GCS_SERVER") or shutil.which("fake-gcs-server") or str(
        Path(sys.executable).parent / "fake-gcs-server"
    )
    assert Path(found).exists(), (
        "fake-gcs-server is missing: ./scripts/setup.sh builds it (scripts/install-fake-gcs-server.sh) and links it "
        "into .venv/bin; HELIXFLOW_FAKE_GCS_SERVER may name it instead"
    )
    return found


@contextmanager
def fake_gcs(log_dir: Path) -> Iterator[str]:
    """fake-gcs-server (in memory, plain HTTP) on a free port; yields its URL, for STORAGE_EMULATOR_HOST."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [fake_gcs_server_binary(), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
            "-backend", "memory", "-external-url", url, "-log-level", "warn"]  # fmt: skip
    server = ManagedProcess("fake-gcs-server", argv, log_dir / "fake-gcs-server.log", f"{url}/storage/v1/b").start()
    try:
        yield url
    finally:
        server.stop()
