"""The registry of targets. Adding a target means adding its module and one line here.

Importing this is cheap: each target imports its SDKs (pulumi_aws, kubernetes, ...) only
inside the methods that use them.
"""

from __future__ import annotations

import difflib
from typing import Any

from helixflow.stacks.config import TARGET_NAMES, StackBase
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets.aws import AwsTarget
from helixflow.stacks.targets.base import ComponentStatus, Target, TargetInfo
from helixflow.stacks.targets.gcp import GcpTarget
from helixflow.stacks.targets.kubernetes import KubernetesTarget
from helixflow.stacks.targets.local import LocalTarget

__all__ = ["TARGETS", "ComponentStatus", "Target", "TargetInfo", "all_targets", "get_target", "target_for"]

TARGETS: dict[str, Target[Any]] = {
    target.name: target for target in (LocalTarget(), KubernetesTarget(), AwsTarget(), GcpTarget())
}
assert tuple(TARGETS) == TARGET_NAMES, "every target has a stack model in stacks/config, in the same order"


def get_target(name: str) -> Target[Any]:
    """The target called name. Raises HelixFlowError with a "did you mean" and the valid names."""
    target = TARGETS.get(name)
    if target is None:
        guess = difflib.get_close_matches(name, TARGETS, n=1)
        did_you_mean = f" (did you mean '{guess[0]}'?)" if guess else ""
        raise HelixFlowError(
            f"unknown target {name!r}{did_you_mean}; valid targets: {', '.join(TARGETS)}",
            hint="`helixflow targets` describes each",
        )
    return target


def target_for(config: StackBase) -> Target[Any]:
    return get_target(str(getattr(config, "target")))  # noqa: B009 (every stack model has one)


def all_targets() -> list[TargetInfo]:
    return [target.info() for target in TARGETS.values()]
