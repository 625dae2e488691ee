#!/usr/bin/env bash
# Install a Python dev tool into its own virtual environment under the cache: the tools whose pins clash with
# requirements.lock, so they never go into .venv. Idempotent: a second run only checks the stamp.
#
#   install-python-tool.sh PACKAGE VERSION EXECUTABLE
#     checkov 3.3.30 checkov   the manifests' and Dockerfiles' static analysis (tests/k8s/test_checkov.py)
#     awscli 1.46.2 aws        the bucket copy commands of the backup and restore pods (tests/backup)
#
# Needs uv (./scripts/setup.sh puts it in .venv): UV=/path/to/uv. Prints the executable on its last line of
# stdout.
set -euo pipefail

PACKAGE="$1" VERSION="$2" EXECUTABLE="$3"
CACHE_ROOT="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
ROOT="$CACHE_ROOT/tools/$PACKAGE-$VERSION"
UV="${UV:-uv}"
PY="${PYTHON:-python3}"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_ROOT/uv}"
# checkov contacts PyPI at start (and stalls offline) unless told not to
export CKV_SKIP_PACKAGE_UPDATE_CHECK=true

source "$(dirname "$0")/lib/tool-cache.sh"
STAMP="$VERSION with bytecode"
BIN="$ROOT/bin/$EXECUTABLE"
if tool_ready_or_locked "$PACKAGE" "$ROOT" "$STAMP" "$BIN"; then exit 0; fi

echo "[$PACKAGE] installing $PACKAGE $VERSION into $ROOT (first time only)" >&2
rm -rf "$ROOT"
"$UV" venv -q --python "$PY" "$ROOT" >&2
# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (CI, containers) each run would otherwise
# compile every module again (checkov's 2,000+: ~10 s of a scan).
"$UV" pip install -q --compile-bytecode --python "$ROOT/bin/python" "$PACKAGE==$VERSION" >&2
"$BIN" --version >&2  # proves the install runs, offline
tool_installed "$PACKAGE" "$ROOT" "$STAMP" "$BIN"
