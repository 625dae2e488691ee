"""Prerequisite checks behind `helixflow doctor`.

Each check reports ok/warn/fail with the version it found and a fix hint, so the
CLI only renders. A `fail` on a required check makes doctor exit 1.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from helixflow.stacks.engine import PULUMI_VERSION, find_engine
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.local.ports import DEFAULT_PORTS, port_is_free

Status = Literal["ok", "warn", "fail"]
MIN_FREE_DISK_GIB = 2.0
MIN_PYTHON: tuple[int, int] = (3, 11)
APT_HINT = "run ./scripts/setup.sh, or: apt-get install --no-install-recommends {pkg}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    hint: str = ""
    required: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _version_of(argv: list[str], pattern: str) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except OSError:
        return None
    match = re.search(pattern, proc.stdout + proc.stderr)
    return match.group(1) if match else None


def _major(version: str) -> int:
    return int(version.split(".")[0])


def postgres_bin_dir() -> Path | None:
    """Debian keeps PostgreSQL's server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def check_python() -> CheckResult:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= MIN_PYTHON:
        return CheckResult("python", "ok", version)
    return CheckResult("python", "fail", version, "HelixFlow needs Python >= 3.11")


def check_engine() -> list[CheckResult]:
    try:
        engine = find_engine()
    except HelixFlowError as err:
        return [
            CheckResult("pulumi engine", "fail", err.message, err.hint or ""),
            CheckResult("pulumi python shim", "fail", "needs the engine first", err.hint or ""),
        ]
    note = "" if engine.version == PULUMI_VERSION else f" (HelixFlow is tested with {PULUMI_VERSION})"
    results = [CheckResult("pulumi engine", "ok", f"{engine.version} at {engine.binary}{note}")]
    if engine.shim:
        results.append(CheckResult("pulumi python shim", "ok", str(engine.shim)))
    else:
        results.append(
            CheckResult(
                "pulumi python shim",
                "fail",
                "pulumi-resource-pulumi-python not beside the engine nor on PATH",
                "run ./scripts/setup.sh (it installs the shim beside the engine)",
            )
        )
    return results


def _binary_check(
    name: str, argv: list[str], pattern: str, min_major: int, package: str
) -> CheckResult:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return CheckResult(name, "fail", "not installed", APT_HINT.format(pkg=package))
    version = _version_of(argv, pattern)
    if version is None:
        return CheckResult(name, "fail", f"{argv[0]} did not report a version", APT_HINT.format(pkg=package))
    if _major(version) < min_major:
        return CheckResult(name, "fail", f"{version} (needs >= {min_major})", APT_HINT.format(pkg=package))
    return CheckResult(name, "ok", version)


def check_services() -> list[CheckResult]:
    pg_dir = postgres_bin_dir()
    if pg_dir is None:
        pg = CheckResult("postgresql", "fail", "not installed", APT_HINT.format(pkg="postgresql"))
    else:
        pg = _binary_check("postgresql", [str(pg_dir / "postgres"), "--version"], r"(\d+\.\d+)", 15, "postgresql")
    return [
        pg,
        _binary_check("redis", ["redis-server", "--version"], r"v=(\d+\.\d+\.\d+)", 7, "redis-server"),
        _binary_check("nginx", ["nginx", "-v"], r"nginx/(\d+\.\d+\.\d+)", 1, "nginx"),
        _binary_check("prometheus", ["prometheus", "--version"], r"version (\d+\.\d+\.\d+)", 2, "prometheus"),
        _binary_check("promtool", ["promtool", "--version"], r"version (\d+\.\d+\.\d+)", 2, "prometheus"),
    ]


def check_ports(ports: dict[str, int] | None = None) -> list[CheckResult]:
    """Ports in use are a warning: a running local stack holds them itself."""
    results = []
    for role, port in (ports or DEFAULT_PORTS).items():
        if port_is_free(port):
            results.append(CheckResult(f"port {port} ({role})", "ok", "free", required=False))
        else:
            results.append(
                CheckResult(
                    f"port {port} ({role})",
                    "warn",
                    "in use",
                    "fine if your local stack is up; otherwise stop what holds it or pick another port",
                    required=False,
                )
            )
    return results


def check_disk(path: Path | None = None) -> CheckResult:
    target = path or Path.home()
    free_gib = shutil.disk_usage(target).free / 2**30
    detail = f"{free_gib:.1f} GiB free at {target}"
    if free_gib >= MIN_FREE_DISK_GIB:
        return CheckResult("disk space", "ok", detail)
    return CheckResult("disk space", "fail", detail, f"free at least {MIN_FREE_DISK_GIB:g} GiB")


CHECK_GROUPS: dict[str, Callable[[], CheckResult | list[CheckResult]]] = {
    "python": check_python,
    "engine": check_engine,
    "services": check_services,
    "ports": check_ports,
    "disk": check_disk,
}


def run_checks(groups: list[str] | None = None) -> list[CheckResult]:
    """Run the named check groups (all of them by default), in a fixed order."""
    results: list[CheckResult] = []
    for name, check in CHECK_GROUPS.items():
        if groups and name not in groups:
            continue
        outcome = check()
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results


def all_required_ok(results: list[CheckResult]) -> bool:
    return all(r.status != "fail" for r in results if r.required)
