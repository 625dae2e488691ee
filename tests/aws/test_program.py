"""The pieces of the aws program that are plain functions: the names it gives AWS, the runtime's URLs to
the managed data stores, the kubeconfig; and a stack's settings taken from a checked-in file (--config)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pulumi
import pytest
import yaml

from helixflow.components.aws.platform import kubeconfig, postgres_url, redis_url
from helixflow.stacks.driver import StackDriver, stack_of_config_file
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets.aws_program import cluster_name

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("stack", ["prod", "Team_A.prod", "x--y", "a" * 63, "9lives"])
def test_the_names_meet_the_strictest_aws_rules(stack: str) -> None:
    name = cluster_name(stack)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), name
    assert len(f"{name}-cache") <= 40  # ElastiCache's limit
    assert cluster_name("a" * 63) != cluster_name("a" * 62)  # a cut name stays unique


def test_the_runtime_reaches_the_data_stores_over_verified_tls() -> None:
    url = postgres_url("helixflow", "p@ss/word", "db.example.rds.amazonaws.com", 5432, "helixflow")
    assert url.startswith("postgresql://helixflow:p%40ss%2Fword@db.example.rds.amazonaws.com:5432/helixflow?")
    assert "sslmode=verify-full" in url and "sslrootcert=" in url
    assert redis_url("t0k+n", "master.c.use1.cache.amazonaws.com", 6379) == (
        "rediss://:t0k%2Bn@master.c.use1.cache.amazonaws.com:6379/0")


class NoResources(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, object]]:
        raise AssertionError(f"no resource expected: {args.typ}")

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, object], list[tuple[str, str]]]:
        return {}, []


def test_the_kubeconfig_gets_its_token_from_aws_eks_get_token() -> None:
    asyncio.set_event_loop(asyncio.new_event_loop())
    pulumi.runtime.set_mocks(NoResources(), project="helixflow", stack="unit", preview=False)
    pulumi.runtime.test(kubeconfig_checked)()


def kubeconfig_checked() -> pulumi.Output[None]:
    def check(text: str) -> None:
        document = json.loads(text)
        user = document["users"][0]["user"]["exec"]
        assert user["command"] == "aws" and user["args"][:4] == ["eks", "get-token", "--cluster-name", "c1"]
        assert "--region" in user["args"] and "eu-west-1" in user["args"]
        assert document["clusters"][0]["cluster"] == {"server": "https://x.eks", "certificate-authority-data": "Q0E="}
        assert "token" not in document["users"][0]["user"]  # no static token: one is fetched at each use

    return kubeconfig("c1", "https://x.eks", "Q0E=", "eu-west-1").apply(check)


def test_a_checked_in_file_gives_the_settings_and_the_workspace_keeps_the_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELIXFLOW_HOME", str(tmp_path / "home"))
    checked_in = tmp_path / "repo" / "Pulumi.team-a.yaml"
    checked_in.parent.mkdir()
    checked_in.write_text(yaml.safe_dump({"config": {
        "helixflow:target": "aws", "helixflow:aws": {"region": "eu-west-1", "gpu_pools": [{"name": "g", "gpu": "L4"}]},
        "helixflow:postgresPassword": {"secure": "someone-elses"},  # never taken from a shared file
    }}))  # fmt: skip
    assert stack_of_config_file(checked_in) == "team-a"
    driver = StackDriver("team-a", config_file=checked_in)
    workspace = driver.paths.config_file
    workspace.parent.mkdir(parents=True)
    workspace.write_text(yaml.safe_dump({"encryptionsalt": "v1:salt", "config": {
        "helixflow:target": "local", "helixflow:postgresPassword": {"secure": "mine"}}}))  # fmt: skip
    config = driver.load_config()
    assert config.target == "aws" and config.aws.region == "eu-west-1"  # type: ignore[union-attr]
    driver._sync_checked_in_config()  # what every engine run does first
    synced = yaml.safe_load(workspace.read_text())
    assert synced["encryptionsalt"] == "v1:salt"
    assert synced["config"]["helixflow:postgresPassword"] == {"secure": "mine"}
    assert synced["config"]["helixflow:aws"]["region"] == "eu-west-1" and synced["config"]["helixflow:target"] == "aws"
    with pytest.raises(HelixFlowError, match=r"is not named Pulumi\.<stack>\.yaml"):
        stack_of_config_file(tmp_path / "settings.yaml")
