"""Stack verbs: up, preview, down, status, outputs, logs, refresh."""

from __future__ import annotations

import json
import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from helixflow.cli.output import err_console, out_console, print_json

if TYPE_CHECKING:
    from helixflow.stacks.driver import RunSummary, StackDriver

STACK_OPTION = typer.Option(
    None, "--stack", "-s", help="The stack's name (default: local, or the <stack> of --config's Pulumi.<stack>.yaml)."
)
CONFIG_OPTION = typer.Option(
    None, "--config", exists=True, dir_okay=False, readable=True,
    help="Take the settings from this Pulumi.<stack>.yaml (e.g. a checked-in one) instead of the stack's own.",
)
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout.")


def _driver(stack: str | None, config_file: Path | None = None) -> StackDriver:
    from helixflow.stacks.driver import StackDriver, stack_of_config_file

    if stack is None:
        stack = stack_of_config_file(config_file) if config_file is not None else "local"
    return StackDriver(stack, config_file=config_file)


def _changes(summary: RunSummary) -> str:
    parts = [f"{n} {op}" for op, n in sorted(summary.changes.items()) if op != "same" and n]
    unchanged = summary.changes.get("same", 0)
    if unchanged:
        parts.append(f"{unchanged} unchanged")
    return ", ".join(parts) or "no changes"


def _summary_json(stack: str, summary: RunSummary) -> dict[str, Any]:
    return {
        "stack": stack,
        "result": summary.result,
        "changes": summary.changes,
        "seconds": round(summary.seconds, 2),
        "outputs": summary.outputs,
    }


