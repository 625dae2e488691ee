"""The `kubernetes` target: the runtime on an existing cluster, from a kubeconfig."""

from __future__ import annotations

from helixflow.stacks.config import KubernetesStack
from helixflow.stacks.targets.planned import PlannedTarget


class KubernetesTarget(PlannedTarget):
    name = "kubernetes"
    description = "the runtime on an existing Kubernetes cluster (kubeconfig), GPU workers on its GPU nodes"
    config_model = KubernetesStack
    reason = "the Kubernetes layer (components/k8s) is not part of this release yet"
