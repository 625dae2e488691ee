"""`helixflow plan`: the resources a stack's program would create, planned offline under Pulumi's mocks."""

from __future__ import annotations

from pathlib import Path

from helixflow.cli.commands.stack import CONFIG_OPTION, JSON_OPTION, STACK_OPTION
from helixflow.cli.output import err_console, out_console, print_json


def plan(
    stack: str | None = STACK_OPTION, config_file: Path | None = CONFIG_OPTION, json_output: bool = JSON_OPTION
) -> None:
    """Show every resource the stack would create (any target), with the settings a review looks for; no cloud,
    credentials or engine needed. --json prints the same tree as data, in a stable order, for CI to diff."""
    import time

    from helixflow.stacks.driver import StackDriver, load_config_file, stack_of_config_file
    from helixflow.stacks.plan import plan_resources
    from helixflow.stacks.plan.render import plan_json, tree_lines

    started = time.perf_counter()
    if config_file is not None:
        name = stack or stack_of_config_file(config_file)
        config = load_config_file(config_file)
    else:
        name = stack or "local"
        config = StackDriver(name).load_config()
    resources = plan_resources(config, stack=name)
    if json_output:
        print_json({"stack": name, "target": config.target, "resources": plan_json(resources)})
        return
    console = out_console()
    for line in tree_lines(resources):
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    created = sum(not r.component for r in resources)
    err_console().print(f"stack '{name}' (target {config.target}): {created} resources in "
                        f"{sum(r.component for r in resources)} components, planned in "
                        f"{time.perf_counter() - started:.1f}s")  # fmt: skip
