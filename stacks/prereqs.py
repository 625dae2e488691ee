"""Prerequisite checks behind `helixflow doctor` that every target shares (its own come from the target).

Each check reports ok/warn/fail with the version it found and a fix hint, so the
CLI only renders. A `fail` on a required check makes doctor exit 1.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.pulumi_cli import PULUMI_VERSION, find_pulumi

Status = Literal["ok", "warn", "fail"]
MIN_FREE_DISK_GIB = 2.0
MIN_PYTHON: tuple[int, int] = (3, 11)
APT_HINT = "run ./scripts/setup.sh, or: apt-get install --no-install-recommends {pkg}"


@dataclass(frozen=True)
class Prerequisite:
    name: str
    status: Status
    detail: str
    hint: str = ""
    required: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def version_of(argv: list[str], pattern: str) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return None
    match = re.search(pattern, proc.stdout + proc.stderr)
    return match.group(1) if match else None


def major_of(version: str) -> int:
    return int(version.split(".")[0])


def check_python() -> Prerequisite:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= MIN_PYTHON:
        return Prerequisite("python", "ok", version)
    return Prerequisite("python", "fail", version, "HelixFlow needs Python >= 3.11")


def check_pulumi() -> list[Prerequisite]:
    try:
        cli = find_pulumi()
    except HelixFlowError as err:
        return [
            Prerequisite("pulumi cli", "fail", err.message, err.hint or ""),
            Prerequisite("pulumi python shim", "fail", "needs the Pulumi CLI first", err.hint or ""),
        ]
    note = "" if cli.version == PULUMI_VERSION else f" (HelixFlow is tested with {PULUMI_VERSION})"
    results = [Prerequisite("pulumi cli", "ok", f"{cli.version} at {cli.binary}{note}")]
    if cli.shim:
        results.append(Prerequisite("pulumi python shim", "ok", str(cli.shim)))
    else:
        results.append(
            Prerequisite(
                "pulumi python shim",
                "fail",
                "pulumi-resource-pulumi-python not beside the Pulumi CLI nor on PATH",
                "run ./scripts/setup.sh (it installs the shim beside the Pulumi CLI)",
            )
        )
    return results


def check_disk(path: Path | None = None) -> Prerequisite:
    target = path or Path.home()
    free_gib = shutil.disk_usage(target).free / 2**30
    detail = f"{free_gib:.1f} GiB free at {target}"
    if free_gib >= MIN_FREE_DISK_GIB:
        return Prerequisite("disk space", "ok", detail)
    return Prerequisite("disk space", "fail", detail, f"free at least {MIN_FREE_DISK_GIB:g} GiB")


CheckGroup = Callable[[], list[Prerequisite]]
# What every stack needs, whatever its target; a target adds its own groups (see Target.doctor_checks).
COMMON_GROUPS: dict[str, CheckGroup] = {
    "python": lambda: [check_python()],
    "pulumi": check_pulumi,
    "disk": lambda: [check_disk()],
}


def run_checks(groups: dict[str, CheckGroup], only: list[str] | None = None) -> list[Prerequisite]:
    """Run the check groups (all of them, or those named in `only`), in order."""
    results: list[Prerequisite] = []
    for name, check in groups.items():
        if not only or name in only:
            results.extend(check())
    return results


def all_required_ok(results: list[Prerequisite]) -> bool:
    return all(r.status != "fail" for r in results if r.required)
