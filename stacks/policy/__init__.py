"""Policy checks over a plan: `evaluate(resources, config.policy)` → PolicyReport; `enforce(report)` raises
HelixFlowError on a mandatory violation. The same rules load as a pulumi-policy pack (stacks/policy/pack).

The pulumi-policy adapter (helixflow.stacks.policy.pulumi_pack) is not imported here: plan and up do
not pay for it.
"""

from __future__ import annotations

from helixflow.stacks.policy.evaluate import PolicyReport, Violation, enforce, evaluate
from helixflow.stacks.policy.settings import PolicySettings

__all__ = ["PolicyReport", "PolicySettings", "Violation", "enforce", "evaluate"]
