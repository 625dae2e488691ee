"""The `kubernetes:` section: the runtime on a cluster you already have, from a kubeconfig."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from helixflow.stacks.config.common import StackBase, Strict


class KubernetesSettings(Strict):
    kubeconfig: str | None = Field(None, description="path of the kubeconfig (default: $KUBECONFIG or ~/.kube/config)")
    context: str | None = Field(None, description="the kubeconfig context (default: its current context)")
    namespace_prefix: str = Field("helixflow", min_length=1, max_length=40, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class KubernetesStack(StackBase):
    """A stack of target `kubernetes`: its `kubernetes:` section only."""

    target: Literal["kubernetes"]
    kubernetes: KubernetesSettings = KubernetesSettings()
