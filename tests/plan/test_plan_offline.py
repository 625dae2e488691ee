"""`plan_resources` in-process: no network, no engine, no files; the records the cost estimate and the policy
pack read (types, parents, protection, masked secrets)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from helixflow.stacks.config import parse_config
from helixflow.stacks.plan import PlannedResource, plan_resources

pytestmark = pytest.mark.unit


def test_a_plan_opens_no_connection_starts_no_process_and_writes_no_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the plan reached outside the process: {args!r}")

    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    resources = plan_resources(parse_config({"target": "aws", "aws": {"region": "eu-west-1"}}), stack="offline")
    assert all(isinstance(r, PlannedResource) for r in resources) and len(resources) > 100
    assert not (tmp_path / "home").exists()
    provider = next(r for r in resources if r.type == "pulumi:providers:aws")
    assert provider.properties["region"] == "eu-west-1"
    assert {r.provider for r in resources} >= {"aws", "kubernetes", "helixflow"}
    cluster = next(r for r in resources if r.type == "aws:eks/cluster:Cluster")
    assert cluster.parent == "helixflow-offline-cluster" and not cluster.component and not cluster.protect


def test_shared_prefixes_are_refused_by_the_configuration_and_by_the_component() -> None:
    from helixflow.stacks.config import AwsStack
    from helixflow.stacks.errors import HelixFlowError

    with pytest.raises(HelixFlowError, match=r"helixflow:aws\.bucket: bucket\.model_prefix 'data/' and bucket"):
        parse_config({"target": "aws", "aws": {"bucket": {"model_prefix": "data/", "backup_prefix": "data/"}}})
    config = parse_config({"target": "aws"})
    assert isinstance(config, AwsStack)
    # model_copy skips validation: what a component sees if a configuration check were missing
    bucket = config.aws.bucket.model_copy(update={"backup_prefix": "models/"})
    unchecked = config.model_copy(update={"aws": config.aws.model_copy(update={"bucket": bucket})})
    with pytest.raises(HelixFlowError, match="the stack's program refused its settings: model_prefix and backup"):
        plan_resources(unchecked)
