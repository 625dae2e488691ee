#!/usr/bin/env bash
# Build fake-gcs-server (a dev tool: a Google Cloud Storage JSON API server on 127.0.0.1 for the gs:// backup
# tests, tests/backup/test_gcs_bucket_backup.py) from the Go module proxy, once per machine, into a versioned
# cache directory. Idempotent: a second run only checks the cached binary. Needs Go (>= 1.24) on PATH.
#
# Prints the binary's path on its last line of stdout.
set -euo pipefail

VERSION="${HELIXFLOW_FAKE_GCS_SERVER_VERSION:-1.56.1}"
CACHE_ROOT="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
ROOT="$CACHE_ROOT/tools/fake-gcs-server-$VERSION"
BIN="$ROOT/fake-gcs-server"

source "$(dirname "$0")/lib/tool-cache.sh"
if tool_ready_or_locked fake-gcs-server "$ROOT" "$VERSION" "$BIN"; then exit 0; fi

command -v go >/dev/null || { echo "error: Go is needed to build fake-gcs-server (put go >= 1.24 on PATH)" >&2; exit 1; }
echo "[fake-gcs-server] building $VERSION into $ROOT (first time only, ~1-2 min)" >&2
rm -rf "$ROOT"
mkdir -p "$ROOT"
GOBIN="$ROOT" GOFLAGS="${GOFLAGS:-} -mod=mod" GOSUMDB="${GOSUMDB:-off}" GOTOOLCHAIN=local CGO_ENABLED=0 \
  go install -trimpath -ldflags "-s -w" "github.com/fsouza/fake-gcs-server@v$VERSION" >&2
"$BIN" -help >/dev/null 2>&1 || [ $? -eq 2 ]  # flag's usage exits 2: it runs
tool_installed fake-gcs-server "$ROOT" "$VERSION" "$BIN"
