"""Redis for the local target: AOF persistence, a password, loopback only.

The password lives in a 0600 configuration file, not on the command line where
`ps` would show it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from helixflow.components.local.service import LocalServiceProvider, ProcessProps, ProcessResource


def redis_url(port: int, password: str, db: int = 0) -> str:
    return f"redis://:{password}@127.0.0.1:{port}/{db}"


class RedisProps(ProcessProps):
    port: int
    password: str
    data_dir: str
    maxmemory: str = "256mb"


class RedisServerProvider(LocalServiceProvider[RedisProps]):
    what = "Redis"
    props_model = RedisProps

    def _conf(self, props: RedisProps) -> Path:
        return Path(props.data_dir) / "redis.conf"

    def argv(self, props: RedisProps) -> list[str]:
        return ["redis-server", str(self._conf(props))]


    def prepare(self, props: RedisProps) -> None:
        data_dir = Path(props.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        conf = self._conf(props)
        lines = [
            "bind 127.0.0.1",
            f"port {props.port}",
            "protected-mode yes",
            "daemonize no",
            f'dir "{data_dir}"',
            "appendonly yes",
            "appendfsync everysec",
            f"maxmemory {props.maxmemory}",
            "maxmemory-policy noeviction",  # the usage stream must never be evicted
            f'requirepass "{props.password}"',
        ]
        fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def healthy(self, props: RedisProps) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=props.port, password=props.password, socket_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class RedisServer(ProcessResource):
    """A redis-server process with append-only persistence."""

    port: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        *,
        port: int,
        password: pulumi.Input[str],
        data_dir: str,
        state_dir: str,
        log_file: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = ProcessResource.props(
            name,
            state_dir=state_dir,
            log_file=log_file,
            start_timeout=30,
            port=port,
            password=pulumi.Output.secret(password),
            data_dir=data_dir,
        )
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["password"]))
        super().__init__(RedisServerProvider(), name, props, opts)
