"""What the local target needs on this machine: PostgreSQL, Redis, nginx, Prometheus, free ports."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

from helixflow.stacks.config import LocalSettings
from helixflow.stacks.prereqs import APT_HINT, Prerequisite, major_of, version_of
from helixflow.stacks.targets.local.ports import port_is_free


def postgres_bin_dir() -> Path | None:
    """Debian keeps PostgreSQL's server binaries off PATH, under /usr/lib/postgresql/<major>/bin."""
    on_path = shutil.which("postgres")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def _binary_check(
    name: str, argv: list[str], pattern: str, min_major: int, package: str
) -> Prerequisite:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return Prerequisite(name, "fail", "not installed", APT_HINT.format(pkg=package))
    version = version_of(argv, pattern)
    if version is None:
        return Prerequisite(name, "fail", f"{argv[0]} did not report a version", APT_HINT.format(pkg=package))
    if major_of(version) < min_major:
        return Prerequisite(name, "fail", f"{version} (needs >= {min_major})", APT_HINT.format(pkg=package))
    return Prerequisite(name, "ok", version)


def check_services() -> list[Prerequisite]:
    pg_dir = postgres_bin_dir()
    if pg_dir is None:
        pg = Prerequisite("postgresql", "fail", "not installed", APT_HINT.format(pkg="postgresql"))
    else:
        pg = _binary_check("postgresql", [str(pg_dir / "postgres"), "--version"], r"(\d+\.\d+)", 15, "postgresql")
    return [
        pg,
        _binary_check("redis", ["redis-server", "--version"], r"v=(\d+\.\d+\.\d+)", 7, "redis-server"),
        _binary_check("nginx", ["nginx", "-v"], r"nginx/(\d+\.\d+\.\d+)", 1, "nginx"),
        _binary_check("prometheus", ["prometheus", "--version"], r"version (\d+\.\d+\.\d+)", 2, "prometheus"),
        _binary_check("promtool", ["promtool", "--version"], r"version (\d+\.\d+\.\d+)", 2, "prometheus"),
    ]


def check_ports(local: LocalSettings) -> list[Prerequisite]:
    """Ports in use are a warning: a running local stack holds them itself."""
    results = []
    for role, port in local.port_map().items():
        if port_is_free(port):
            results.append(Prerequisite(f"port {port} ({role})", "ok", "free", required=False))
        else:
            results.append(
                Prerequisite(
                    f"port {port} ({role})",
                    "warn",
                    "in use",
                    "fine if your local stack is up; otherwise stop what holds it or pick another port",
                    required=False,
                )
            )
    return results


