"""`helixflow backup`, `helixflow backup list` and `helixflow restore`: the runtime database's backups."""

from __future__ import annotations

import sys

import typer

from helixflow.cli.output import err_console, out_console, print_json

STACK_OPTION = typer.Option("local", "--stack", "-s", help="The stack's name (default: local).")
JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON on stdout.")
RETENTION_OPTION = typer.Option(
    30, "--retention-days", help="Delete backups older than this many days after taking one (default 30)."
)

app = typer.Typer(
    help="Back up the stack's runtime database (a compressed pg_dump); `backup list` shows the backups.",
    invoke_without_command=True,
)


@app.callback()
def backup(
    ctx: typer.Context,
    stack: str = STACK_OPTION,
    retention_days: int = RETENTION_OPTION,
    destination: str = typer.Option(
        None,
        "--to",
        help="Also copy it to a bucket, s3://bucket/prefix/ or gs://bucket/prefix/ (the stack's backup folder keeps it "
        "too).",
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """Take a backup of the stack's database now, then prune backups past retention."""
    if ctx.invoked_subcommand is not None:
        return
    from helixflow.stacks.backup import operations
    from helixflow.stacks.backup.model import human_size
    from helixflow.stacks.driver import StackDriver

    with err_console().status(f"backing up stack '{stack}'"):
        info = operations.backup(StackDriver(stack), retention_days=retention_days, destination=destination)
    if json_output:
        print_json({"stack": stack, **info.to_dict(), "pruned": list(info.pruned)})
        return
    if info.kind == "cluster-job":  # the dump was named and sized in the cluster
        err_console().print(f"Backed up stack '{stack}': job {info.name} completed; its dump is under {info.location} "
                            f"(`helixflow backup list -s {stack}`)")  # fmt: skip
    else:
        err_console().print(f"Backed up stack '{stack}': {info.name} ({human_size(info.size_bytes)})")
    if info.pruned:
        err_console().print(f"Deleted {len(info.pruned)} backup(s) older than {retention_days} days")
    typer.echo(info.location)


@app.command("list")
def list_backups(
    stack: str = STACK_OPTION,
    source: str = typer.Option(
        None, "--from", help="List those under a bucket prefix, s3://bucket/prefix/ or gs://bucket/prefix/."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """The stack's backups, newest first, with size and age."""
    from helixflow.stacks.backup import operations
    from helixflow.stacks.backup.model import human_age, human_size
    from helixflow.stacks.driver import StackDriver

    backups = operations.list_backups(StackDriver(stack), source=source)
    if json_output:
        print_json({"stack": stack, "backups": [b.to_dict() for b in backups]})
        return
    if not backups:
        err_console().print(f"stack '{stack}' has no backups yet; take one with `helixflow backup -s {stack}`")
        return
    from rich.table import Table

    table = Table(title=f"backups of {stack}")
    for column in ("backup", "kind", "size", "age", "created"):
        table.add_column(column)
    for b in backups:
        table.add_row(b.name, b.kind, human_size(b.size_bytes), human_age(b.age_seconds()), b.created.isoformat())
    out_console().print(table)


def restore(
    backup_name: str = typer.Argument(
        ...,
        metavar="BACKUP",
        help="A backup from `backup list`, a dump file's path, or s3://bucket/prefix/NAME.dump (or gs://...).",
    ),
    stack: str = STACK_OPTION,
    yes: bool = typer.Option(False, "--yes", "-y", help="Restore even while the gateway is serving."),
    retention_days: int = RETENTION_OPTION,
    json_output: bool = JSON_OPTION,
) -> None:
    """Replace the stack's database with a backup's. The backup is checked first (checksum, every block
    readable); the database as it was is saved as a `pre-restore` backup; the gateway, auth and monitoring
    services stop during the restore and start again after it. On a cluster stack all of it runs as Jobs in
    the cluster, from the backups in the stack's bucket (`backup list`)."""
    from helixflow.cli.progress import EngineProgress
    from helixflow.stacks.backup import operations
    from helixflow.stacks.driver import StackDriver

    confirmed = yes
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Replace every user, key and usage record of stack '{stack}' with {backup_name}'s?", abort=True)
        confirmed = True
    with EngineProgress(f"helixflow restore [{stack}]") as progress:
        summary = operations.restore(StackDriver(stack), backup_name, confirmed=confirmed,
                                     retention_days=retention_days, on_event=progress)  # fmt: skip
    if json_output:
        print_json({"stack": stack, **summary.to_dict()})
        return
    total = sum(summary.seconds.values())
    err_console().print(f"Restored stack '{stack}' from {summary.restored} ({total:.1f}s); the database as it was "
                        f"is kept as {summary.safety_backup}")  # fmt: skip
