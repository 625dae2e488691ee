"""Reconcile planning: which tenants `tenant apply` creates, updates, deletes and leaves alone."""

from __future__ import annotations

from helixflow.stacks.tenants.reconcile import plan_reconcile
from helixflow.stacks.tenants.spec import TenantSpec


def spec(name: str, **values: object) -> TenantSpec:
    return TenantSpec.model_validate({"name": name, **values})


def test_the_plan_holds_each_set() -> None:
    desired = [spec("new"), spec("same", plan="free"), spec("changed", requests_per_minute=10)]
    deployed = {"same": spec("same", plan="free"), "changed": spec("changed"), "gone": spec("gone")}
    plan = plan_reconcile(desired, deployed)
    assert [s.name for s in plan.create] == ["new"]
    assert [s.name for s in plan.update] == ["changed"]
    assert plan.update[0].requests_per_minute == 10  # the desired spec, not the deployed one
    assert plan.delete == ("gone",)
    assert plan.unchanged == ("same",)
    assert not plan.is_empty


def test_a_tenant_whose_first_run_failed_is_updated_not_assumed_right() -> None:
    plan = plan_reconcile([spec("half")], {"half": None})
    assert [s.name for s in plan.update] == ["half"] and not plan.create


def test_nothing_to_do_and_an_empty_list_deletes_all() -> None:
    assert plan_reconcile([spec("a")], {"a": spec("a")}).is_empty
    assert plan_reconcile([], {"b": spec("b"), "a": spec("a")}).delete == ("a", "b")


def test_the_default_parallelism_is_two_runs_a_core_between_2_and_8() -> None:
    from helixflow.stacks.tenants.apply import default_parallel

    assert [default_parallel(cores) for cores in (1, 2, 3, 16)] == [2, 4, 6, 8]
