#!/usr/bin/env bash
# Per-tenant provisioning from CI: reconcile the platform's tenants with a file, then validate the
# platform, leaving machine-readable results for the pipeline.
#
#   examples/tenants-ci/provision.sh [TENANTS_FILE]
#
# Environment:
#   HELIXFLOW_STACK     the platform stack (default: local)
#   HELIXFLOW_PARALLEL  tenant stacks applied at a time (default: the CLI's)
#   REPORTS             where results go (default: ./reports)
#   VALIDATE_GROUPS     space-separated validate groups (default: "availability api security quotas")
#
# Writes $REPORTS/tenants.json (per-tenant results, new keys replaced by "[secret]"),
# $REPORTS/new-keys.json (mode 600: the keys of tenants created by this run, for the pipeline to move
# into its secret store; never printed) and $REPORTS/validate.xml (JUnit).
# Exit: 0 when every tenant applied and validation passed; otherwise the first failing step's code.
set -euo pipefail

tenants_file="${1:-$(dirname "$0")/tenants.yaml}"
stack="${HELIXFLOW_STACK:-local}"
reports="${REPORTS:-reports}"
groups="${VALIDATE_GROUPS:-availability api security quotas}"
mkdir -p "$reports"
umask 077

apply_args=(tenant apply "$tenants_file" --stack "$stack" --yes --json)
if [ -n "${HELIXFLOW_PARALLEL:-}" ]; then apply_args+=(--parallel "$HELIXFLOW_PARALLEL"); fi

status=0
helixflow "${apply_args[@]}" > "$reports/apply.raw.json" || status=$?
# Split the new keys off before anything else can print them.
python3 - "$reports" <<'PY'
import json, pathlib, sys
reports = pathlib.Path(sys.argv[1])
raw = reports / "apply.raw.json"
try:
    result = json.loads(raw.read_text())
except ValueError:
    sys.exit("error: `helixflow tenant apply` printed no JSON (see its message above)")
finally:
    raw.unlink()
keys = {}
for entry in result.get("results", []):
    if entry.get("api_key"):
        keys[entry["tenant"]] = entry["api_key"]
        entry["api_key"] = "[secret]"
(reports / "new-keys.json").write_text(json.dumps(keys, indent=2) + "\n")
(reports / "tenants.json").write_text(json.dumps(result, indent=2) + "\n")
for entry in result.get("results", []):
    print(f"{entry['tenant']}: {entry['action']} {'ok' if entry['ok'] else 'FAILED: ' + str(entry.get('error'))}")
print(f"unchanged: {', '.join(result.get('unchanged', [])) or 'none'}")
PY

validate_args=(validate --stack "$stack" --junit "$reports/validate.xml")
for group in $groups; do validate_args+=(--group "$group"); done
validate_status=0
helixflow "${validate_args[@]}" || validate_status=$?

if [ "$status" -ne 0 ]; then
  echo "error: tenant apply failed for at least one tenant (see $reports/tenants.json)" >&2
  exit "$status"
fi
exit "$validate_status"
