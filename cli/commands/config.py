"""`helixflow config`: read, change and describe a stack's configuration."""

from __future__ import annotations

import typer

from helixflow.cli.output import out_console, print_json

app = typer.Typer(help="A stack's configuration (Pulumi.<stack>.yaml, namespace helixflow:).", no_args_is_help=True)
STACK_OPTION = typer.Option("local", "--stack", "-s", help="The stack's name (default: local).")


@app.command("show")
def show(stack: str = STACK_OPTION, json_output: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The stack's effective configuration, defaults included (secrets are never shown)."""
    from helixflow.stacks.driver import StackDriver

    config = StackDriver(stack).load_config()
    if json_output:
        print_json(config.model_dump())
    else:
        import yaml

        out_console().print(yaml.safe_dump(config.model_dump(), sort_keys=False).rstrip(), markup=False)


@app.command("set")
def set_value(
    key: str = typer.Argument(..., help="A setting, dotted for nested ones, e.g. local.workers or local.ports.https."),
    value: str = typer.Argument(..., help="Its new value."),
    stack: str = STACK_OPTION,
) -> None:
    """Change one setting. It is validated first; an invalid value changes nothing."""
    from helixflow.cli.output import err_console
    from helixflow.stacks.driver import StackDriver

    StackDriver(stack).set_config(key, value)
    err_console().print(f"set helixflow:{key} on stack '{stack}'; run `helixflow up` to apply it")


@app.command("schema")
def schema() -> None:
    """The configuration's JSON Schema (generated from the model)."""
    from helixflow.stacks.config import json_schema

    print_json(json_schema())
