"""The image the cluster runs (templates/runtime/Dockerfile) suits Pod Security `restricted`: its user is a
numeric non-root id equal to the pods' runAsUser, nothing is fetched by ADD, and every base is pinned to
a full version tag (or a digest). hadolint itself: tests/runtime/test_container_files.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helixflow.components.k8s.runtime import RUNTIME_USER

pytestmark = pytest.mark.unit
DOCKERFILE = Path(__file__).resolve().parents[2] / "templates" / "runtime" / "Dockerfile"


def problems(text: str) -> list[str]:
    found = []
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for base in (line.split()[1] for line in lines if line.upper().startswith("FROM ")):
        tag = base.rpartition(":")[2] if ":" in base else ""
        if "@sha256:" not in base and not re.match(r"\d+\.\d+\.\d+", tag):
            found.append(f"base {base} is not pinned to a full version or digest")
    if any(line.upper().startswith("ADD ") for line in lines):
        found.append("ADD (use COPY)")
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        found.append(f"the last USER must be a numeric non-root id, got {users[-1] if users else None}")
    elif int(users[-1].partition(":")[0]) != RUNTIME_USER:
        found.append(f"USER {users[-1]} differs from the pods' runAsUser {RUNTIME_USER}")
    return found


def test_the_runtime_image_is_non_root_numeric_and_pinned() -> None:
    assert problems(DOCKERFILE.read_text()) == []


@pytest.mark.parametrize(("dockerfile", "says"), [
    ("FROM python:3.11-slim\nUSER 10001\n", "not pinned"),
    ("FROM python:3.11.14-slim\nADD https://x/y /y\nUSER 10001\n", "ADD"),
    ("FROM python:3.11.14-slim\nUSER helixflow\n", "numeric"),
    ("FROM python:3.11.14-slim\nUSER 0\n", "numeric"),
])  # fmt: skip
def test_the_check_catches_each_problem(dockerfile: str, says: str) -> None:
    assert any(says in problem for problem in problems(dockerfile))
