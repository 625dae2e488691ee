"""`helixflow plan` through the CLI: any target, a stack or a checked-in file, the tree or stable JSON,
never a secret, a bad configuration refused naming the field."""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "aws-gpu" / "Pulumi.gpu-prod.yaml"
GENERATED_SECRET = re.compile(r"\b[0-9a-f]{64}\b")  # StackSecrets.generate_missing's shape


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def helixflow(*args: str, home: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Runs the CLI; returns the CPU seconds it used (wall time on 2 shared cores measures the neighbours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"HOME": str(home), "HELIXFLOW_HOME": str(home / ".helixflow")}
    started = cpu_seconds()
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False, cwd=REPO)  # fmt: skip
    return cpu_seconds() - started, proc


def write_stack(home: Path, name: str, settings: dict[str, Any]) -> None:
    project = home / ".helixflow" / "project"
    project.mkdir(parents=True, exist_ok=True)
    config = {f"helixflow:{key}": value for key, value in settings.items()}
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_the_example_plans_offline_in_under_5_seconds_without_a_workspace(tmp_path: Path) -> None:
    seconds, proc = helixflow("plan", "--config", str(EXAMPLE), home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert seconds < 5, f"plan took {seconds:.1f} s of CPU"
    out = proc.stdout
    assert "helixflow-gpu-prod  (helixflow:aws:Platform)" in out
    assert "  helixflow-gpu-prod-cluster  (helixflow:aws:GpuCluster)" in out
    assert "instanceTypes=[p5.48xlarge]" in out and "capacityType=SPOT" in out and "region=us-east-1" in out
    assert "deletionProtection=true" in out and "storageEncrypted=true" in out and "protect=true" in out
    assert "stack 'gpu-prod' (target aws): " in proc.stderr
    assert not GENERATED_SECRET.search(out) and not (tmp_path / ".helixflow").exists()


def test_json_is_the_same_tree_as_data_in_a_stable_order_without_secrets(tmp_path: Path) -> None:
    _, first = helixflow("plan", "--config", str(EXAMPLE), "--json", home=tmp_path)
    _, second = helixflow("plan", "--config", str(EXAMPLE), "--json", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout  # CI can diff it
    document = json.loads(first.stdout)
    assert document["stack"] == "gpu-prod" and document["target"] == "aws"
    resources = document["resources"]
    assert all(set(r) >= {"type", "name", "parent", "properties"} for r in resources)
    keys = [(r["parent"] or "", r["type"], r["name"]) for r in resources]
    assert keys == sorted(keys)
    assert "[secret]" in first.stdout and not GENERATED_SECRET.search(first.stdout)


@pytest.mark.parametrize(
    ("settings", "root"),
    [({"target": "local"}, "helixflow:local:Platform"), ({"target": "kubernetes"}, "helixflow:k8s:Layer")],
)
def test_every_target_plans(tmp_path: Path, settings: dict[str, Any], root: str) -> None:
    write_stack(tmp_path, "dev", settings)
    _, proc = helixflow("plan", "-s", "dev", "--json", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    types = {r["type"] for r in json.loads(proc.stdout)["resources"]}
    assert root in types
    assert not (tmp_path / ".helixflow" / "state").exists()


def test_a_bad_configuration_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(yaml.safe_dump({"config": {"helixflow:target": "aws", "helixflow:aws": {
        "region": "eu-west-1", "gpu_pools": [{"name": "g", "gpu": "H200"}]}}}))  # fmt: skip
    _, proc = helixflow("plan", "--config", str(bad), home=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "helixflow:aws: gpu_pools.0.gpu: H200 is not offered in eu-west-1" in proc.stderr
    _, proc = helixflow("plan", "--config", str(tmp_path / "settings.yaml"), home=tmp_path)
    assert proc.returncode == 2  # no such file: a usage error
