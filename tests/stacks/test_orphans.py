"""Orphaned dynamic-provider processes are found by backend and stopped; live ones are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from helixflow.stacks.orphans import orphaned_providers, stop_orphaned_providers

# a stand-in with the provider's module name in its command line; it only sleeps
FAKE_PROVIDER = "import time; time.sleep(60)  # pulumi.dynamic"


def spawn_orphan(backend_url: str, tmp_path: Path) -> int:
    """A provider-like process whose parent has exited, so init adopts it."""
    pid_file = tmp_path / "orphan.pid"
    launcher = (
        "import os, subprocess, sys\n"
        f"p = subprocess.Popen([sys.executable, '-c', {FAKE_PROVIDER!r}], start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
    )
    env = {**os.environ, "PULUMI_BACKEND_URL": backend_url}
    subprocess.run([sys.executable, "-c", launcher], env=env, check=True)
    return int(pid_file.read_text())


def test_orphans_of_this_backend_are_stopped(tmp_path: Path) -> None:
    ours = f"file://{tmp_path}/state"
    orphan = spawn_orphan(ours, tmp_path)
    other = spawn_orphan(f"file://{tmp_path}/other", tmp_path)
    # a provider whose engine still runs: its parent's program is called `pulumi`
    engine = tmp_path / "bin" / "pulumi"
    engine.parent.mkdir()
    engine.symlink_to(sys.executable)
    env = {**os.environ, "PULUMI_BACKEND_URL": ours, "FAKE_PROVIDER": FAKE_PROVIDER}
    # (the provider's code comes through the environment: the stand-in engine's own command line must not match)
    spawner = (
        "import os, subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', os.environ['FAKE_PROVIDER']])\n"
        "time.sleep(60)\n"
    )
    live = subprocess.Popen([str(engine), "-c", spawner], env=env)
    time.sleep(0.5)
    try:
        assert orphaned_providers(ours) == [orphan]
        assert stop_orphaned_providers(ours) == [orphan]
        deadline = time.monotonic() + 5
        while Path(f"/proc/{orphan}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{orphan}").exists() or b"Z" in Path(f"/proc/{orphan}/stat").read_bytes()[:60]
        assert live.poll() is None
        assert Path(f"/proc/{other}").exists()
    finally:
        for child in Path(f"/proc/{live.pid}/task/{live.pid}/children").read_text().split():
            os.kill(int(child), 9)
        live.kill()
        live.wait()
        os.kill(other, 9)
