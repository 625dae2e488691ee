"""The in-process evaluator: HelixFlow runs the rules itself over a plan (Pulumi's Python policy host
cannot be built here), then stops the run on a mandatory violation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules import RULES
from helixflow.stacks.policy.settings import PolicySettings

SHOWN_IN_ERROR = 10  # the error names this many violations; `plan --json` lists all


@dataclass(frozen=True)
class Violation:
    rule: str
    level: str  # "mandatory" | "advisory"
    resource: str
    type: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.type} {self.resource!r}: {self.message} (fix: {self.fix})"


@dataclass(frozen=True)
class PolicyReport:
    rules: dict[str, str]  # rule name -> level it ran at ("disabled" ones did not run)
    violations: list[Violation] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "mandatory"]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.level == "advisory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory

    def to_json(self) -> dict[str, Any]:
        """The `policy` section of `plan --json`."""
        return {"passed": self.passed, "rules": self.rules, "violations": [asdict(v) for v in self.violations]}


def evaluate(resources: Sequence[PlannedResource], settings: PolicySettings | None = None) -> PolicyReport:
    """Run every enabled rule over the plan's resources."""
    settings = settings or PolicySettings()
    levels = {rule.name: settings.level(rule.name) for rule in RULES}
    violations = [
        Violation(rule.name, levels[rule.name], finding.resource.name if finding.resource else "?",
                  finding.resource.type if finding.resource else "?", finding.message, finding.fix)
        for rule in RULES if levels[rule.name] != "disabled"
        for finding in rule.findings(resources, settings)
    ]  # fmt: skip
    return PolicyReport(rules=levels, violations=violations)


def enforce(report: PolicyReport) -> None:
    """Raise HelixFlowError naming the mandatory violations (resource, rule, fix); advisory ones pass.

    plan and up call it before anything is created; they print `report.advisory` as warnings.
    """
    mandatory = report.mandatory
    if not mandatory:
        return
    shown = "; ".join(str(v) for v in mandatory[:SHOWN_IN_ERROR])
    more = f"; and {len(mandatory) - SHOWN_IN_ERROR} more" if len(mandatory) > SHOWN_IN_ERROR else ""
    raise HelixFlowError(
        f"{len(mandatory)} mandatory policy violation{'s' if len(mandatory) > 1 else ''}: {shown}{more}",
        hint="fix each as it says, or list the rule under policy.advisory in the stack's settings to only warn",
    )
