"""The mock outputs of every provider a plan knows, merged: type token -> (name, inputs) -> outputs.

A provider module (outputs_aws, outputs_gcp) exports `OUTPUTS` in that shape and is listed here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from helixflow.stacks.plan import outputs_aws

PROVIDER_OUTPUTS: Mapping[str, Mapping[str, Callable[[str, Mapping[str, Any]], dict[str, Any]]]] = {
    "aws": outputs_aws.OUTPUTS,
}
PROVIDER_CALLS: Mapping[str, Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    "aws": outputs_aws.CALLS,
}


def resource_outputs(type_: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(id, state) of a planned resource: its inputs, with what the cloud would add on top."""
    table = PROVIDER_OUTPUTS.get(type_.split(":", 1)[0], {})
    added = table[type_](name, inputs) if type_ in table else {}
    resource_id = str(added.pop("id", f"{name}-id"))
    return resource_id, {**inputs, **added}


def call_outputs(token: str, args: Mapping[str, Any]) -> dict[str, Any]:
    table = PROVIDER_CALLS.get(token.split(":", 1)[0], {})
    return table[token](args) if token in table else {}
