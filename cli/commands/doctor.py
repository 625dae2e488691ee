"""`helixflow doctor`: is this machine ready to run HelixFlow?"""

from __future__ import annotations

from enum import StrEnum

import typer

from helixflow.cli.output import out_console, print_json


class Group(StrEnum):
    python = "python"
    engine = "engine"
    services = "services"
    ports = "ports"
    disk = "disk"


STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}


def doctor(
    json_output: bool = typer.Option(False, "--json", help="Print the checks as JSON on stdout."),
    only: list[Group] = typer.Option([], "--only", help="Run only these check groups (repeatable)."),
) -> None:
    """Check every prerequisite (engine, services, ports, disk) and say how to fix what fails."""
    from rich.table import Table

    from helixflow.stacks.prereqs import all_required_ok, run_checks

    results = run_checks([g.value for g in only] or None)
    healthy = all_required_ok(results)
    if json_output:
        print_json({"ok": healthy, "checks": [r.to_dict() for r in results]})
    else:
        table = Table(title="helixflow doctor", show_lines=False)
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
