"""The desired list `helixflow tenant apply` reconciles, read from YAML::

platform: local            # optional: the platform stack (else -s, default local)
tenants:
  - name: acme
    plan: standard         # free | standard | enterprise
    requests_per_minute: 120
  - name: globex
    plan: free
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.tenants.spec import TenantSpec, describe_errors

HINT = "fix the file: a `tenants:` list of {name, plan, requests_per_minute, tokens_per_minute, monthly_tokens, ...}"


class TenantsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: str | None = None
    tenants: list[TenantSpec]

    @field_validator("tenants")
    @classmethod
    def _names_are_unique(cls, tenants: list[TenantSpec]) -> list[TenantSpec]:
        counts = Counter(t.name for t in tenants)
        repeated = sorted(name for name, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"tenant names must be unique: {', '.join(repeated)} listed more than once")
        return tenants


def parse_manifest(document: Any, source: str) -> TenantsFile:
    """Raises HelixFlowError naming every problem, with where it is (tenants.2.plan)."""
    if not isinstance(document, dict):
        raise HelixFlowError(f"{source}: expected a mapping with a `tenants:` list", hint=HINT)
    try:
        return TenantsFile.model_validate(document)
    except ValidationError as err:
        raise HelixFlowError(f"invalid {source}: {describe_errors(err)}", hint=HINT) from None


def load_manifest(path: Path) -> TenantsFile:
    try:
        text = path.read_text()
    except OSError as err:
        raise HelixFlowError(
            f"cannot read {path}: {err.strerror}", hint="pass the path of a tenants YAML file"
        ) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise HelixFlowError(f"{path} is not valid YAML: {err}", hint=HINT) from None
    return parse_manifest(document, str(path))
