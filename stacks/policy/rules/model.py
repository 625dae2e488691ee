"""What a rule is: a name, what it asks for, and one check function that both entry points call.

A resource rule checks one resource at a time (`check(resource, settings)`); a stack rule checks the
whole plan (`check(resources, settings)`, yielding the offending resource with each finding). Both
yield `Finding`s: what is wrong, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.settings import PolicySettings


@dataclass(frozen=True)
class Finding:
    message: str
    fix: str
    resource: PlannedResource | None = None  # a stack rule names the resource; a resource rule's is implied


ResourceCheck = Callable[[PlannedResource, PolicySettings], Iterable[Finding]]
StackCheck = Callable[[Sequence[PlannedResource], PolicySettings], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None

    def findings(self, resources: Sequence[PlannedResource], settings: PolicySettings) -> list[Finding]:
        """Every finding of this rule over a plan, each naming its resource."""
        if self.stack_check is not None:
            return list(self.stack_check(resources, settings))
        assert self.resource_check is not None
        return [Finding(f.message, f.fix, resource) for resource in resources if not resource.component
                for f in self.resource_check(resource, settings)]  # fmt: skip


def dig(properties: Any, *path: str) -> Any:
    """properties[path[0]][path[1]]..., or None where a step is missing or not a mapping."""
    value = properties
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def truthy(value: Any) -> bool:
    """A boolean input as mocks pass it (True, or the strings launch templates use)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")
