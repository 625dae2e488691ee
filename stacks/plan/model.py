"""What a plan is made of: the resources a program would create, as data.

Shared by the plan runner (which fills it under Pulumi's mocks), the cost estimate and the policy
pack (which read it), so each works on the same records whichever target made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PlannedResource:
    """One resource of a plan.

    `type` is the Pulumi type token (`aws:rds/instance:Instance`, `kubernetes:apps/v1:Deployment`,
    `helixflow:k8s:Layer`); `name` the resource's logical name; `parent` the logical name of its
    parent component (None for the stack's root); `properties` its inputs, as the program passed
    them (camelCase keys, as the provider sees them), secrets included but never printed.
    """

    type: str
    name: str
    parent: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    component: bool = False  # a ComponentResource: it groups resources and creates nothing itself
    protect: bool = False  # Pulumi refuses to delete it (the `protect` option, inherited from its parent)

    @property
    def provider(self) -> str:
        """The package that owns the type: `aws`, `gcp`, `kubernetes`, `helixflow`."""
        return self.type.split(":", 1)[0]
