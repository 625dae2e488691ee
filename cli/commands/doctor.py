"""`helixflow doctor`: is this machine ready to run a stack of HelixFlow?"""

from __future__ import annotations

import typer

from helixflow.cli.output import out_console, print_json

STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def doctor(
    stack: str = typer.Option(
        None, "--stack", "-s", help="Check for this stack's target and settings (default: a local stack's defaults)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON on stdout."),
    only: list[str] = typer.Option(
        [], "--only", help="Run only these check groups (repeatable): python, pulumi, disk, and the target's own "
        "(local: services, ports)."
    ),
) -> None:
    """Check every prerequisite (Pulumi CLI, the target's services and ports, disk) and say how to fix what fails."""
    from rich.table import Table

    from helixflow.stacks.prereqs import COMMON_GROUPS, all_required_ok, run_checks
    from helixflow.stacks.targets import get_target, target_for

    if stack:
        from helixflow.stacks.driver import StackDriver

        config = StackDriver(stack).load_config()
        target = target_for(config)
    else:
        config, target = None, get_target("local")
    common = dict(COMMON_GROUPS)
    disk = common.pop("disk")
    groups = {**common, **target.doctor_checks(config), "disk": disk}
    unknown = sorted(set(only) - set(groups))
    if unknown:
        raise typer.BadParameter(
            f"{', '.join(map(repr, unknown))} is not one of {', '.join(groups)} (target {target.name}'s check groups)",
            param_hint="--only",
        )
    results = run_checks(groups, only or None)
    healthy = all_required_ok(results)
    if json_output:
        print_json({"ok": healthy, "target": target.name, "checks": [r.to_dict() for r in results]})
    else:
        table = Table(title=f"helixflow doctor (target {target.name})", show_lines=False)
        table.add_column("check")
        table.add_column("status")
        table.add_column("found")
        table.add_column("fix")
        for r in results:
            table.add_row(r.name, STYLE[r.status], r.detail, r.hint)
        console = out_console()
        console.print(table)
        verdict = "[green]All required checks passed.[/]" if healthy else "[red]Some required checks failed.[/]"
        console.print(verdict)
    if not healthy:
        raise typer.Exit(1)
