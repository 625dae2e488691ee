#!/usr/bin/env bash
# Get a Pulumi CLI without the internet installer.
#
# A `pulumi` >= 3 already on PATH is used as it is. Otherwise the CLI is built
# from the Go module proxy into a versioned cache directory, with its version
# set at link time (the Automation API refuses a CLI that prints no version),
# and the Python dynamic-provider shim is installed beside it. The build runs
# once per machine; later runs only check the cached binary.
#
# Prints the directory holding bin/pulumi on its last line of stdout.
set -euo pipefail

PULUMI_VERSION="${HELIXFLOW_PULUMI_VERSION:-v3.274.1}"
CACHE_ROOT="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
ROOT="$CACHE_ROOT/pulumi/$PULUMI_VERSION"
SHIM=pulumi-resource-pulumi-python

log() { echo "[pulumi] $*" >&2; }

# The SDK's shim runs python as a child of sh: when the engine stops the plugin it kills sh and
# leaves python behind (seen after Ctrl-C). Exec'ing python makes it the plugin process itself.
exec_shim() { sed -i -E 's/^([[:space:]]*)("[^"]*" -u -m pulumi\.dynamic )/\1exec \2/' "$1"; }

have_shim_beside() { [ -x "$(dirname "$1")/$SHIM" ] || command -v "$SHIM" >/dev/null 2>&1; }

if existing=$(command -v pulumi 2>/dev/null) && [ "$(readlink -f "$existing")" != "$(readlink -f "$ROOT/bin/pulumi")" ]; then
  ver=$("$existing" version 2>/dev/null || true)
  if [[ "$ver" =~ ^v3\. ]] && have_shim_beside "$existing"; then
    log "using $existing ($ver) already on PATH"
    dirname "$(dirname "$(readlink -f "$existing")")"
    exit 0
  fi
fi

if [ -x "$ROOT/bin/pulumi" ] && [ -x "$ROOT/bin/$SHIM" ] \
   && [ "$("$ROOT/bin/pulumi" version 2>/dev/null)" = "$PULUMI_VERSION" ]; then
  exec_shim "$ROOT/bin/$SHIM"  # idempotent; also mends a shim cached before this fix
  log "cached engine $PULUMI_VERSION at $ROOT"
  echo "$ROOT"
  exit 0
fi

# Two set-ups at once must not build into the same directory.
mkdir -p "$CACHE_ROOT/pulumi"
exec 9>"$CACHE_ROOT/pulumi/.build-lock"
flock 9
if [ -x "$ROOT/bin/pulumi" ] && [ "$("$ROOT/bin/pulumi" version 2>/dev/null)" = "$PULUMI_VERSION" ] && [ -x "$ROOT/bin/$SHIM" ]; then
  echo "$ROOT"; exit 0
fi

command -v go >/dev/null || { echo "error: Go is needed to build the Pulumi CLI (apt-get install golang-go, or put go on PATH)" >&2; exit 1; }

log "building pulumi $PULUMI_VERSION from the Go module proxy (first time only, several minutes)"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOSUMDB="${GOSUMDB:-off}"
export GOTOOLCHAIN=local
work="$CACHE_ROOT/pulumi/build-$PULUMI_VERSION"
mkdir -p "$work" "$ROOT/bin"
cd "$work"
[ -f go.mod ] || go mod init helixflow.local/pulumi-build >/dev/null 2>&1
cat > tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF
go get "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" >&2
CGO_ENABLED=0 go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
  -o "$ROOT/bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
mv "$ROOT/bin/pulumi.tmp" "$ROOT/bin/pulumi"

sdkdir=$(go list -m -f '{{.Dir}}' "github.com/pulumi/pulumi/sdk/v3")
install -m755 "$sdkdir/python/dist/$SHIM" "$ROOT/bin/$SHIM"
exec_shim "$ROOT/bin/$SHIM"
log "built $("$ROOT/bin/pulumi" version) at $ROOT"
echo "$ROOT"
