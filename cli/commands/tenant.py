"""`helixflow tenant ...`: one Pulumi stack per tenant, on a platform stack (-s, default local)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from helixflow.cli.output import err_console, out_console, print_json

if TYPE_CHECKING:
    from helixflow.stacks.tenants.apply import TenantOutcome
    from helixflow.stacks.tenants.driver import TenantRun

app = typer.Typer(help="Tenants of a platform: each its own stack, with quotas and an API key.", no_args_is_help=True)

PLATFORM_OPTION = typer.Option("local", "--stack", "-s", help="The platform stack (default: local).")
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
PLAN_HELP = "free (60 rpm, 20k tpm, 1M tokens a month), standard (600, 200k, 100M) or enterprise (no limits)."


def _flags(plan: str | None, rpm: int | None, tpm: int | None, monthly: int | None, gpus: int | None,
           model: str | None) -> dict[str, Any]:  # fmt: skip
    given = {"plan": plan, "requests_per_minute": rpm, "tokens_per_minute": tpm, "monthly_tokens": monthly,
             "gpus": gpus, "model": model}  # fmt: skip
    return {k: v for k, v in given.items() if v is not None}


def _print_run(run: TenantRun, json_output: bool, verb: str) -> None:
    if json_output:
        print_json(run.to_dict())
        return
    console = err_console()
    console.print(f"[green]Tenant '{run.tenant}' {verb}[/] (stack {run.stack}; {run.seconds:.1f}s)")
    limits = run.outputs.get("limits") or {}
    if limits:
        console.print("Limits: " + ", ".join(f"{k} {'unlimited' if v is None else v}" for k, v in limits.items()))
    if run.api_key:
        console.print("Its API key (shown once, keep it now):")
        out_console().print(run.api_key, markup=False, highlight=False)


def create(
    name: str = typer.Argument(..., help="The tenant's name: lowercase letters, digits and '-'."),
    plan: str = typer.Option("standard", "--plan", help=PLAN_HELP),
    rpm: int = typer.Option(None, "--rpm", help="Requests a minute (overrides the plan's)."),
    tpm: int = typer.Option(None, "--tpm", help="Tokens a minute (overrides the plan's)."),
    monthly_tokens: int = typer.Option(None, "--monthly-tokens", help="Tokens a month (overrides the plan's)."),
    gpus: int = typer.Option(None, "--gpus", help="GPUs the tenant may request (cluster platforms)."),
    model: str = typer.Option(None, "--model", help="A model for a dedicated worker pool (cluster platforms)."),
    platform: str = PLATFORM_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Create a tenant: its stack, its record in the runtime with its quotas, and its first API key (printed once)."""
    from helixflow.cli.progress import EngineProgress
    from helixflow.stacks.errors import HelixFlowError
    from helixflow.stacks.tenants.driver import TenantStack
    from helixflow.stacks.tenants.spec import make_spec

    spec = make_spec({"name": name, **_flags(plan, rpm, tpm, monthly_tokens, gpus, model)}, where=f"tenant {name!r}")
    stack = TenantStack(platform, name)
    if stack.exists():
        raise HelixFlowError(f"tenant {name!r} already exists on platform '{platform}'",
                             hint=f"change it with `helixflow tenant update {name}`")  # fmt: skip
    with EngineProgress(f"helixflow tenant create {name} [{platform}]") as progress:
        run = stack.deploy(spec, on_event=progress)
    _print_run(run, json_output, "created")


