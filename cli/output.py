"""Where output goes: data on stdout, everything a person reads on stderr."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any

from rich.console import Console


@cache
def err_console() -> Console:
    """Progress, tables meant for people, warnings and errors."""
    return Console(stderr=True, highlight=False)


@cache
def out_console() -> Console:
    """Human-readable results (tables) when --json is not given."""
    return Console(highlight=False)


def print_json(data: Any) -> None:
    """Data for machines: one JSON document on stdout and nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
