"""The file backend's lock: a live holder is named, a dead one's lock is cleared."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from helixflow.stacks.locks import clear_stale_lock, describe_live_lock


def write_lock(backend: Path, stack: str, pid: int, host: str | None = None) -> Path:
    lock = backend / ".pulumi" / "locks" / "organization" / "helixflow" / stack / f"{pid}.json"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(
        json.dumps(
            {"pid": pid, "username": "alice", "hostname": host or socket.gethostname(), "timestamp": "2026-11-26"}
        )
    )
    return lock


def test_live_lock_names_its_holder(tmp_path: Path) -> None:
    write_lock(tmp_path, "local", os.getpid())
    held = describe_live_lock(tmp_path, "local")
    assert held is not None and f"pid {os.getpid()}" in held and "alice@" in held
    assert clear_stale_lock(tmp_path, "local") == []
    assert describe_live_lock(tmp_path, "other") is None


def test_dead_holders_lock_is_cleared(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock = write_lock(tmp_path, "local", int(dead.stdout))
    assert describe_live_lock(tmp_path, "local") is None
    assert clear_stale_lock(tmp_path, "local") == [lock]
    assert not lock.exists()


def test_another_hosts_lock_is_respected(tmp_path: Path) -> None:
    write_lock(tmp_path, "local", 999999, host="elsewhere")
    assert describe_live_lock(tmp_path, "local") is not None
    assert clear_stale_lock(tmp_path, "local") == []
