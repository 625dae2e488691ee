"""The same rules as a pulumi-policy pack, for the plain `pulumi` CLI where Pulumi's Python policy host exists:

    pulumi preview --policy-pack stacks/policy/pack

Each policy's validate function turns the engine's resource into a PlannedResource and calls the
rule's own check, so the pack and `evaluate` cannot disagree. Levels come from PolicySettings'
defaults; `--policy-pack-config` changes them the usual Pulumi way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules import RULES, Finding, Rule
from helixflow.stacks.policy.settings import PolicySettings

PACK_NAME = "helixflow"
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY,
          "disabled": EnforcementLevel.DISABLED}  # fmt: skip


def _plain(value: Any) -> Any:
    """The engine's props (Mapping subclasses, secrets unwrapped by the SDK) as plain dicts and lists."""
    if hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _message(finding: Finding) -> str:
    return f"{finding.message} (fix: {finding.fix})"


def resource_validator(rule: Rule, settings: PolicySettings) -> Callable[[ResourceValidationArgs, ReportViolation],
                                                                          None]:  # fmt: skip
    check = rule.resource_check
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = PlannedResource(type=args.resource_type, name=args.name, properties=_plain(args.props))
        for finding in check(resource, settings):
            report_violation(_message(finding), None)

    return validate


def stack_validator(rule: Rule, settings: PolicySettings) -> Callable[[StackValidationArgs, ReportViolation], None]:
    check = rule.stack_check
    assert check is not None

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        urns: dict[str, str] = {}
        resources = []
        for item in args.resources:
            resources.append(PlannedResource(type=item.resource_type, name=item.name, properties=_plain(item.props),
                                             parent=item.parent.name if item.parent else None))  # fmt: skip
            urns[item.name] = item.urn
        for finding in check(resources, settings):
            report_violation(_message(finding), urns.get(finding.resource.name) if finding.resource else None)

    return validate


def policies(settings: PolicySettings | None = None) -> list[Policy]:
    """One pulumi-policy Policy per HelixFlow rule, calling that rule's check."""
    settings = settings or PolicySettings()
    made: list[Policy] = []
    for rule in RULES:
        level = LEVELS[settings.level(rule.name)]
        if rule.stack_check is not None:
            made.append(StackValidationPolicy(rule.name, rule.description, validate=stack_validator(rule, settings),
                                              enforcement_level=level))  # fmt: skip
        else:
            made.append(ResourceValidationPolicy(rule.name, rule.description,
                                                 validate=resource_validator(rule, settings),
                                                 enforcement_level=level))  # fmt: skip
    return made
