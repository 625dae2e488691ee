#!/usr/bin/env bash
# The test command: lint, type-check, then every test tier. Run ./scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff" >&2
ruff check .
echo "== mypy (strict)" >&2
./scripts/typecheck.sh
echo "== pytest" >&2
pytest "$@"
