"""The roots an RDS instance's server certificate chains to. They are not in the public trust stores (the
runtime and PostgreSQL images' /etc/ssl/certs): `sslmode=verify-full` needs them given, so the platform hands
the region's roots to the layer as a data-stores CA file, mounted into every pod that connects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

ROOTS_FILE = Path(__file__).parent / "data" / "rds-roots.pem"


def region_roots(region: str, now: dt.datetime | None = None) -> str:
    """PEM of the region's RDS root CAs that are valid `now`. Raises ValueError when the bundle has none."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import NameOID

    at = now or dt.datetime.now(dt.UTC)
    prefix = f"Amazon RDS {region} Root CA "
    found = []
    for cert in x509.load_pem_x509_certificates(ROOTS_FILE.read_bytes()):
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        name = str(names[0].value) if names else ""
        if name.startswith(prefix) and cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            found.append(cert.public_bytes(Encoding.PEM).decode())
    if not found:
        raise ValueError(f"no valid Amazon RDS root CA for region {region!r} in {ROOTS_FILE.name}: "
                         "refresh it with scripts/update-rds-roots.sh")  # fmt: skip
    return "".join(found)
