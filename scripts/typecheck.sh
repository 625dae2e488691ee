#!/usr/bin/env bash
# mypy (strict) over the helixflow packages. The source folders install as
# helixflow.<folder> through an editable-install import hook that mypy cannot
# follow, so mypy reads them through a tree of links named as installed.
set -euo pipefail
cd "$(dirname "$0")/.."
tree=.typecheck/helixflow
mkdir -p "$tree"
for pkg in cli stacks components runtime; do ln -sfn "../../$pkg" "$tree/$pkg"; done
MYPYPATH=.typecheck exec "${MYPY:-.venv/bin/mypy}" --no-incremental -p helixflow "$@"
