"""Redis and PostgreSQL that accept TLS only, as managed ones do (ElastiCache with in-transit encryption and an
ACL user, RDS with ``rds.force_ssl``), with certificates from a throw-away test CA.

    with TestCertificates() as certs, TlsRedisServer(certs) as rd, TlsPostgresServer(certs) as pg:
        rd.url  # rediss://helixflow:PASSWORD@localhost:PORT/0?ssl_ca_certs=CA
        pg.url  # postgresql://helixflow:helixflow@localhost:PORT/helixflow?sslmode=verify-full&sslrootcert=CA

``certs.other_ca`` is a CA that signed nothing here: a client trusting it must refuse both servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from tests.support.postgres import PG_BIN, PostgresServer
from tests.support.processes import wait_for_port
from tests.support.redis import RedisServer
from tests.tiers import require_services

REDIS_USER = "helixflow"  # an ACL user, not the default user: what ElastiCache's RBAC hands out


class TestCertificates:
    """A CA, a server certificate for localhost/127.0.0.1 signed by it, and an unrelated second CA."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="helixflow-tls-"))
        os.chmod(self.root, 0o755)

    def __enter__(self) -> TestCertificates:
        from helixflow.components.local.tls import issue_certificates

        issued = issue_certificates(self.root / "good", ["localhost", "127.0.0.1"], 2)
        self.ca, self.cert, self.key = Path(issued["ca_file"]), Path(issued["cert_file"]), Path(issued["key_file"])
        self.other_ca = Path(issue_certificates(self.root / "other", ["localhost"], 2)["ca_file"])
        for folder in (self.root / "good", self.root / "other"):
            os.chmod(folder, 0o755)
            for path in (folder / "ca.crt", folder / "server.crt"):
                os.chmod(path, 0o644)
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class TlsRedisServer(RedisServer):
    """redis-server on a TLS port only, an ACL user with a password, the default user off."""

    def __init__(self, certs: TestCertificates, password: str = "helixflow-test") -> None:
        super().__init__(password)
        self.certs = certs

    def url_with_ca(self, ca: Path) -> str:
        return f"rediss://{REDIS_USER}:{self.password}@localhost:{self.port}/0?ssl_ca_certs={quote(str(ca))}"

    @property
    def url(self) -> str:
        return self.url_with_ca(self.certs.ca)

    def start(self) -> None:
        require_services("Redis")
        acl = self.root / "users.acl"
        acl.write_text(f"user default off\nuser {REDIS_USER} on >{self.password} ~* &* +@all\n")
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", "0", "--tls-port", str(self.port),
             "--bind", "127.0.0.1", "--tls-cert-file", str(self.certs.cert), "--tls-key-file", str(self.certs.key),
             "--tls-ca-cert-file", str(self.certs.ca), "--tls-auth-clients", "no", "--aclfile", str(acl),
             "--dir", str(self.root), "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 15, self.process)


class TlsPostgresServer(PostgresServer):
    """PostgreSQL with ``ssl=on`` and only ``hostssl`` lines in pg_hba.conf: a plain connection is refused."""

    def __init__(self, certs: TestCertificates) -> None:
        super().__init__()
        self.certs = certs

    def url_with_ca(self, ca: Path) -> str:
        return (f"postgresql://{self.user}:{self.password}@localhost:{self.port}/{self.database}"
                f"?sslmode=verify-full&sslrootcert={quote(str(ca))}")

    @property
    def url(self) -> str:
        return self.url_with_ca(self.certs.ca)

    def init(self) -> None:
        super().init()
        # The server's key must be 0600 and owned by the user the server runs as.
        for name, source in (("server.crt", self.certs.cert), ("server.key", self.certs.key)):
            target = self.data / name
            shutil.copy(source, target)
            os.chmod(target, 0o600)
            if self._as_postgres:
                owner = pwd.getpwnam("postgres")
                os.chown(target, owner.pw_uid, owner.pw_gid)
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n")

    def start(self) -> None:
        require_services("PostgreSQL")
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200", "-c", "ssl=on", "-c", "ssl_cert_file=server.crt",
             "-c", "ssl_key_file=server.key"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self._run_kwargs(),  # type: ignore[call-overload]
        )
        wait_for_port(self.port, 30, self.process)

    def create_database(self) -> None:
        # Through the Unix socket (trust): createdb's TCP connection would need the TLS options too.
        subprocess.run([str(PG_BIN / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", self.user,
                        self.database], check=True, capture_output=True)
