#!/usr/bin/env bash
# The test command: lint, type-check, then every test tier, the unit tier first so a broken unit
# fails fast. Run ./scripts/setup.sh first.
#
#   ./scripts/test.sh            # ruff, mypy (strict), the unit tier, then the services and e2e tiers
#   ./scripts/test.sh --unit     # ruff, mypy, the unit tier only (no services or Pulumi CLI needed)
#   ./scripts/test.sh ARGS...    # ruff, mypy, then `pytest ARGS...` (e.g. -m services, -k quota, a file)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
unit_only=0
if [ "${1:-}" = "--unit" ]; then unit_only=1; shift; fi
echo "== ruff" >&2
ruff check .
echo "== mypy (strict)" >&2
./scripts/typecheck.sh
if [ "$unit_only" = 1 ]; then
  echo "== pytest: the unit tier" >&2
  exec pytest -m unit "$@"
fi
if [ $# -gt 0 ]; then
  echo "== pytest $*" >&2
  exec pytest "$@"
fi
echo "== pytest: the unit tier" >&2
pytest -m unit -q
echo "== pytest: the services and e2e tiers" >&2
pytest -m "not unit"
