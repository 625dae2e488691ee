"""Tenant names, their stacks' names, plans and limits."""

from __future__ import annotations

import pytest

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.tenants.spec import PLANS, make_spec, tenant_of_stack, tenant_stack_name


def test_a_tenant_stack_is_named_after_its_platform() -> None:
    assert tenant_stack_name("local", "acme") == "local.tenant.acme"
    assert tenant_of_stack("local", "local.tenant.acme") == "acme"
    assert tenant_of_stack("local", "prod.tenant.acme") is None  # another platform's tenant
    assert tenant_of_stack("local", "local") is None


@pytest.mark.parametrize("name", ["Acme", "-acme", "acme-", "ac_me", "a" * 33, "", "ac.me"])
def test_a_bad_tenant_name_is_refused_with_the_rule(name: str) -> None:
    with pytest.raises(HelixFlowError, match="lowercase letters, digits or '-'"):
        tenant_stack_name("local", name)


def test_a_stack_name_too_long_says_how_long_a_tenant_name_may_be() -> None:
    platform = "p" * 40
    with pytest.raises(HelixFlowError) as err:
        tenant_stack_name(platform, "a" * 20)
    assert err.value.hint == "on platform '" + platform + "' a tenant name has at most 15 characters"
    assert tenant_stack_name(platform, "a" * 15)  # fits exactly: 40 + 8 + 15 = 63


def test_a_tenant_stack_is_not_a_platform() -> None:
    with pytest.raises(HelixFlowError, match="is a tenant's stack"):
        tenant_stack_name("local.tenant.acme", "globex")


def test_a_plan_gives_the_limits_and_own_values_override_them() -> None:
    free = make_spec({"name": "acme", "plan": "free"}).limits()
    assert free == PLANS["free"]
    own = make_spec({"name": "acme", "plan": "free", "requests_per_minute": 5, "monthly_tokens": 0}).limits()
    assert (own.requests_per_minute, own.tokens_per_minute, own.monthly_tokens) == (5, 20_000, 0)
    assert make_spec({"name": "acme", "plan": "enterprise"}).limits().requests_per_minute is None  # unlimited


def test_bad_values_are_named_each() -> None:
    with pytest.raises(HelixFlowError) as err:
        make_spec({"name": "acme", "plan": "gold", "requests_per_minute": -1, "colour": "red"}, where="tenant 'acme'")
    message = err.value.message
    assert message.startswith("invalid tenant 'acme': ")
    assert "plan: Input should be 'free', 'standard' or 'enterprise'" in message
    assert "requests_per_minute: Input should be greater than or equal to 0" in message
    assert "colour: unknown key" in message
