#!/usr/bin/env bash
# Install checkov (a dev tool: the manifests' and Dockerfiles' static analysis, tests/k8s/test_checkov.py) into
# its own virtual environment under the cache. It pins dozens of packages of its own that clash with
# requirements.lock, so it never goes into .venv. Idempotent: a second run only checks the version.
#
# Needs uv (./scripts/setup.sh puts it in .venv): UV=/path/to/uv. Prints the checkov executable on its
# last line of stdout.
set -euo pipefail

CHECKOV_VERSION="${HELIXFLOW_CHECKOV_VERSION:-3.3.30}"
CACHE_ROOT="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
ROOT="$CACHE_ROOT/tools/checkov-$CHECKOV_VERSION"
UV="${UV:-uv}"
PY="${PYTHON:-python3}"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_ROOT/uv}"

log() { echo "[checkov] $*" >&2; }
STAMP="$CHECKOV_VERSION with bytecode"
installed() { [ "$(cat "$ROOT/.installed" 2>/dev/null)" = "$STAMP" ] && [ -x "$ROOT/bin/checkov" ]; }

if installed; then
  log "cached checkov $CHECKOV_VERSION at $ROOT"
  echo "$ROOT/bin/checkov"
  exit 0
fi

# Two set-ups at once must not install into the same directory.
mkdir -p "$CACHE_ROOT/tools"
exec 9>"$CACHE_ROOT/tools/.checkov-lock"
flock 9
if installed; then echo "$ROOT/bin/checkov"; exit 0; fi

log "installing checkov $CHECKOV_VERSION into $ROOT (first time only, ~1 min)"
rm -rf "$ROOT"
"$UV" venv -q --python "$PY" "$ROOT" >&2
# Bytecode compiled at install: with PYTHONDONTWRITEBYTECODE set (CI, containers) each run would otherwise
# compile its 2,000+ modules again (~10 s of a scan).
"$UV" pip install -q --compile-bytecode --python "$ROOT/bin/python" "checkov==$CHECKOV_VERSION" >&2
# The version check contacts PyPI at start (and stalls offline): this proves the install runs offline.
CKV_SKIP_PACKAGE_UPDATE_CHECK=true "$ROOT/bin/checkov" --version >&2
echo "$STAMP" > "$ROOT/.installed"
log "installed checkov $CHECKOV_VERSION at $ROOT"
echo "$ROOT/bin/checkov"
