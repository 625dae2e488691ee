"""Where output goes: data on stdout, everything a person reads on stderr."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich.console costs tens of ms: imported only when something is printed
    from rich.console import Console


@cache
def err_console() -> Console:
    """Progress, tables meant for people, warnings and errors."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@cache
def out_console() -> Console:
    """Human-readable results (tables) when --json is not given."""
    from rich.console import Console

    return Console(highlight=False)


def print_json(data: Any) -> None:
    """Data for machines: one JSON document on stdout and nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
