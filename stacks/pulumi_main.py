"""The program behind the root Pulumi.yaml, for running a stack with the plain `pulumi` CLI.

`helixflow up` runs the same program through the Automation API and generates the
stack's secrets on first use; with the plain CLI they must already be in
Pulumi.<stack>.yaml (run `helixflow up` once, or `pulumi config set --secret
helixflow:postgresPassword ...` for each of them).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from helixflow.stacks.config import NAMESPACE, parse_config, top_level_keys
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.secrets import StackSecrets
from helixflow.stacks.targets import target_for


def _settings() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in sorted(top_level_keys()):
        raw = pulumi.runtime.get_config(f"{NAMESPACE}:{key}")
        if raw is None:
            continue
        try:
            values[key] = json.loads(raw) if key != "target" else raw
        except ValueError:
            values[key] = raw
    return values


def main() -> None:
    config = parse_config(_settings(), source=f"stack {pulumi.get_stack()}")
    target = target_for(config)
    target.require_deployable(config)
    paths = StackPaths.for_stack(pulumi.get_stack())
    target.program(config, StackSecrets.from_engine, paths, target.preflight(config, paths))()


if __name__ == "__main__":
    main()
