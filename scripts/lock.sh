#!/usr/bin/env bash
# Refresh requirements.lock from pyproject.toml (every extra but `gpu`, which
# only the GPU worker image installs). Commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
UV="${UV:-.venv/bin/uv}"
"$UV" pip compile pyproject.toml --extra dev --extra cpu --extra tracing \
  --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-header --annotation-style line -o requirements.lock "$@"
# the runtime image pins the same versions
"${PYTHON:-.venv/bin/python}" scripts/runtime_requirements.py
