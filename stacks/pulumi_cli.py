"""Finding the Pulumi CLI (the `pulumi` CLI) and the dynamic-provider shim.

`scripts/setup.sh` builds the Pulumi CLI into a versioned cache directory and links
it into the virtual environment; a `pulumi` already on PATH works too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from helixflow.stacks.errors import HelixFlowError

PULUMI_VERSION = "v3.274.1"
MIN_MAJOR = 3
SHIM = "pulumi-resource-pulumi-python"
INSTALL_HINT = "run ./scripts/setup.sh (it builds the Pulumi CLI once), or put pulumi >= 3 on PATH"


@dataclass(frozen=True)
class PulumiCli:
    """A usable Pulumi CLI: `root/bin/pulumi` exists, which is what PulumiCommand(root=...) expects."""

    root: Path
    version: str
    shim: Path | None

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "pulumi"


def cache_dir() -> Path:
    base = os.environ.get("HELIXFLOW_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "helixflow"
    )
    return Path(base)


def _candidates() -> list[Path]:
    # An explicit root is the user's choice: no silent fallback to another Pulumi CLI.
    if explicit := os.environ.get("HELIXFLOW_PULUMI_ROOT"):
        return [Path(explicit) / "bin" / "pulumi"]
    found: list[Path] = []
    found.append(Path(sys.prefix) / "bin" / "pulumi")
    found.append(cache_dir() / "pulumi" / PULUMI_VERSION / "bin" / "pulumi")
    if on_path := shutil.which("pulumi"):
        found.append(Path(on_path))
    return found


def pulumi_version_of(binary: Path) -> str:
    """The version `pulumi version` prints, or "" when it prints none (a CLI built without ldflags)."""
    try:
        out = subprocess.run(
            [str(binary), "version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()
    except OSError:
        return ""
    return out if re.fullmatch(r"v\d+\.\d+\.\d+\S*", out) else ""


def _shim_for(binary: Path) -> Path | None:
    beside = binary.parent / SHIM
    if beside.exists() and os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which(SHIM)
    return Path(on_path) if on_path else None


def find_pulumi(verify: bool = True) -> PulumiCli:
    """The first usable Pulumi CLI among the known places.

    With verify=False only its presence is checked (the Automation API runs
    `pulumi version` itself; each run of the 120 MB binary costs ~0.3 s).
    Raises HelixFlowError when none is found, when the one found prints no
    version, or when its major version is older than 3.
    """
    problems: list[str] = []
    for candidate in _candidates():
        if not candidate.exists():
            continue
        real = candidate.resolve()
        if not verify:
            return PulumiCli(root=real.parent.parent, version="", shim=_shim_for(real))
        version = pulumi_version_of(real)
        if not version:
            problems.append(f"{candidate} prints no version (was it built without -ldflags?)")
            continue
        if int(version[1:].split(".")[0]) < MIN_MAJOR:
            problems.append(f"{candidate} is {version}, HelixFlow needs v{MIN_MAJOR}.x")
            continue
        return PulumiCli(root=real.parent.parent, version=version, shim=_shim_for(real))
    searched = ", ".join(str(c) for c in _candidates())
    detail = "; ".join(problems) if problems else f"no `pulumi` binary found (looked at {searched})"
    raise HelixFlowError(f"Pulumi CLI not usable: {detail}", hint=INSTALL_HINT)
