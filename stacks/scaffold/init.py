"""The Python API behind `helixflow init`."""

from __future__ import annotations

from pathlib import Path

from helixflow.stacks.paths import StackPaths
from helixflow.stacks.scaffold.catalog import Value, load_template
from helixflow.stacks.scaffold.render import Ask, ScaffoldedStack, render, resolve_values, write


def scaffold(
    template_name: str,
    *,
    stack: str | None = None,
    values: dict[str, Value | None] | None = None,
    ask: Ask | None = None,
    directory: Path | None = None,
    force: bool = False,
) -> list[ScaffoldedStack]:
    """Writes the stack configuration(s) of a template (default directory: where `helixflow up` reads them).
    `ask` is called for each value not given, on a terminal; without it, a missing required value fails.
    Raises HelixFlowError, having written nothing, for an unknown template, a missing or invalid value, or an
    existing file without force."""
    template = load_template(template_name)
    stack_name = stack or template_name
    resolved = resolve_values(template, values or {}, ask)
    target_dir = directory if directory is not None else StackPaths.for_stack(stack_name).project_dir
    stacks = render(template, stack_name, resolved, target_dir)
    write(template, stacks, force)
    return stacks
