"""The registry of checks: each has a name (unique), a group, a severity and a function of the context."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from helixflow.stacks.errors import HelixFlowError

if TYPE_CHECKING:
    from helixflow.stacks.validate.context import Context
    from helixflow.stacks.validate.model import Outcome

GROUPS = ("availability", "api", "security", "quotas", "observability", "data", "performance")

CheckFunction = Callable[["Context"], "Outcome"]


@dataclass(frozen=True)
class Check:
    name: str
    group: str
    critical: bool
    description: str
    run: CheckFunction
    last: bool = False  # runs after every other check (it inspects what they did)


_CHECKS: dict[str, Check] = {}


def check(
    name: str, group: str, *, critical: bool, description: str, last: bool = False
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check function; the order of registration is the order of the run within a group."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}")

    def register(function: CheckFunction) -> CheckFunction:
        if name in _CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        _CHECKS[name] = Check(name, group, critical, description, function, last)
        return function

    return register


def all_checks() -> list[Check]:
    """Every check, grouped in GROUPS order (importing the check modules registers them)."""
    from helixflow.stacks.validate import checks  # noqa: F401  (registration happens on import)

    return sorted(_CHECKS.values(), key=lambda c: GROUPS.index(c.group))


def select(checks: list[Check], names: Iterable[str] = (), groups: Iterable[str] = ()) -> list[Check]:
    """The checks named or in the groups named (all when neither is given).

    Raises HelixFlowError naming the valid choices for an unknown check or group.
    """
    names, groups = list(names), list(groups)
    known = {c.name for c in checks}
    unknown_names = [n for n in names if n not in known]
    if unknown_names:
        valid = ", ".join(sorted(known))
        raise HelixFlowError(f"unknown check(s): {', '.join(unknown_names)}", hint=f"one of: {valid}")
    unknown_groups = [g for g in groups if g not in GROUPS]
    if unknown_groups:
        raise HelixFlowError(f"unknown group(s): {', '.join(unknown_groups)}", hint=f"one of: {', '.join(GROUPS)}")
    if not names and not groups:
        return list(checks)
    return [c for c in checks if c.name in names or c.group in groups]
