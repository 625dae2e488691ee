#!/usr/bin/env bash
# One command to set HelixFlow up on a fresh Debian machine. Idempotent: a second
# run on a machine already set up only checks what is there.
#
#   ./scripts/setup.sh            # OS packages, .venv, helixflow[dev,cpu], checkov, AWS CLI, fake-gcs-server,
#                                 # Pulumi CLI, simulated cluster, tiny model
#
# Environment:
#   HELIXFLOW_SKIP_APT=1     never call apt-get (report what is missing instead)
#   HELIXFLOW_CACHE=DIR      where built artefacts are cached (default ~/.cache/helixflow)
#   HELIXFLOW_VENV=DIR       the virtual environment (default ./.venv)
#   HELIXFLOW_SKIP_K8S_SIM=1 do not build the simulated Kubernetes cluster (the kubernetes target's tests need it)
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
CACHE="${HELIXFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/helixflow}"
VENV="${HELIXFLOW_VENV:-$REPO/.venv}"
PY="${PYTHON:-python3}"
started=$(date +%s)
done_steps=()

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
step_done() { done_steps+=("$1"); }

# --- 1. operating-system packages ---------------------------------------------
# binary -> Debian package that provides it
declare -A NEEDED=(
  [/usr/lib/postgresql/15/bin/postgres]=postgresql
  [redis-server]=redis-server
  [nginx]=nginx
  [prometheus]=prometheus
  [promtool]=prometheus
  [cmake]=cmake
  [ninja]=ninja-build
  [g++]=g++
  [openssl]=openssl
)
have_pg() { ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; }
missing=()
for bin in "${!NEEDED[@]}"; do
  if [[ "$bin" == /usr/lib/postgresql/* ]]; then have_pg && continue
  else command -v "$bin" >/dev/null 2>&1 && continue; fi
  missing+=("${NEEDED[$bin]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "${HELIXFLOW_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing OS packages: ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >&2
    # --no-install-recommends: the prometheus package would pull node-exporter and
    # enable services; HelixFlow starts its own processes.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    step_done "installed OS packages: ${missing[*]}"
  else
    echo "error: missing OS packages: ${missing[*]}" >&2
    echo "hint: install them with your package manager (PostgreSQL >= 15, Redis >= 7, nginx, Prometheus, cmake, ninja, g++)" >&2
    exit 1
  fi
else
  step_done "OS packages already present"
fi

# --- 2. virtual environment -----------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  "$PY" -m venv "$VENV"
  step_done "created $VENV"
fi
if [ ! -x "$VENV/bin/uv" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==0.9.*" >&2
fi
UV="$VENV/bin/uv"
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE/uv}"

# --- 3. the CPU engine, built once as a portable wheel --------------------------
LLAMA_VERSION=$(sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' requirements.lock)
WHEELS="$CACHE/wheels"
if ! ls "$WHEELS"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
  say "building llama-cpp-python $LLAMA_VERSION (portable AVX2 build, first time only: ~4 min)"
  mkdir -p "$WHEELS"
  # No -march=native: the cached wheel must run on any x86-64 with AVX2.
  CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF" \
    "$VENV/bin/python" -m pip wheel -q --no-deps --disable-pip-version-check \
    -w "$WHEELS" "llama-cpp-python==$LLAMA_VERSION" >&2
  step_done "built llama-cpp-python wheel into $WHEELS"
fi

# --- 4. helixflow and its locked dependencies ------------------------------------
stamp="$VENV/.helixflow-installed"
want=$(cat requirements.lock pyproject.toml setup.py | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing helixflow[dev,cpu] with the locked dependencies"
  # Bytecode is compiled at install: with PYTHONDONTWRITEBYTECODE set (common in CI and
  # containers) every run of `helixflow` would otherwise recompile Pulumi from source (~2 s).
  "$UV" pip install -q --compile-bytecode --python "$VENV/bin/python" --find-links "$WHEELS" \
    -r requirements.lock >&2
  "$UV" pip install -q --python "$VENV/bin/python" --no-deps -e . >&2
  echo "$want" > "$stamp"
  step_done "installed helixflow (editable) and its locked dependencies"
else
  step_done "Python dependencies up to date"
fi
"$VENV/bin/python" -m compileall -q cli stacks components runtime >/dev/null

# --- 4b. checkov and the AWS CLI, dev tools in their own environments (their pins clash with requirements.lock) ---
python_tool() { HELIXFLOW_CACHE="$CACHE" UV="$UV" PYTHON="$PY" bash scripts/install-python-tool.sh "$@" | tail -n 1; }
CHECKOV=$(python_tool checkov 3.3.30 checkov)
ln -sf "$CHECKOV" "$VENV/bin/checkov"
step_done "checkov at $CHECKOV (linked into $VENV/bin)"
# The backup tests run the pods' bucket copy commands with it. Linked off PATH ($VENV/tools) so that it
# never shadows the user's own aws (v2) when the venv is activated.
AWS_CLI=$(python_tool awscli 1.46.2 aws)
mkdir -p "$VENV/tools"
ln -sf "$AWS_CLI" "$VENV/tools/aws"
step_done "AWS CLI (for the backup copy tests) at $AWS_CLI (linked into $VENV/tools)"

# --- 4c. fake-gcs-server, a dev tool: the gs:// backup tests' Cloud Storage server (built once with Go, ~1-2 min) ---
FAKE_GCS=$(HELIXFLOW_CACHE="$CACHE" bash scripts/install-fake-gcs-server.sh | tail -n 1)
ln -sf "$FAKE_GCS" "$VENV/bin/fake-gcs-server"
step_done "fake-gcs-server at $FAKE_GCS (linked into $VENV/bin)"

# --- 5. the Pulumi CLI ---------------------------------------------------------
say "checking the Pulumi CLI"
PULUMI_ROOT=$(HELIXFLOW_CACHE="$CACHE" bash scripts/install-pulumi.sh)
ln -sf "$PULUMI_ROOT/bin/pulumi" "$VENV/bin/pulumi"
ln -sf "$PULUMI_ROOT/bin/pulumi-resource-pulumi-python" "$VENV/bin/pulumi-resource-pulumi-python"
step_done "Pulumi CLI $("$PULUMI_ROOT/bin/pulumi" version) at $PULUMI_ROOT (linked into $VENV/bin)"

# --- 6. the simulated Kubernetes cluster and the Pulumi Kubernetes provider (first time ~20 min) ---
if [ "${HELIXFLOW_SKIP_K8S_SIM:-0}" != 1 ]; then
  say "checking the simulated Kubernetes cluster (etcd, kube-apiserver, controller manager, scheduler, kwok) and the Pulumi Kubernetes provider"
  SIM_BUILT=$(HELIXFLOW_CACHE="$CACHE" bash scripts/install-kubernetes-sim.sh | tail -n 2 | tr '\n' ' ')
  step_done "simulated cluster and Kubernetes provider: $SIM_BUILT"
else
  step_done "simulated cluster skipped (HELIXFLOW_SKIP_K8S_SIM=1): the kubernetes target's end-to-end tests need it"
fi

# --- 7. the tiny offline model for the CPU engine (random weights; ~0.3 s, idempotent) ---
TINY_MODEL=$(HELIXFLOW_CACHE="$CACHE" "$VENV/bin/python" -m helixflow.runtime.engine.tiny_model)
step_done "tiny CPU-engine model at $TINY_MODEL"

elapsed=$(( $(date +%s) - started ))
say "HelixFlow is set up (${elapsed}s)"
for s in "${done_steps[@]}"; do echo "  - $s" >&2; done
cat >&2 <<EOF

Next:
  source .venv/bin/activate
  helixflow doctor          # every prerequisite, with a fix for each failure
  helixflow up              # the whole platform on this machine
  ./scripts/test.sh         # ruff, mypy, pytest
EOF
