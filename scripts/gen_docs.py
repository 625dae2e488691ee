#!/usr/bin/env python3
"""Writes the configuration reference generated from the stack model: docs/configuration.md and
docs/stack.schema.json. `--check` only says whether they are current (exit 1 when not).

    .venv/bin/python scripts/gen_docs.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

from helixflow.stacks.config.reference import generated

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    stale = []
    for relative, content in generated().items():
        path = ROOT / relative
        if path.exists() and path.read_text() == content:
            continue
        stale.append(relative)
        if "--check" not in argv:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    if "--check" in argv:
        for relative in stale:
            print(f"{relative} is stale: run `.venv/bin/python scripts/gen_docs.py`", file=sys.stderr)
        return 1 if stale else 0
    for relative in stale:
        print(f"wrote {relative}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
