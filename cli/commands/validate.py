"""`helixflow validate`: run the checks against a stack (or any endpoint) and render the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from helixflow.cli.output import err_console, out_console, print_json

if TYPE_CHECKING:
    from helixflow.stacks.validate import CheckResult, Options, Report

EXIT_CODES_HELP = (
    "Exit codes: 0 every critical check passed and the success rate (passed / (passed + failed)) is above "
    "--min-success-rate; 3 a critical check failed; 4 the success rate is too low (or no check ran); "
    "1 validation could not run (e.g. the stack is not up); 2 a usage error."
)
COLOURS = {"pass": "green", "fail": "red", "skipped": "yellow"}


def validate(
    stack: str = typer.Option(None, "--stack", "-s", help="The stack to validate (default: local)."),
    url: str = typer.Option(None, "--url", help="Validate this endpoint instead of a stack (needs --api-key)."),
    api_key: str = typer.Option(
        None, "--api-key", envvar="HELIXFLOW_API_KEY", help="API key for --url (or HELIXFLOW_API_KEY)."
    ),
    ca_file: Path = typer.Option(None, "--ca-file", help="CA (PEM) that signed --url's certificate."),
    admin_url: str = typer.Option(
        None, "--admin-url", help="With --url: where the admin API is (default: the --url endpoint itself)."
    ),
    prometheus_url: str = typer.Option(None, "--prometheus-url", help="With --url: Prometheus to inspect."),
    model: str = typer.Option(None, "--model", help="With --url: the model to use (default: the first listed)."),
    checks: list[str] = typer.Option([], "--check", help="Run only this check (repeatable; see --list)."),
    groups: list[str] = typer.Option([], "--group", help="Run only this group (repeatable)."),
    list_checks: bool = typer.Option(False, "--list", help="List the checks and exit."),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="Bound on the whole run, in seconds."),
    requests: int = typer.Option(200, "--requests", min=1, max=100_000, help="Performance: requests per run."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=256, help="Performance: concurrent requests."),
    max_tokens: int = typer.Option(8, "--max-tokens", min=1, max=4096, help="Performance: tokens per request."),
    overhead_p95_ms: float = typer.Option(90.0, "--overhead-p95-ms", min=0, help="Gateway overhead p95 limit."),
    overhead_p99_ms: float = typer.Option(150.0, "--overhead-p99-ms", min=0, help="Gateway overhead p99 limit."),
    latency_p95_ms: float = typer.Option(2000.0, "--latency-p95-ms", min=0, help="End-to-end p95 limit."),
    max_error_rate: float = typer.Option(0.05, "--max-error-rate", min=0, max=100, help="Percent, under load."),
    min_cert_days: int = typer.Option(14, "--min-cert-days", min=0, help="The certificate must last longer."),
    min_success_rate: float = typer.Option(95.0, "--min-success-rate", min=0, max=100, help="Percent."),
    junit: Path = typer.Option(None, "--junit", help="Also write the results as JUnit XML to this file."),
    json_output: bool = typer.Option(False, "--json", help="Print one object per check plus the summary as JSON."),
) -> None:
    """Check a deployed stack: availability, API, security, quotas, observability, data, performance."""
    from helixflow.stacks.validate import Options, deployment_from_stack, deployment_from_url
    from helixflow.stacks.validate import validate as run
    from helixflow.stacks.validate.registry import all_checks, select

    if list_checks:
        _list(select(all_checks(), checks, groups), json_output)
        return
    options = Options(
        timeout=timeout, requests=requests, concurrency=concurrency, max_tokens=max_tokens,
        overhead_p95_ms=overhead_p95_ms, overhead_p99_ms=overhead_p99_ms, max_error_rate=max_error_rate,
        latency_p95_ms=latency_p95_ms, min_cert_days=min_cert_days, min_success_rate=min_success_rate,
    )  # fmt: skip
    select(all_checks(), checks, groups)  # an unknown name fails before anything is contacted
    if url:
        from helixflow.stacks.errors import HelixFlowError

        if stack:
            raise HelixFlowError("--stack and --url exclude each other", hint="validate a stack or an endpoint")
        ca = str(ca_file) if ca_file else None
        deployment = deployment_from_url(url, api_key or "", ca, admin_url, prometheus_url, model)
    else:
        deployment = deployment_from_stack(stack or "local")
    report = run(deployment, options, checks, groups, progress=None if json_output else _progress)
    finish(report, json_output, junit)


def validate_after_up(stack: str, quiet: bool, options: Options | None = None) -> Report:
    """What `helixflow up` runs at its end: every check; unless quiet, progress and the outcome on stderr
    (the failed checks and the summary line; `helixflow validate` shows the whole table)."""
    from helixflow.stacks.validate import deployment_from_stack
    from helixflow.stacks.validate import validate as run

    console = err_console()
    if not quiet:
        console.print(f"Validating stack '{stack}' (skip with --no-validate):")
    report = run(deployment_from_stack(stack), options, progress=None if quiet else _progress)
    if not quiet:
        from rich.markup import escape

        for result in report.results:
            if result.status.value == "fail":
                console.print(f"  [red]failed[/] {result.group}/{result.name}: {escape(result.outcome.explanation)}")
        console.print(f"[{'green' if report.ok else 'red'}]{escape(summary_line(report))}[/]")
    return report


def finish(report: Report, json_output: bool, junit: Path | None) -> None:
    """Render the report, write JUnit if asked, exit with the report's code."""
    if junit is not None:
        from helixflow.stacks.errors import HelixFlowError
        from helixflow.stacks.validate.junit import write_junit

        try:
            write_junit(report, junit)
        except OSError as err:
            raise HelixFlowError(f"cannot write {junit}: {err.strerror}", hint="choose a writable path") from None
    if json_output:
        print_json(report.to_dict())
    else:
        render(report)
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _progress(result: CheckResult) -> None:
    colour = COLOURS[result.status.value]
    err_console().print(f"  [{colour}]{result.status.value:7}[/] {result.group}/{result.name}", highlight=False)


