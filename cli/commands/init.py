"""`helixflow init [TEMPLATE]`: scaffold a stack configuration from a template."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from helixflow.cli.output import err_console, print_json

if TYPE_CHECKING:
    from helixflow.stacks.scaffold.catalog import Parameter, Value

TEMPLATES = "local, kubernetes, aws-gpu, gcp-gpu, multi-cloud"


def init(
    template: str = typer.Argument("local", help=f"The template: {TEMPLATES}."),
    stack: str = typer.Option(None, "--stack", "-s", help="The stack's name (default: the template's)."),
    aws_region: str = typer.Option(None, "--aws-region", help="aws-gpu, multi-cloud: the AWS region."),
    gcp_project: str = typer.Option(None, "--gcp-project", help="gcp-gpu, multi-cloud: the GCP project id."),
    gcp_region: str = typer.Option(None, "--gcp-region", help="gcp-gpu, multi-cloud: the GCP region."),
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="kubernetes: the kubeconfig file."),
    context: str = typer.Option(None, "--context", help="kubernetes: the kubeconfig context."),
    workers: str = typer.Option(None, "--workers", help="local, kubernetes: how many inference workers."),
    gpus_per_worker: str = typer.Option(None, "--gpus-per-worker", help="kubernetes: GPUs per SGLang worker."),
    model: str = typer.Option(None, "--model", help="kubernetes: the model (a Hugging Face id)."),
    directory: Path = typer.Option(None, "--dir", help="Where to write it (default: where `helixflow up` reads it)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing stack configuration."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt, even on a terminal."),
    json_output: bool = typer.Option(False, "--json", help="Print what was written as JSON on stdout."),
) -> None:
    """Write a stack configuration (Pulumi.<stack>.yaml) from a template, validated before it is written.
    On a terminal it asks for each value not given as a flag; otherwise a missing required value fails,
    naming its flag."""
    from helixflow.stacks.scaffold.init import scaffold

    values: dict[str, Value | None] = {
        "aws_region": aws_region, "gcp_project": gcp_project, "gcp_region": gcp_region, "kubeconfig": kubeconfig,
        "context": context, "workers": workers, "gpus_per_worker": gpus_per_worker, "model": model,
    }  # fmt: skip
    interactive = sys.stdin.isatty() and not no_input
    written = scaffold(template, stack=stack, values=values, ask=_prompt if interactive else None,
                       directory=directory, force=force)  # fmt: skip
    if json_output:
        print_json([{"stack": s.name, "target": s.target, "path": str(s.path), **s.document} for s in written])
        return
    for s in written:
        err_console().print(f"Wrote {s.path} (stack '{s.name}', target {s.target})")
    if directory is None:
        err_console().print("Next: " + " ; ".join(f"helixflow up -s {s.name}" for s in written))


def _prompt(name: str, parameter: Parameter) -> Value:
    default = parameter.default
    answer: Value = typer.prompt(parameter.prompt, default="" if default is None else str(default),
                                 show_default=default not in (None, ""))  # fmt: skip
    return answer
