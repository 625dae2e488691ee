#!/usr/bin/env bash
# Refresh components/aws/data/rds-roots.pem from AWS's RDS trust store: every "Amazon RDS <region> Root CA"
# certificate of the global bundle that is still valid. Needs the internet (not run by setup.sh or CI).
set -euo pipefail
cd "$(dirname "$0")/.."
URL="https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
OUT=components/aws/data/rds-roots.pem
bundle=$(mktemp)
trap 'rm -f "$bundle"' EXIT
curl -fsSL "$URL" -o "$bundle"
.venv/bin/python - "$bundle" "$OUT" "$URL" <<'PY'
import datetime as dt
import sys

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

bundle, out, url = sys.argv[1:]
now = dt.datetime.now(dt.UTC)
kept = []
for cert in x509.load_pem_x509_certificates(open(bundle, "rb").read()):
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else ""
    if name.startswith("Amazon RDS ") and " Root CA " in name and cert.not_valid_after_utc > now:
        kept.append(cert.public_bytes(Encoding.PEM).decode())
if not kept:
    sys.exit(f"no valid RDS root CA in {url}")
with open(out, "w") as f:
    f.write(f"# The Amazon RDS root certificate authorities of every region, from {url}\n"
            f"# ({now:%Y-%m-%d}), keeping only roots still valid. Public certificates: nothing secret here.\n")
    f.write("".join(kept))
print(f"wrote {len(kept)} roots to {out}")
PY
