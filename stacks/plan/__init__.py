"""`helixflow plan`: a stack's resources, planned under Pulumi's mocks, with no cloud and no credentials.

`plan_resources(config)` gives them as `PlannedResource` records (the cost estimate and the policy pack
read the same records). Importing this package is cheap: the SDKs load when a plan runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from helixflow.stacks.plan.model import PlannedResource

if TYPE_CHECKING:
    from helixflow.stacks.config import StackBase

__all__ = ["PlannedResource", "plan_resources"]


def plan_resources(config: StackBase, stack: str = "plan") -> list[PlannedResource]:
    """Every resource the stack's program would create, sorted (parent, type, name). Raises HelixFlowError
    for a configuration its target or a component refuses."""
    from helixflow.stacks.plan.runner import plan_resources as run

    return run(config, stack=stack)
