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
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.paths import StackPaths
from helixflow.stacks.secrets import CONFIG_KEYS, StackSecrets
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


def _secrets() -> StackSecrets:
    found = {key: pulumi.runtime.get_config(f"{NAMESPACE}:{key}") for key in CONFIG_KEYS.values()}
    missing = sorted(key for key, value in found.items() if not value)
    if missing:
        names = ", ".join(f"{NAMESPACE}:{key}" for key in missing)
        raise HelixFlowError(
            f"stack '{pulumi.get_stack()}' lacks its secrets: {names}",
            hint="run `helixflow up` once (it generates them), or `pulumi config set --secret KEY VALUE` for each",
        )
    secrets, _ = StackSecrets.from_config({k: str(v) for k, v in found.items()})
    return secrets


def main() -> None:
    config = parse_config(_settings(), source=f"stack {pulumi.get_stack()}")
    target = target_for(config)
    target.require_deployable(config)
    paths = StackPaths.for_stack(pulumi.get_stack())
    target.program(config, _secrets(), paths, target.preflight(config, paths))()


if __name__ == "__main__":
    main()