def summary_line(report: Report) -> str:
    s = report.summary()
    rate = "n/a" if s["success_rate"] is None else f"{s['success_rate']:.1f}%"
    return (f"{s['verdict']} | {s['passed']} passed, {s['failed']} failed ({s['critical_failed']} critical), "
            f"{s['skipped']} skipped | success rate {rate} | {s['seconds']:.1f}s")  # fmt: skip


def render(report: Report) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"helixflow validate: {escape(report.target)}")
    for column in ("group", "check", "severity", "result"):
        table.add_column(column, no_wrap=True)
    for column in ("value", "explanation"):
        table.add_column(column, overflow="fold")
    previous = None
    for result in report.results:
        if previous is not None and result.group != previous:
            table.add_section()
        colour = COLOURS[result.status.value]
        table.add_row(
            result.group if result.group != previous else "", result.name,
            "critical" if result.critical else "normal", f"[{colour}]{result.status.value}[/]",
            escape(result.outcome.value), escape(result.outcome.explanation),
        )  # fmt: skip
        previous = result.group
    console = out_console()
    console.print(table)
    colour = "green" if report.ok else "red"
    console.print(f"[{colour}]{escape(summary_line(report))}[/]")


def _list(checks: list[Any], json_output: bool) -> None:
    rows = [{"name": c.name, "group": c.group, "critical": c.critical, "description": c.description} for c in checks]
    if json_output:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title="checks")
    for column in ("group", "check", "severity", "what it checks"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["group"], row["name"], "critical" if row["critical"] else "normal", row["description"])
    out_console().print(table)


validate.__doc__ = f"{validate.__doc__}\n\n{EXIT_CODES_HELP}"
