"""`helixflow validate`: checks run against a deployed stack, with a success rate and critical checks.

from helixflow.stacks.validate import validate, deployment_from_stack, Options
report = validate(deployment_from_stack("local"), Options(), groups=["security"])
report.exit_code  # 0 ok, 3 a critical check failed, 4 success rate too low (see model.py)
"""

from __future__ import annotations

from collections.abc import Iterable

from helixflow.stacks.validate.context import Context, Options
from helixflow.stacks.validate.deployment import Deployment, deployment_from_stack, deployment_from_url
from helixflow.stacks.validate.model import (
    EXIT_CRITICAL_FAILED,
    EXIT_OK,
    EXIT_SUCCESS_RATE_LOW,
    CheckResult,
    Report,
    Status,
)
from helixflow.stacks.validate.registry import GROUPS, all_checks, select
from helixflow.stacks.validate.runner import Progress, run_checks

__all__ = [
    "EXIT_CRITICAL_FAILED",
    "EXIT_OK",
    "EXIT_SUCCESS_RATE_LOW",
    "GROUPS",
    "CheckResult",
    "Deployment",
    "Options",
    "Report",
    "Status",
    "deployment_from_stack",
    "deployment_from_url",
    "validate",
]  # fmt: skip


def validate(
    deployment: Deployment,
    options: Options | None = None,
    names: Iterable[str] = (),
    groups: Iterable[str] = (),
    progress: Progress | None = None,
) -> Report:
    """Run the selected checks (all by default) against the deployment. Raises HelixFlowError for an unknown
    check or group name; every check failure is a result, never an exception."""
    checks = select(all_checks(), names, groups)
    return run_checks(checks, Context(deployment, options or Options()), progress)
