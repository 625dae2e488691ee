"""HelixFlow's own Kubernetes layer, planned under Pulumi's mocks, passes every mandatory rule.

(The AWS and GCP stacks join this once `helixflow plan` runs them: the plan's own test asserts it.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi
import pytest

from helixflow.stacks.config import KubernetesStack, parse_config
from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy import evaluate
from helixflow.stacks.secrets import StackSecrets
from helixflow.stacks.targets.kubernetes import ClusterAccess
from helixflow.stacks.targets.kubernetes_program import build_kubernetes_program


class Planner(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[PlannedResource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(PlannedResource(args.typ, args.name, properties=dict(args.inputs),
                                              component=not args.custom))  # fmt: skip
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def plan_layer(settings: dict[str, Any], **stack: Any) -> list[PlannedResource]:
    config = parse_config({"target": "kubernetes", "kubernetes": settings, **stack})
    assert isinstance(config, KubernetesStack)
    secrets, _ = StackSecrets.from_config({})
    asyncio.set_event_loop(asyncio.new_event_loop())
    planner = Planner()
    pulumi.runtime.set_mocks(planner, project="helixflow", stack="unit", preview=False)
    program = build_kubernetes_program(config, lambda: secrets, ClusterAccess(kubeconfig="apiVersion: v1",
                                                                              context=None))  # fmt: skip
    pulumi.runtime.test(program)()
    return planner.resources


@pytest.mark.parametrize("data", ["in-cluster", "external"])
def test_the_kubernetes_layer_passes_every_mandatory_rule(data: str) -> None:
    settings: dict[str, Any] = {"data": {"mode": data}}
    if data == "external":
        settings["data"] |= {"postgres_url": "postgresql://u:p@db.example.com/h?sslmode=verify-full",
                             "redis_url": "rediss://default:p@cache.example.com:6379/0"}  # fmt: skip
    resources = plan_layer(settings)
    assert any(r.type == "kubernetes:apps/v1:Deployment" for r in resources)
    report = evaluate(resources)
    assert report.mandatory == [], "\n".join(str(v) for v in report.mandatory)


def test_the_gpu_layer_passes_every_mandatory_rule() -> None:
    resources = plan_layer({"workers": 2, "gpus_per_worker": 4}, gpu=True)
    report = evaluate(resources)
    assert report.mandatory == [], "\n".join(str(v) for v in report.mandatory)