def curl_example(outputs: dict[str, Any], stack: str) -> str:
    body = {"model": outputs.get("model", ""), "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 16}
    key = "$(helixflow outputs admin_api_key --show-secrets" + ("" if stack == "local" else f" -s {stack}") + ")"
    return (
        f"curl --cacert {shlex.quote(str(outputs.get('ca_file', '')))} "
        f"{outputs.get('endpoint', '')}/v1/chat/completions \\\n"
        f'  -H "Authorization: Bearer {key}" -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(json.dumps(body))}"
    )


def up(
    stack: str | None = STACK_OPTION,
    config_file: Path | None = CONFIG_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    no_validate: bool = typer.Option(False, "--no-validate", help="Skip `helixflow validate` after the stack is up."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Create or update the stack (default `local`: the whole platform on this machine), then validate it
    (exit codes as `helixflow validate`'s unless --no-validate)."""
    from helixflow.cli.commands.validate import validate_after_up
    from helixflow.cli.progress import EngineProgress

    driver = _driver(stack, config_file)
    stack = driver.name
    config = driver.load_config()  # a bad value fails here, before anything starts
    if not yes and sys.stdin.isatty() and not driver.exists():
        typer.confirm(f"Create stack '{stack}' (target {config.target}) on this machine?", abort=True)
    with EngineProgress(f"helixflow up [{stack}]") as progress:
        summary = driver.up(on_event=progress)
    if not json_output:
        _print_up(stack, summary)
    reachable = bool(summary.outputs.get("endpoint"))  # a stack without an endpoint has nothing to call from here
    report = None if no_validate or not reachable else validate_after_up(stack, quiet=json_output)
    if json_output:
        print_json({**_summary_json(stack, summary), **({"validation": report.to_dict()} if report else {})})
    if report is not None and report.exit_code:
        raise typer.Exit(report.exit_code)


def _print_up(stack: str, summary: RunSummary) -> None:
    console = err_console()
    console.print(f"[green]Stack '{stack}' is up[/] ({_changes(summary)}; {summary.seconds:.1f}s)")
    outputs = summary.outputs
    if not outputs.get("endpoint"):
        console.print(f"The gateway is the cluster Service {outputs.get('gateway_service')} (no public endpoint; "
                      "`helixflow status` shows every workload)")  # fmt: skip
        return
    console.print(f"Endpoint: [bold]{outputs.get('endpoint')}[/]  (CA: {outputs.get('ca_file')})")
    console.print("Try it:")
    out_console().print(curl_example(outputs, stack), soft_wrap=True, highlight=False, markup=False)


def preview(
    stack: str | None = STACK_OPTION, config_file: Path | None = CONFIG_OPTION, json_output: bool = JSON_OPTION
) -> None:
    """Show what `up` would change, without changing anything."""
    driver = _driver(stack, config_file)
    stack = driver.name
    summary = driver.preview()
    if json_output:
        print_json({"stack": stack, "changes": summary.changes})
    else:
        out_console().print(f"Stack '{stack}': {_changes(summary)}")


def down(
    stack: str | None = STACK_OPTION,
    config_file: Path | None = CONFIG_OPTION,
    purge_data: bool = typer.Option(False, "--purge-data", help="Also delete the databases' data (asks first)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Stop and remove the stack's components. Data is kept unless --purge-data."""
    from helixflow.cli.progress import EngineProgress

    driver = _driver(stack, config_file)
    stack = driver.name
    if purge_data and not yes:
        if not sys.stdin.isatty():
            from helixflow.stacks.errors import HelixFlowError

            raise HelixFlowError("--purge-data deletes every user, key and usage record", hint="add --yes to confirm")
        typer.confirm(f"Delete all data of stack '{stack}' (users, keys, usage)?", abort=True)
    with EngineProgress(f"helixflow down [{stack}]") as progress:
        summary = driver.down(purge_data=purge_data, on_event=progress)
    if json_output:
        print_json({**_summary_json(stack, summary), "purged": purge_data})
    else:
        kept = "data deleted" if purge_data else "data kept; `helixflow up` brings it back"
        err_console().print(f"Stack '{stack}' is down ({_changes(summary)}; {summary.seconds:.1f}s; {kept})")


def refresh(
    stack: str | None = STACK_OPTION, config_file: Path | None = CONFIG_OPTION, json_output: bool = JSON_OPTION
) -> None:
    """Bring the stack's state in line with what actually runs."""
    driver = _driver(stack, config_file)
    stack = driver.name
    summary = driver.refresh()
    if json_output:
        print_json(_summary_json(stack, summary))
    else:
        err_console().print(f"Stack '{stack}' refreshed ({_changes(summary)}; {summary.seconds:.1f}s)")


def status(
    stack: str | None = STACK_OPTION, config_file: Path | None = CONFIG_OPTION, json_output: bool = JSON_OPTION
) -> None:
    """Each component's health. Exits 1 when any component is not healthy."""
    driver = _driver(stack, config_file)
    stack = driver.name
    statuses = driver.status()
    healthy = bool(statuses) and all(s.state == "healthy" for s in statuses)
    if json_output:
        print_json({"stack": stack, "healthy": healthy, "components": [s.to_dict() for s in statuses]})
    else:
        from rich.table import Table

        columns = driver.target().status_columns
        table = Table(title=f"stack {stack}")
        for column in ("component", "kind", *columns, "state"):
            table.add_column(column)
        colour = {"healthy": "green", "unhealthy": "yellow", "pending": "yellow", "down": "red"}
        for s in statuses:
            cells = [str(s.details.get(c) or "-") for c in columns]
            table.add_row(s.name, s.kind, *cells, f"[{colour[s.state]}]{s.state}[/]")
        out_console().print(table)
    if not healthy:
        raise typer.Exit(1)


def outputs(
    name: str = typer.Argument(None, help="Print only this output's value."),
    stack: str | None = STACK_OPTION,
    config_file: Path | None = CONFIG_OPTION,
    show_secrets: bool = typer.Option(False, "--show-secrets", help="Show secret values (the admin API key)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """The stack's outputs: endpoint, CA file, admin API key (with --show-secrets)."""
    from helixflow.stacks.errors import HelixFlowError

    driver = _driver(stack, config_file)
    stack = driver.name
    values = driver.outputs(show_secrets=show_secrets)
    if name is not None:
        if name not in values:
            raise HelixFlowError(f"stack '{stack}' has no output {name!r}", hint=f"one of: {', '.join(sorted(values))}")
        value = values[name]
        if json_output:
            print_json(value)
        else:
            typer.echo(value if isinstance(value, str) else json.dumps(value))
        return
    if json_output:
        print_json(values)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"outputs of {stack}")
    table.add_column("name")
    table.add_column("value", overflow="fold")
    for key, value in sorted(values.items()):
        if key != "components":
            table.add_row(key, escape(str(value)))
    out_console().print(table)


def logs(
    component: str = typer.Argument(..., help="A component, e.g. gateway, router, worker-0, postgres."),
    stack: str | None = STACK_OPTION,
    config_file: Path | None = CONFIG_OPTION,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
    lines: int = typer.Option(50, "--lines", "-n", min=0, help="How many lines from the end."),
) -> None:
    """Print a component's log."""
    from helixflow.stacks.errors import HelixFlowError

    driver = _driver(stack, config_file)
    stack = driver.name
    target = driver.target()
    log_file = target.log_file(driver.paths, component)
    if not log_file.exists():
        known = target.log_components(driver.paths)
        raise HelixFlowError(
            f"no log for component {component!r} in stack '{stack}'",
            hint=f"one of: {', '.join(known)}" if known else "run `helixflow up` first",
        )
    _tail(log_file, lines, follow)


def _tail(path: Path, lines: int, follow: bool) -> None:
    with path.open("r", errors="replace") as handle:
        for line in handle.readlines()[-lines:] if lines else []:
            sys.stdout.write(line)
        sys.stdout.flush()
        while follow:
            line = handle.readline()
            if line:
                sys.stdout.write(line)
                sys.stdout.flush()
            else:
                time.sleep(0.2)


def targets(json_output: bool = JSON_OPTION) -> None:
    """Every target: what it deploys, whether it is available (and why not), what it does not support."""
    from helixflow.stacks.targets import all_targets

    infos = all_targets()
    if json_output:
        print_json([info.to_dict() for info in infos])
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="targets", show_lines=True)
    for column in ("target", "available", "description", "not supported"):
        table.add_column(column, overflow="fold")
    for info in infos:
        available = "[green]yes[/]" if info.available else f"[yellow]no[/]: {escape(info.unavailable_reason)}"
        unsupported = "\n".join(f"{feature}: {why}" for feature, why in info.unsupported.items()) or "-"
        table.add_row(info.name, available, escape(info.description), escape(unsupported))
    out_console().print(table)


COMMANDS = (up, preview, down, status, outputs, logs, refresh, targets)
