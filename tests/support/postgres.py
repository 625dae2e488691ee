"""A throw-away PostgreSQL 15 server for tests (and anything else that needs one).

We may run as root, and ``initdb``/``postgres`` refuse root: the server runs as the
``postgres`` OS user, in a data directory under /tmp that this user can reach.

    with PostgresServer() as pg:
        pg.url  # postgresql://helixflow:helixflow@127.0.0.1:PORT/helixflow
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from tests.support.processes import free_port, stop, wait_for_port
from tests.tiers import require_services

PG_BIN = Path(os.environ.get("HELIXFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresServer:
    """Starts initdb + postgres on a free port; ``stop()``/``start()`` simulate an outage keeping the data."""

    def __init__(self, user: str = "helixflow", password: str = "helixflow", database: str = "helixflow") -> None:
        self.user, self.password, self.database = user, password, database
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="helixflow-pg-"))
        self.data = self.root / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _run_kwargs(self) -> dict[str, object]:
        return {"user": "postgres"} if self._as_postgres else {}

    def init(self) -> None:
        os.chmod(self.root, 0o755)
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password)
        if self._as_postgres:
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
             "-A", "scram-sha-256", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, **self._run_kwargs(),  # type: ignore[call-overload]
        )

    def start(self) -> None:
        require_services("PostgreSQL")
        self.process = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-h", "127.0.0.1",
             "-k", str(self.root), "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **self._run_kwargs(),  # type: ignore[call-overload]
        )
        wait_for_port(self.port, 30, self.process)

    def create_database(self) -> None:
        env = {**os.environ, "PGPASSWORD": self.password}
        subprocess.run(
            [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, self.database],
            check=True, capture_output=True, env=env,
        )

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, data is kept for ``start()``."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGINT)
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    stop(self.process)
            self.process = None

    def __enter__(self) -> PostgresServer:
        self.init()
        self.start()
        if self.database != "postgres":
            self.create_database()
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
