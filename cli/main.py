"""The `helixflow` application: every command assembled in one place, and the one error boundary.

Command modules import only typer at module level; Pulumi, cloud SDKs and
FastAPI are imported inside the commands that need them, so `--help` stays fast.
"""

from __future__ import annotations

import os
import sys

import typer

# Typer vendors its own copy of click; its exceptions are what `main()` raises.
from typer._click import exceptions as click_exc

from helixflow.cli import __version__
from helixflow.cli.commands import backup as backup_commands
from helixflow.cli.commands import config as config_commands
from helixflow.cli.commands import sim as sim_commands
from helixflow.cli.commands import stack as stack_commands
from helixflow.cli.commands import tenant as tenant_commands
from helixflow.cli.commands import usage as usage_commands
from helixflow.cli.commands.doctor import doctor
from helixflow.cli.commands.init import init
from helixflow.cli.commands.plan import plan
from helixflow.cli.commands.validate import validate

app = typer.Typer(
    name="helixflow",
    help="Provision and run your own LLM inference platform: on AWS, GCP, a Kubernetes cluster, "
    "or this machine (`local`).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
for verb in stack_commands.COMMANDS:
    app.command()(verb)
app.command()(doctor)
app.command()(plan)
app.command()(validate)
app.add_typer(config_commands.app, name="config")
app.add_typer(sim_commands.app, name="sim")
app.add_typer(tenant_commands.app, name="tenant")
app.add_typer(usage_commands.app, name="usage")
app.add_typer(backup_commands.app, name="backup")
app.command()(backup_commands.restore)
app.command()(init)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"helixflow {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks on errors (or set HELIXFLOW_DEBUG=1)."
    ),
) -> None:
    """HelixFlow command line."""
    # --debug is read from argv by the error boundary in run(), which sees it before any command runs.


def _debug_enabled(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("HELIXFLOW_DEBUG", "") not in ("", "0", "false")


def _fail(message: str, hint: str | None, code: int) -> int:
    line = f"error: {message}"
    if hint:
        line += f" (hint: {hint})"
    sys.stderr.write(line.replace("\n", " ") + "\n")
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and turn every failure into one line on stderr and an exit code.

    Exit codes: 0 success, 1 a HelixFlowError or an unexpected error, 2 a usage
    error, 130 interrupted.
    """
    from helixflow.stacks.errors import HelixFlowError

    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="helixflow", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exit_:
        code = exit_.exit_code
    except click_exc.NoArgsIsHelpError as err:
        assert err.ctx is not None
        typer.echo(err.ctx.get_help())
        code = 0
    except click_exc.UsageError as err:
        hint = "run 'helixflow --help'"
        if err.ctx is not None and err.ctx.command_path != "helixflow":
            hint = f"run '{err.ctx.command_path} --help'"
        code = _fail(err.format_message(), hint, 2)
    except click_exc.ClickException as err:
        code = _fail(err.format_message(), None, err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        code = _fail("interrupted", None, 130)
    except HelixFlowError as err:
        if _debug_enabled(args):
            raise
        code = _fail(err.message, err.hint, 1)
    except Exception as err:  # the boundary: nothing escapes as a traceback unless asked
        if _debug_enabled(args):
            raise
        code = _fail(f"unexpected {type(err).__name__}: {err}", "rerun with --debug for the traceback", 1)
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    run()
