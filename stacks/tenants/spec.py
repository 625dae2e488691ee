"""What a tenant is: its name, plan, quotas and (on a cluster) GPUs and dedicated model; and its stack's name.

A tenant's stack is `<platform>.tenant.<name>`: the platform it belongs to is readable from the name,
`tenant list` finds a platform's tenants by that prefix, and the name stays a valid stack name.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from helixflow.stacks.errors import HelixFlowError

# A DNS label (it names the tenant's namespace on a cluster), short enough to prefix.
TENANT_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
TENANT_INFIX = ".tenant."
STACK_NAME_MAX = 63
INT32 = 2_147_483_647
INT64 = 9_223_372_036_854_775_807

Plan = Literal["free", "standard", "enterprise"]


class Limits(BaseModel):
    """Quotas the runtime enforces; None: the runtime's defaults (unlimited unless configured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    monthly_tokens: int | None = Field(default=None, ge=0, le=INT64)


PLANS: dict[str, Limits] = {
    "free": Limits(requests_per_minute=60, tokens_per_minute=20_000, monthly_tokens=1_000_000),
    "standard": Limits(requests_per_minute=600, tokens_per_minute=200_000, monthly_tokens=100_000_000),
    "enterprise": Limits(),
}


class TenantSpec(BaseModel):
    """One tenant as desired: a plan's limits, each overridable; GPUs and a model for a dedicated pool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=TENANT_NAME_PATTERN)
    plan: Plan = "standard"
    requests_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    monthly_tokens: int | None = Field(default=None, ge=0, le=INT64)
    gpus: int = Field(default=0, ge=0, le=1024)
    model: str | None = Field(default=None, min_length=1, max_length=255)

    def limits(self) -> Limits:
        """The plan's limits with this tenant's own values over them."""
        base = PLANS[self.plan]
        return Limits(
            requests_per_minute=_first(self.requests_per_minute, base.requests_per_minute),
            tokens_per_minute=_first(self.tokens_per_minute, base.tokens_per_minute),
            monthly_tokens=_first(self.monthly_tokens, base.monthly_tokens),
        )

    @property
    def dedicated_pool(self) -> bool:
        return self.model is not None


def _first(own: int | None, plan: int | None) -> int | None:
    return own if own is not None else plan


def describe_errors(err: ValidationError) -> str:
    """Each problem as `where: what` (e.g. `tenants.2.plan: ...`)."""
    parts = []
    for error in err.errors():
        loc = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "string_pattern_mismatch" and error["loc"][-1] == "name":
            message = (
                "a tenant name is 1-32 lowercase letters, digits or '-', starting and ending with a letter or digit"
            )
        elif error["type"] == "extra_forbidden":
            message = f"unknown key (known: {', '.join(TenantSpec.model_fields)})"
        parts.append(f"{loc or 'value'}: {message}")
    return "; ".join(parts)


def make_spec(values: dict[str, Any], where: str = "tenant") -> TenantSpec:
    """A validated spec. Raises HelixFlowError naming every bad value."""
    try:
        return TenantSpec.model_validate(values)
    except ValidationError as err:
        raise HelixFlowError(
            f"invalid {where}: {describe_errors(err)}", hint="see `helixflow tenant create --help`"
        ) from None


def validate_tenant_name(name: str) -> str:
    if not re.fullmatch(TENANT_NAME_PATTERN, name):
        raise HelixFlowError(
            f"invalid tenant name {name!r}",
            hint="use 1-32 lowercase letters, digits or '-', starting and ending with a letter or digit",
        )
    return name


def tenant_stack_name(platform: str, tenant: str) -> str:
    """`<platform>.tenant.<tenant>`. Raises HelixFlowError when the tenant name or the result is invalid."""
    validate_tenant_name(tenant)
    if TENANT_INFIX in platform:
        raise HelixFlowError(f"'{platform}' is a tenant's stack, not a platform's", hint="pass the platform stack")
    name = f"{platform}{TENANT_INFIX}{tenant}"
    if len(name) > STACK_NAME_MAX:
        room = STACK_NAME_MAX - len(platform) - len(TENANT_INFIX)
        raise HelixFlowError(
            f"tenant stack name {name!r} is longer than {STACK_NAME_MAX} characters",
            hint=f"on platform '{platform}' a tenant name has at most {max(room, 0)} characters",
        )
    return name


def tenant_of_stack(platform: str, stack: str) -> str | None:
    """The tenant whose stack this is on that platform, or None."""
    prefix = f"{platform}{TENANT_INFIX}"
    if not stack.startswith(prefix):
        return None
    tenant = stack.removeprefix(prefix)
    return tenant if re.fullmatch(TENANT_NAME_PATTERN, tenant) else None