def update(
    name: str = typer.Argument(..., help="The tenant's name."),
    plan: str = typer.Option(None, "--plan", help=PLAN_HELP),
    rpm: int = typer.Option(None, "--rpm", help="Requests a minute."),
    tpm: int = typer.Option(None, "--tpm", help="Tokens a minute."),
    monthly_tokens: int = typer.Option(None, "--monthly-tokens", help="Tokens a month."),
    gpus: int = typer.Option(None, "--gpus", help="GPUs the tenant may request (cluster platforms)."),
    model: str = typer.Option(None, "--model", help="A model for a dedicated worker pool (cluster platforms)."),
    platform: str = PLATFORM_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Change a tenant's plan, quotas, GPUs or model; what is not given is kept. Quotas apply within a second."""
    from helixflow.cli.progress import EngineProgress
    from helixflow.stacks.errors import HelixFlowError
    from helixflow.stacks.tenants.driver import TenantStack
    from helixflow.stacks.tenants.spec import make_spec

    stack = TenantStack(platform, name)
    recorded = stack.recorded_spec()
    if not stack.exists():
        raise HelixFlowError(f"no tenant {name!r} on platform '{platform}'",
                             hint=f"create it with `helixflow tenant create {name}`")  # fmt: skip
    base = recorded.model_dump() if recorded else {"name": name}
    spec = make_spec({**base, **_flags(plan, rpm, tpm, monthly_tokens, gpus, model)}, where=f"tenant {name!r}")
    with EngineProgress(f"helixflow tenant update {name} [{platform}]") as progress:
        run = stack.deploy(spec, on_event=progress)
    _print_run(run, json_output, "updated")


def delete(
    name: str = typer.Argument(..., help="The tenant's name."),
    platform: str = PLATFORM_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Delete a tenant: its keys stop working within a second; its usage records are kept (`tenant show`)."""
    from helixflow.cli.progress import EngineProgress
    from helixflow.stacks.tenants.driver import TenantStack

    stack = TenantStack(platform, name)
    if stack.exists():  # an unknown tenant is named as such by destroy, with nothing to confirm
        _confirm([name], yes)
    with EngineProgress(f"helixflow tenant delete {name} [{platform}]") as progress:
        run = stack.destroy(on_event=progress)
    if json_output:
        print_json(run.to_dict())
    else:
        err_console().print(f"[green]Tenant '{name}' deleted[/] (keys revoked, usage kept; {run.seconds:.1f}s)")


def _confirm(names: list[str], yes: bool) -> None:
    from helixflow.stacks.errors import HelixFlowError

    if yes or not names:
        return
    if not sys.stdin.isatty():
        raise HelixFlowError(f"deleting {', '.join(names)} revokes their API keys; nothing was changed",
                             hint="add --yes to confirm")  # fmt: skip
    typer.confirm(f"Delete tenant(s) {', '.join(names)} (their API keys stop working)?", abort=True)


def list_(platform: str = PLATFORM_OPTION, json_output: bool = JSON_OPTION) -> None:
    """The platform's tenants, their plans and limits."""
    from helixflow.stacks.tenants.inventory import list_tenants

    tenants = list_tenants(platform)
    if json_output:
        print_json(tenants)
        return
    from rich.table import Table

    table = Table(title=f"tenants of {platform}")
    for column in ("tenant", "plan", "rpm", "tpm", "monthly tokens", "gpus", "state"):
        table.add_column(column)
    for t in tenants:
        limits = t.get("limits") or {}
        cells = [_limit(limits.get(k)) for k in ("requests_per_minute", "tokens_per_minute", "monthly_tokens")]
        table.add_row(t["tenant"], str(t.get("plan") or "-"), *cells, str(t.get("gpus") or 0), t["state"])
    out_console().print(table)


def _limit(value: Any) -> str:
    return "unlimited" if value is None else str(value)


def show(name: str = typer.Argument(..., help="The tenant's name."), platform: str = PLATFORM_OPTION,
         json_output: bool = JSON_OPTION) -> None:  # fmt: skip
    """A tenant's stack, limits and this month's usage (still reported after it was deleted)."""
    from helixflow.stacks.tenants.inventory import show_tenant

    report = show_tenant(platform, name)
    if json_output:
        print_json(report)
        return
    from rich.table import Table

    table = Table(title=f"tenant {name} ({report['state']})")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key in ("stack", "plan", "tenant_id", "namespace"):
        if report.get(key):
            table.add_row(key, str(report[key]))
    for key, value in (report.get("limits") or {}).items():
        table.add_row(key, _limit(value))
    usage = report.get("usage")
    if usage:
        table.add_row("requests (this month)", str(usage["total_requests"]))
        table.add_row("tokens (this month)", str(usage["total_tokens"]))
        table.add_row("cost (this month)", str(usage["total_cost"]))
    out_console().print(table)


def apply(
    file: Path = typer.Argument(..., help="A tenants YAML file (a `tenants:` list)."),
    platform: str = typer.Option(None, "--stack", "-s", help="The platform stack (default: the file's, else local)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Delete tenants the file no longer lists without asking."),
    parallel: int = typer.Option(None, "--parallel", "-p", min=1, max=64,
                                 help="Tenant stacks run at a time (default: two per CPU core, 2 to 8)."),
    json_output: bool = JSON_OPTION,
) -> None:
    """Make the platform's tenants match the file: create, update and delete (with confirmation or --yes).
    Exits 1 when any tenant failed; the others are still applied."""
    from helixflow.stacks.errors import HelixFlowError
    from helixflow.stacks.tenants.apply import current_plan, default_parallel, execute
    from helixflow.stacks.tenants.manifest import load_manifest

    desired = load_manifest(file)
    if platform and desired.platform and platform != desired.platform:
        raise HelixFlowError(f"{file} is for platform '{desired.platform}', -s names '{platform}'",
                             hint="drop -s, or change the file's `platform:`")  # fmt: skip
    platform = platform or desired.platform or "local"
    plan = current_plan(platform, desired)
    _confirm(list(plan.delete), yes)
    console = err_console()
    console.print(f"Tenants of {platform}: {len(plan.create)} to create, {len(plan.update)} to update, "
                  f"{len(plan.delete)} to delete, {len(plan.unchanged)} unchanged")  # fmt: skip

    def progress(outcome: TenantOutcome) -> None:
        mark = "[green]✓[/]" if outcome.ok else "[red]✗[/]"
        console.print(f"  {mark} {outcome.tenant:<24} {outcome.action:<7} {outcome.seconds:5.1f}s")

    outcomes = execute(platform, plan, parallel or default_parallel(), on_done=progress)
    failed = [o for o in outcomes if not o.ok]
    if json_output:
        print_json({"platform": platform, "ok": not failed, "unchanged": list(plan.unchanged),
                    "results": [o.to_dict() for o in outcomes]})  # fmt: skip
    else:
        _print_outcomes(platform, outcomes)
    if failed:
        raise typer.Exit(1)


def _print_outcomes(platform: str, outcomes: list[TenantOutcome]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"tenant apply on {platform}")
    for column in ("tenant", "action", "result", "seconds", "detail"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        result = "[green]ok[/]" if o.ok else "[red]failed[/]"
        detail = o.error or (f"API key (shown once): {o.run.api_key}" if o.run and o.run.api_key else "")
        table.add_row(o.tenant, o.action, result, f"{o.seconds:.1f}", escape(detail))
    out_console().print(table)


app.command()(create)
app.command("list")(list_)
app.command()(show)
app.command()(update)
app.command()(delete)
app.command()(apply)
