#!/usr/bin/env bash
# Before the SGLang server starts: warn about a small /dev/shm, and sync the model from
# the stack's bucket when HELIXFLOW_MODEL_URI is set (into HELIXFLOW_MODEL_DIR, which
# the worker spec passes as --model-path). Then exec the command given.
set -euo pipefail

mkdir -p "${HOME}" "${HF_HOME:-/models/hf}"

shm_kib=$(df -k --output=size /dev/shm 2>/dev/null | tail -n 1 | tr -d ' ' || echo 0)
if [ "${shm_kib:-0}" -lt 1048576 ]; then
  echo "helixflow: warning: /dev/shm is $((shm_kib / 1024)) MiB; NCCL and SGLang's processes need more" \
    "(docker --shm-size 10g, or a Memory emptyDir at /dev/shm in Kubernetes)" >&2
fi

if [ -n "${HELIXFLOW_MODEL_URI:-}" ]; then
  : "${HELIXFLOW_MODEL_DIR:?HELIXFLOW_MODEL_DIR must be set with HELIXFLOW_MODEL_URI}"
  python3 /usr/local/lib/helixflow/sync_model.py "${HELIXFLOW_MODEL_URI}" "${HELIXFLOW_MODEL_DIR}"
fi

exec "$@"
