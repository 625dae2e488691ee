"""What each target's preflight would have found on a host, made up for a plan (which looks at no host):
fixed values, so the same configuration always plans the same."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from helixflow.stacks.config import StackBase
from helixflow.stacks.errors import HelixFlowError


def _local(config: StackBase) -> Any:
    from helixflow.stacks.targets.local.preflight import LocalHost

    return LocalHost(model_path=Path("/models/model.gguf"), postgres_bin_dir=Path("/usr/lib/postgresql/16/bin"),
                     python="python3", run_postgres_as=None)  # fmt: skip


def _kubernetes(config: StackBase) -> Any:
    from helixflow.stacks.targets.kubernetes import ClusterAccess

    context = getattr(getattr(config, "kubernetes", None), "context", None)
    return ClusterAccess(kubeconfig="apiVersion: v1\nkind: Config\n# planned: no kubeconfig is read\n",
                         context=context)  # fmt: skip


def _aws(config: StackBase) -> Any:
    from helixflow.stacks.targets.aws_program import AwsAccess

    return AwsAccess(credentials="none (a plan calls no AWS API)")


# target name -> the stand-in of its preflight's result (a new target adds one line)
PLAN_HOSTS: Mapping[str, Callable[[StackBase], Any]] = {"local": _local, "kubernetes": _kubernetes, "aws": _aws}


def plan_host(target: str, config: StackBase) -> Any:
    make = PLAN_HOSTS.get(target)
    if make is None:
        raise HelixFlowError(f"target {target!r} cannot be planned yet: the plan has no stand-in for its preflight",
                             hint=f"plannable targets: {', '.join(PLAN_HOSTS)}")  # fmt: skip
    return make(config)
