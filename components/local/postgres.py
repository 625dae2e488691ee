"""PostgreSQL for the local target: initdb once, password auth, the runtime's migrations applied.

The initdb superuser is the admin: it runs the migrations' admin step, which gives the runtime a role of its
own (RUNTIME_ROLE, owning schema `helixflow` only) that the services connect as (`runtime_url`).

PostgreSQL refuses to run as root; when HelixFlow runs as root the server runs
as the `postgres` OS user, with a data directory that user owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pulumi

from helixflow.components.local.service import LocalServiceProvider, ProcessProps, ProcessResource
from helixflow.components.processes import ProcessError, as_user
from helixflow.runtime.db.roles import RUNTIME_ROLE

DATABASE = "helixflow"
SUPERUSER = "helixflow"


def database_url(port: int, password: str, database: str = DATABASE) -> str:
    """As the superuser: the migrations' admin step and the restore of a backup, nothing else."""
    return f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/{database}"


def runtime_url(port: int, password: str) -> str:
    """As the runtime's role: what the services get."""
    return f"postgresql://{RUNTIME_ROLE}:{password}@127.0.0.1:{port}/{DATABASE}"


def _chown_tree(path: Path, user: str) -> None:
    entry = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class PostgresProps(ProcessProps):
    port: int
    password: str
    runtime_password: str = ""  # empty in the state of a stack from before the runtime had its own role
    data_dir: str
    bin_dir: str
    run_as: str = ""


class PostgresServerProvider(LocalServiceProvider[PostgresProps]):
    what = "PostgreSQL"
    props_model = PostgresProps
    # Fast shutdown: SIGTERM (smart) waits for every client to leave, and the services' pools stay connected
    # through an update; the SIGKILL that followed left a lock file and orphan backends the restart refused.
    stop_signal = signal.SIGINT

    def run_as(self, props: PostgresProps) -> str | None:
        return props.run_as or None

    def argv(self, props: PostgresProps) -> list[str]:
        return [
            str(Path(props.bin_dir) / "postgres"),
            "-D", props.data_dir,
            "-p", str(props.port),
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
        ]


    def prepare(self, props: PostgresProps) -> None:
        data_dir = Path(props.data_dir)
        if (data_dir / "PG_VERSION").exists():
            return  # existing data is kept across down/up
        data_dir.mkdir(parents=True, exist_ok=True)
        data_dir.chmod(0o700)
        user = self.run_as(props)
        if user:
            _chown_tree(data_dir, user)
        # initdb reads the superuser password from a file, never from argv
        with tempfile.NamedTemporaryFile("w", delete=False, dir=data_dir.parent, prefix=".pw") as pw:
            pw.write(props.password + "\n")
        pw_path = Path(pw.name)
        try:
            pw_path.chmod(0o600)
            if user:
                _chown_tree(pw_path, user)
            initdb = [
                str(Path(props.bin_dir) / "initdb"),
                "-D", str(data_dir),
                "-U", SUPERUSER,
                f"--pwfile={pw_path}",
                "--auth=scram-sha-256",
                "-E", "UTF8",
                "--locale=C",
            ]  # fmt: skip
            proc = subprocess.run(
                as_user(initdb, user),
                capture_output=True,
                text=True,
                cwd="/",  # the postgres user may not be able to enter our working directory
                start_new_session=True,  # out of reach of signals meant for the provider's process group
                check=False,
                timeout=120,
            )
        finally:
            pw_path.unlink(missing_ok=True)
        if proc.returncode != 0:
            shutil.rmtree(data_dir, ignore_errors=True)
            output = (proc.stdout + proc.stderr).strip()[-800:] or "no output"
            raise ProcessError(f"initdb failed (exit code {proc.returncode}): {output}")

    def healthy(self, props: PostgresProps) -> bool:
        import psycopg

        try:
            with psycopg.connect(database_url(props.port, props.password, "postgres"), connect_timeout=2):
                return True
        except psycopg.Error:
            return False

    def after_start(self, props: PostgresProps) -> dict[str, Any]:
        import psycopg

        with psycopg.connect(database_url(props.port, props.password, "postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "HELIXFLOW_DATABASE_"))}
        env["HELIXFLOW_DATABASE_URL"] = runtime_url(props.port, props.runtime_password)
        env["HELIXFLOW_DATABASE_ADMIN_URL"] = database_url(props.port, props.password)
        migrate = subprocess.run(
            [sys.executable, "-m", "helixflow.runtime.db", "upgrade"],
            capture_output=True,
            text=True,
            env=env,
            start_new_session=True,  # a Ctrl-C meant for `helixflow up` must not cut a migration short
            check=False,
            timeout=120,
        )
        if migrate.returncode != 0:
            raise ProcessError(f"database migrations failed: {migrate.stderr.strip()[-800:]}")
        return {"database": DATABASE}


class PostgresServer(ProcessResource):
    """A PostgreSQL server process with the runtime's schema applied."""

    port: pulumi.Output[int]
    database: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        port: int,
        password: pulumi.Input[str],
        runtime_password: pulumi.Input[str],
        data_dir: str,
        bin_dir: str,
        state_dir: str,
        log_file: str,
        run_as: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = ProcessResource.props(
            name,
            state_dir=state_dir,
            log_file=log_file,
            start_timeout=60,
            port=port,
            password=pulumi.Output.secret(password),
            runtime_password=pulumi.Output.secret(runtime_password),
            data_dir=data_dir,
            bin_dir=bin_dir,
            run_as=run_as or "",
            database=None,
        )
        secret_outputs = ["password", "runtime_password"]
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret_outputs))
        super().__init__(PostgresServerProvider(), name, props, opts)
