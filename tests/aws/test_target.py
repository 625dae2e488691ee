"""The `aws` target through the CLI: the preflight refuses before the engine starts (no credentials, no
provider plugin), doctor lists the same checks, `down` refuses under deletion protection, `targets` lists
it as available."""

from __future__ import annotations

import json
import os
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
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
)  # fmt: skip


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def helixflow(*args: str, home: Path, **env: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """The CLI with no AWS credentials anywhere: a throwaway HOME and HELIXFLOW_HOME, AWS_* cleared.
    Returns the CPU seconds it used (on 2 shared cores the wall time measures the neighbours too)."""
    clean = {k: v for k, v in os.environ.items() if k not in AWS_VARIABLES}
    clean |= {"HOME": str(home), "HELIXFLOW_HOME": str(home / ".helixflow"), **env}
    started = cpu_seconds()
    proc = subprocess.run([sys.executable, "-m", "helixflow.cli.main", *args], capture_output=True, text=True,
                          env=clean, timeout=60, check=False, cwd=REPO)  # fmt: skip
    return cpu_seconds() - started, proc


def write_stack(home: Path, name: str, settings: dict[str, Any]) -> None:
    project = home / ".helixflow" / "project"
    project.mkdir(parents=True, exist_ok=True)
    config = {f"helixflow:{key}": value for key, value in settings.items()}
    (project / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_up_without_credentials_or_plugin_stops_before_the_engine_saying_how_to_get_them(tmp_path: Path) -> None:
    seconds, proc = helixflow("up", "--yes", "--config", str(EXAMPLE), home=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert seconds < 5, f"the refusal took {seconds:.1f} s of CPU"
    err = proc.stderr
    assert "aws credentials: no AWS credentials found" in err and "aws configure" in err
    assert "pulumi aws provider: no resource-aws v7.x" in err and "a 7.x" in err
    assert "pulumi plugin install resource aws 7." in err
    assert "Traceback" not in err and err.count("\n") == 1  # one line: message and hint
    assert not (tmp_path / ".helixflow" / "state").exists()  # the engine never started


def test_with_credentials_only_the_missing_plugin_is_named(tmp_path: Path) -> None:
    _, proc = helixflow("preview", "--config", str(EXAMPLE), home=tmp_path,
                        AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY="example")  # fmt: skip
    assert proc.returncode == 1
    assert "pulumi aws provider" in proc.stderr and "aws credentials" not in proc.stderr
    credentials = tmp_path / ".aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text("[ops]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = example\n")
    _, proc = helixflow("preview", "--config", str(EXAMPLE), home=tmp_path, AWS_PROFILE="ops")
    assert "aws credentials" not in proc.stderr and "pulumi aws provider" in proc.stderr


def test_doctor_lists_the_same_checks_for_an_aws_stack(tmp_path: Path) -> None:
    write_stack(tmp_path, "cloud", {"target": "aws"})
    plugin = tmp_path / ".helixflow" / "pulumi-home" / "plugins" / "resource-aws-v7.51.1" / "pulumi-resource-aws"
    plugin.parent.mkdir(parents=True)
    plugin.write_text("#!/bin/sh\n")
    plugin.chmod(0o755)
    _, proc = helixflow("doctor", "-s", "cloud", "--json", "--only", "aws", home=tmp_path)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["target"] == "aws" and {"aws credentials", "pulumi aws provider", "aws cli"} <= set(checks)
    assert checks["aws credentials"]["status"] == "fail" and "aws configure" in checks["aws credentials"]["hint"]
    assert checks["pulumi aws provider"]["status"] == "ok" and str(plugin) in checks["pulumi aws provider"]["detail"]


def test_down_refuses_while_the_data_stores_are_protected_naming_them_and_the_setting(tmp_path: Path) -> None:
    write_stack(tmp_path, "cloud", {"target": "aws"})
    _, proc = helixflow("down", "-s", "cloud", "--yes", home=tmp_path)
    assert proc.returncode == 1
    assert "RDS instance helixflow-cloud-db" in proc.stderr and "S3 bucket" in proc.stderr
    assert "aws.deletion_protection false" in proc.stderr and "helixflow up" in proc.stderr
    assert not (tmp_path / ".helixflow" / "state").exists()


def test_the_aws_target_is_available() -> None:
    from helixflow.stacks.targets import get_target

    info = get_target("aws").info()
    assert info.available and not info.unavailable_reason


def test_down_also_refuses_while_the_last_deployment_is_protected(tmp_path: Path) -> None:
    """Setting deletion_protection false is not enough: RDS keeps it until an `up` applies the change."""
    write_stack(tmp_path, "cloud", {"target": "aws", "aws": {"deletion_protection": False}})
    state = tmp_path / ".helixflow" / "state" / ".pulumi" / "stacks" / "helixflow" / "cloud.json"
    state.parent.mkdir(parents=True)
    outputs = {"protected_data_stores": ["RDS instance helixflow-cloud-db"]}
    state.write_text(json.dumps({"checkpoint": {"latest": {"resources": [
        {"type": "pulumi:pulumi:Stack", "outputs": outputs}]}}}))  # fmt: skip
    _, proc = helixflow("down", "-s", "cloud", "--yes", home=tmp_path)
    assert proc.returncode == 1
    assert "RDS instance helixflow-cloud-db" in proc.stderr and "run `helixflow up`" in proc.stderr


def test_status_reads_the_cluster_through_the_exported_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    """The EKS API cannot be reached here: the cluster reader is replaced, the kubeconfig handling is real."""
    from helixflow.stacks.targets import get_target, kubernetes_status
    from helixflow.stacks.targets.base import ComponentStatus

    seen: dict[str, Any] = {}

    def read(outputs: dict[str, Any]) -> list[ComponentStatus]:
        path = Path(outputs["kubeconfig"])
        seen.update(text=path.read_text(), mode=path.stat().st_mode & 0o777, workloads=outputs["workloads"])
        return [ComponentStatus("gateway", "Deployment", "healthy")]

    monkeypatch.setattr(kubernetes_status, "cluster_statuses", read)
    target = get_target("aws")
    assert target.status({"workloads": []}) == []  # nothing deployed: nothing to read
    workloads = [{"kind": "Deployment", "namespace": "helixflow", "name": "gateway"}]
    statuses = target.status({"kubeconfig_yaml": '{"apiVersion": "v1"}', "workloads": workloads})
    assert [s.name for s in statuses] == ["gateway"]
    assert seen == {"text": '{"apiVersion": "v1"}', "mode": 0o600, "workloads": workloads}
