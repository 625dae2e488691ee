"""`helixflow plan`: the resources a stack's program would create, planned offline under Pulumi's mocks,
checked by the policy pack, and (with --cost) priced per month."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from helixflow.cli.commands.stack import CONFIG_OPTION, JSON_OPTION, STACK_OPTION
from helixflow.cli.output import err_console, out_console, print_json

COST_OPTION = typer.Option(False, "--cost", help="Price every resource per month (aws and gcp stacks).")
PRICES_OPTION = typer.Option(None, "--prices", help="Your price file (negotiated prices) over the shipped table.")
DIFF_OPTION = typer.Option(None, "--diff", help="A saved `plan --json` to compare the cost with (implies --cost).")
FAIL_OVER_OPTION = typer.Option(
    None, "--fail-over", min=0, help="With --diff: exit 5 when the monthly total grows more than this percent."
)


def plan(
    stack: str | None = STACK_OPTION, config_file: Path | None = CONFIG_OPTION, json_output: bool = JSON_OPTION,
    cost: bool = COST_OPTION, prices: Path | None = PRICES_OPTION, diff_file: Path | None = DIFF_OPTION,
    fail_over: float | None = FAIL_OVER_OPTION,
) -> None:  # fmt: skip
    """Show every resource the stack would create (any target), with the settings a review looks for, and check
    it against the policy pack (a mandatory violation exits 1); no cloud, credentials or engine needed. --json
    prints the same tree as data, in a stable order, for CI to diff."""
    import time

    from helixflow.stacks.cost.diff import diff, fail_over_exit_code
    from helixflow.stacks.cost.render import render_diff, render_diff_json, render_report
    from helixflow.stacks.cost.stack import estimate_stack
    from helixflow.stacks.driver import StackDriver, load_config_file, stack_of_config_file
    from helixflow.stacks.errors import HelixFlowError
    from helixflow.stacks.plan import plan_resources
    from helixflow.stacks.plan.render import plan_json, tree_lines
    from helixflow.stacks.policy.evaluate import enforce, evaluate
    from helixflow.stacks.policy.render import render_policy

    if fail_over is not None and diff_file is None:
        raise HelixFlowError("--fail-over needs --diff", hint="pass the saved plan: --diff OLD.json")
    saved = _saved_plan(diff_file) if diff_file else None
    started = time.perf_counter()
    if config_file is not None:
        name = stack or stack_of_config_file(config_file)
        config = load_config_file(config_file)
    else:
        name = stack or "local"
        config = StackDriver(name).load_config()
    resources = plan_resources(config, stack=name)
    policy = evaluate(resources, config.policy)
    report = estimate_stack(resources, config, prices) if cost or diff_file else None
    change = diff(saved, report) if saved is not None and report is not None else None
    if json_output:
        document: dict[str, Any] = {"stack": name, "target": config.target, "resources": plan_json(resources),
                                    "policy": policy.to_json()}  # fmt: skip
        if report is not None:
            document["cost"] = report.to_json()
        if change is not None:
            document["cost_diff"] = json.loads(render_diff_json(change))
        print_json(document)
    else:
        console = out_console()
        for line in tree_lines(resources):
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        if policy.violations:
            console.print(render_policy(policy))
        if report is not None:
            console.print(render_report(report))
        if change is not None:
            console.print(render_diff(change))
        created = sum(not r.component for r in resources)
        err_console().print(f"stack '{name}' (target {config.target}): {created} resources in "
                            f"{sum(r.component for r in resources)} components, planned in "
                            f"{time.perf_counter() - started:.1f}s")  # fmt: skip
    enforce(policy)  # after printing: the reviewer sees the whole plan and every finding
    if change is not None:
        code = fail_over_exit_code(change, fail_over)
        if code:
            err_console().print(f"the monthly cost grows more than {fail_over}%")
            raise typer.Exit(code)


def _saved_plan(path: Path) -> dict[str, Any]:
    from helixflow.stacks.errors import HelixFlowError

    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise HelixFlowError(f"cannot read the saved plan {path}: {err}",
                             hint="save one with `helixflow plan --cost --json > plan.json`") from None  # fmt: skip
    if not isinstance(document, dict):
        raise HelixFlowError(f"{path} is not a saved plan", hint="save one with `helixflow plan --cost --json`")
    return document

