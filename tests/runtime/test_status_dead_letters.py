"""`helixflow status` of a local stack shows the usage dead letters the monitoring service counts."""

from __future__ import annotations

from redis import Redis

from helixflow.runtime.gateway.usage import DEAD_LETTERS
from helixflow.stacks.targets.local.status import component_statuses
from tests.runtime.helpers import within
from tests.support.redis import RedisServer
from tests.support.services import Service


def test_the_local_status_shows_dead_letters(base_env: dict[str, str], redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    redis.delete(DEAD_LETTERS)
    env = {**base_env, "HELIXFLOW_MONITORING_REFRESH_SECONDS": "0.2"}
    try:
        with Service("helixflow.runtime.monitoring", "HELIXFLOW_MONITORING_PORT", env) as monitoring:
            assert monitoring.process is not None
            info = {"monitoring": {"kind": "monitoring service", "port": monitoring.port, "pid": monitoring.process.pid,
                                   "health": monitoring.url + "/health/live"}}

            def shown() -> object:
                return component_statuses(info)[0].details.get("dead_letters")

            within(5, lambda: shown() == 0, "no dead letters shown")
            for _ in range(2):
                redis.xadd(DEAD_LETTERS, {"d": b"{}", "error": "test"})
            within(5, lambda: shown() == 2, "two dead letters shown")
    finally:
        redis.delete(DEAD_LETTERS)
        redis.close()
