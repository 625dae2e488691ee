#!/usr/bin/env bash
# Build the simulated Kubernetes cluster's binaries and the Pulumi Kubernetes provider from the
# Go module proxy, once per machine, into versioned cache directories.
#
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler (Kubernetes 1.34), kwok
#     -> $CACHE/k8s-sim/<versions>/bin
#   pulumi-resource-kubernetes (the real provider, version = the pulumi-kubernetes Python package's)
#     -> $CACHE/pulumi-kubernetes/<version>/pulumi-resource-kubernetes
#
# A second run only checks the cached binaries. Prints the sim's bin directory, then the provider's
# path, on its last two lines of stdout. Recipe: ../shared/reference/kubernetes-sim.md.
set -euo pipefail

K8S_VERSION="${HELIXFLOW_K8S_VERSION:-1.34.4}"
ETCD_VERSION="${HELIXFLOW_ETCD_VERSION:-3.6.16}"
KWOK_VERSION="${HELIXFLOW_KWOK_VERSION:-0.7.0}"
PROVIDER_VERSION="${HELIXFLOW_PULUMI_KUBERNETES_VERSION:-4.34.2}"
# The only pseudo-version of the provider module the proxy serves, and the versions it builds with.
PROVIDER_MODULE_VERSION="v4.0.0-20260115033456-f47bc2d6f199"
PROVIDER_SDK_VERSION="v4.24.0"
PROVIDER_PULUMI_VERSION="v3.215.0"

CACHE_ROOT="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
SIM="$CACHE_ROOT/k8s-sim/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
PROVIDER_DIR="$CACHE_ROOT/pulumi-kubernetes/$PROVIDER_VERSION"
PROVIDER="$PROVIDER_DIR/pulumi-resource-kubernetes"
SIM_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { echo "[k8s-sim] $*" >&2; }
have_sim() { for b in "${SIM_BINARIES[@]}"; do [ -x "$SIM/bin/$b" ] || return 1; done; }

mkdir -p "$CACHE_ROOT/k8s-sim" "$PROVIDER_DIR"
exec 9>"$CACHE_ROOT/k8s-sim/.build-lock"
flock 9  # two set-ups at once must not build into the same directory

if have_sim && [ -x "$PROVIDER" ]; then
  log "cached at $SIM and $PROVIDER"
  echo "$SIM/bin"; echo "$PROVIDER"; exit 0
fi
command -v go >/dev/null || { echo "error: Go is needed to build the simulated cluster (put go >= 1.24 on PATH)" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:-} -mod=mod" GOSUMDB="${GOSUMDB:-off}" GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$SIM/bin"
build="$CACHE_ROOT/k8s-sim/build"

if [ ! -x "$SIM/bin/etcd" ]; then
  log "building etcd $ETCD_VERSION (~1 min)"
  mkdir -p "$build/etcd" && cd "$build/etcd"
  [ -f go.mod ] || go mod init helixflow.local/etcd >/dev/null 2>&1
  cat > main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
  go mod tidy >&2
  go build -trimpath -ldflags "-s -w" -o "$SIM/bin/etcd.tmp" . >&2 && mv "$SIM/bin/etcd.tmp" "$SIM/bin/etcd"
fi

if [ ! -x "$SIM/bin/kwok" ]; then
  log "building kwok $KWOK_VERSION (~7 min)"
  GOBIN="$SIM/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" >&2
fi

if [ ! -x "$SIM/bin/kube-apiserver" ] || [ ! -x "$SIM/bin/kube-controller-manager" ] || [ ! -x "$SIM/bin/kube-scheduler" ]; then
  log "building kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION (~5 min)"
  mkdir -p "$build/kubernetes" && cd "$build/kubernetes"
  [ -f go.mod ] || go mod init helixflow.local/kubernetes >/dev/null 2>&1
  staging_version="v0.${K8S_VERSION#1.}"
  # k8s.io/kubernetes replaces its staging modules with ../staging paths: pin each to its release.
  for module in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client \
      csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator \
      kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils \
      pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
    go mod edit -replace "k8s.io/$module=k8s.io/$module@$staging_version"
  done
  go mod edit -require "k8s.io/kubernetes@v$K8S_VERSION"
  cat > tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
  go mod tidy -e >&2
  go build -trimpath -ldflags "-s -w" -o "$SIM/bin/" k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler >&2
fi

if [ ! -x "$PROVIDER" ]; then
  log "building pulumi-resource-kubernetes $PROVIDER_VERSION (~7 min)"
  mkdir -p "$build/provider" && cd "$build/provider"
  [ -f go.mod ] || go mod init helixflow.local/pulumi-kubernetes >/dev/null 2>&1
  module="github.com/pulumi/pulumi-kubernetes/provider/v4"
  go mod edit -require "$module@$PROVIDER_MODULE_VERSION" \
    -require "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PROVIDER_SDK_VERSION" \
    -require "github.com/pulumi/pulumi/sdk/v3@$PROVIDER_PULUMI_VERSION" \
    -require "github.com/pulumi/pulumi/pkg/v3@$PROVIDER_PULUMI_VERSION" \
    -replace "github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@$PROVIDER_SDK_VERSION"
  go mod download "$module@$PROVIDER_MODULE_VERSION" >&2
  src=$(go list -m -f '{{.Dir}}' "$module" 2>/dev/null || go mod download -json "$module@$PROVIDER_MODULE_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  cp "$src/cmd/pulumi-resource-kubernetes/main.go" .
  chmod u+w main.go
  # what the provider's generate.go does: the schema with its version, and the mapping, minified
  python3 - "$src/cmd/pulumi-resource-kubernetes" "$PROVIDER_VERSION" <<'EOF'
import json, sys
src, version = sys.argv[1], sys.argv[2]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version
json.dump(schema, open("schema-embed.json", "w"), separators=(",", ":"))
mapping = json.load(open(f"{src}/terraform-mapping.json"))
json.dump(mapping, open("terraform-mapping-embed.json", "w"), separators=(",", ":"))
EOF
  go mod tidy -e >&2
  go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PROVIDER_VERSION" \
    -o "$PROVIDER.tmp" . >&2
  mv "$PROVIDER.tmp" "$PROVIDER"
fi

have_sim || { echo "error: the simulated cluster's binaries were not all built into $SIM/bin" >&2; exit 1; }
log "built into $SIM and $PROVIDER"
echo "$SIM/bin"; echo "$PROVIDER"
