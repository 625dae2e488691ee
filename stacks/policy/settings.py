"""The `policy:` settings of a stack: which rules only warn, which are off, and the limits they check.

    config:
      helixflow:policy:
        advisory: [required-tags]       # these warn; every other rule stops plan/up
        disabled: []                    # these are not run
        max_nodes_per_pool: 50
        max_gpu_nodes_per_pool: 16
        required_tags: [stack, tenant, owner]
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict, Field, field_validator

# every rule name, as stacks/policy/rules registers them (kept here so settings load without the rules)
RULE_NAMES = (
    "encrypted-data-stores", "no-public-endpoints", "data-store-deletion-safety", "gpu-nodes-tainted",
    "required-tags", "node-pool-size-limits", "no-latest-images", "workload-resources", "workload-security-context",
    "default-deny-network-policies",
)  # fmt: skip
# HelixFlow's own components do not tag tenant and owner yet: warn until they do
DEFAULT_ADVISORY = ("required-tags",)


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    advisory: list[str] = Field(list(DEFAULT_ADVISORY), description="rules that warn instead of stopping the run")
    disabled: list[str] = Field([], description="rules that are not run")
    max_nodes_per_pool: int = Field(50, ge=1, description="the largest maximum size a node pool may have")
    max_gpu_nodes_per_pool: int = Field(16, ge=1, description="the largest maximum size a GPU node pool may have")
    required_tags: list[str] = Field(["stack", "tenant", "owner"], description="tags/labels every taggable "
                                     "resource carries: helixflow:<name> (AWS), helixflow-<name> (GCP), "
                                     "helixflow.io/<name> (Kubernetes)")  # fmt: skip

    @field_validator("advisory", "disabled")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in RULE_NAMES:
                close = difflib.get_close_matches(name, RULE_NAMES, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"the rules are {', '.join(RULE_NAMES)}"
                raise ValueError(f"unknown policy rule {name!r}: {hint}")
        return names

    def level(self, rule: str) -> str:
        """'mandatory', 'advisory' or 'disabled'."""
        if rule in self.disabled:
            return "disabled"
        return "advisory" if rule in self.advisory else "mandatory"
