"""An earlier release's code, from this repository's history, importable as `helixflow.*`."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "stacks", "components", "runtime")


def release_pythonpath(revision: str, into: Path) -> Path:
    """Extract `revision`'s packages under `into/helixflow/` and return `into`: put it first on
    PYTHONPATH and `python -m helixflow...` (from this virtual environment) runs that release.
    Raises RuntimeError when the revision is not in this clone's history."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision, *PACKAGES], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise RuntimeError(f"revision {revision} is not in this clone's history: {archive.stderr.decode().strip()}")
    package = into / "helixflow"
    package.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(package, filter="data")
    return into
