"""The gateway keeps serving known credentials through a PostgreSQL outage longer than every cache, a gateway
restarted during it included, while a revoked key stays refused; afterwards every answered request has its row.

The caches' TTLs are shortened by settings so the outage (HELIXFLOW_TEST_OUTAGE_SECONDS, 15 s by default; the
issue's figure is 90) outlasts all of them: fresh records 2 s, negative ones 2 s, the JWKS 2 s.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.runtime.helpers import admin_post, bearer, chat_body, new_tenant, within
from tests.support.postgres import PostgresServer
from tests.support.redis import RedisServer
from tests.support.services import Service, migrate_and_bootstrap, runtime_env

OUTAGE_SECONDS = float(os.environ.get("HELIXFLOW_TEST_OUTAGE_SECONDS", "15"))
SHORT_CACHES = {"HELIXFLOW_AUTH_CACHE_SECONDS": "2", "HELIXFLOW_AUTH_CACHE_STALE_SECONDS": "300",
                "HELIXFLOW_JWKS_CACHE_SECONDS": "2"}


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[PostgresServer, RedisServer]]:
    with PostgresServer() as pg, RedisServer() as rd:  # its own: this test stops the database
        yield pg, rd


class Rotation:
    """The gateways a load balancer would send to; one is taken out while it restarts."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = list(urls)
        self._lock = threading.Lock()
        self._turn = itertools.count()

    def pick(self) -> str:
        with self._lock:
            return self.urls[next(self._turn) % len(self.urls)]

    def set(self, urls: list[str]) -> None:
        with self._lock:
            self.urls = list(urls)


class Load:
    """Threads sending chat requests with known credentials; every answer is kept (status, gateway, id)."""

    def __init__(self, rotation: Rotation, credentials: list[str], threads: int = 4) -> None:
        self.rotation, self.credentials = rotation, credentials
        self.answers: list[tuple[int, str, str, float]] = []  # status (0: no answer), gateway, request id, when
        self.errors: list[str] = []  # the first few failures' bodies, for the assertion message
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                url, request_id = self.rotation.pick(), uuid.uuid4().hex
                credential = random.choice(self.credentials)
                try:
                    response = client.post(url + "/v1/chat/completions", json=chat_body("outage"),
                                           headers={**bearer(credential),
                                                    "X-Request-ID": request_id})
                    status = response.status_code
                    if status != 200 and len(self.errors) < 20:
                        self.errors.append(f"{url} credential {self.credentials.index(credential)} "
                                           f"at {time.monotonic():.1f}: {response.text[:120]}")
                except httpx.HTTPError as err:
                    status = 0
                    if len(self.errors) < 20:
                        self.errors.append(repr(err))
                self.answers.append((status, url, request_id, time.monotonic()))
                time.sleep(0.02)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


class RevokedProbe(Load):
    """Sends the revoked key to every gateway in rotation, all along."""

    def __init__(self, rotation: Rotation, revoked: str) -> None:
        super().__init__(rotation, [revoked], threads=1)


def _chat(gateway: Service, key: str) -> int:
    return httpx.post(gateway.url + "/v1/chat/completions", json=chat_body("probe"), headers=bearer(key),
                      timeout=5).status_code


def _gateway(env: dict[str, str], port: int | None = None) -> Service:
    return Service("helixflow.runtime.gateway", "HELIXFLOW_GATEWAY_PORT", env, port=port).start()


def test_known_credentials_are_served_through_a_database_outage_and_a_restart(
        stores: tuple[PostgresServer, RedisServer]) -> None:
    pg, rd = stores
    env = runtime_env(pg.url, rd.url, HELIXFLOW_LOG_REQUESTS="false", HELIXFLOW_USAGE_CLAIM_IDLE_MS="1000",
                      **SHORT_CACHES)
    admin_key = migrate_and_bootstrap(env, tenant="outage")
    with Service("tests.support.fake_pool", None, env, health_path="/health") as pool, \
            Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as auth:
        env = {**env, "HELIXFLOW_POOL_URL": pool.url, "HELIXFLOW_AUTH_URL": auth.url}
        people = new_tenant(auth.url, admin_key)
        extra = admin_post(auth.url, admin_key, "/admin/keys", {"user_id": people["user"]["user"]["id"]})
        issued = httpx.post(auth.url + "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": people["operator"]["key"][:11],
            "client_secret": people["operator"]["key"]})
        assert issued.status_code == 200, issued.text
        credentials = [people["user"]["key"], people["operator"]["key"], issued.json()["access_token"]]
        first, second = _gateway(env), _gateway(env)
        gateways = [first, second]
        try:
            rotation = Rotation([first.url, second.url])
            with Load(rotation, credentials) as load:
                time.sleep(2)
                for gateway in gateways:  # cached before it is revoked, so the refusal measures the propagation
                    assert _chat(gateway, extra["api_key"]) == 200
                revoked = httpx.delete(auth.url + f"/admin/keys/{extra['id']}", headers=bearer(admin_key))
                assert revoked.status_code == 200, revoked.text
                for gateway in gateways:
                    within(1.0, lambda g=gateway: _chat(g, extra["api_key"]) == 401,  # type: ignore[misc]
                           "the revoked key refused")
                # A revocation clears every cache (both tiers): an outage starting within the second after one
                # leaves only what was looked up again meanwhile. Let the load look its credentials up.
                time.sleep(1.0)
                with RevokedProbe(rotation, extra["api_key"]) as probe:
                    pg.stop()
                    outage_started = time.monotonic()
                    time.sleep(OUTAGE_SECONDS / 3)
                    rotation.set([second.url])  # out of the balancer, then restarted while PostgreSQL is down
                    time.sleep(0.5)
                    first.stop()
                    first = _gateway(env, port=first.port)
                    gateways[0] = first
                    restarted_at = time.monotonic()
                    rotation.set([first.url, second.url])
                    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - outage_started)))
                    outage = time.monotonic() - outage_started
                    pg.start()
                    time.sleep(3)
            answers = load.answers
            statuses = Counter(status for status, *_ in answers)
            failed = [a for a in answers if a[0] != 200]
            after_restart = [a for a in answers if a[1] == first.url and a[3] > restarted_at]
            during = [a for a in answers if outage_started < a[3] < outage_started + outage]
            print(f"outage from {outage_started:.1f}, restart {restarted_at:.1f}: {first.url}, {second.url}")
            print(f"outage={outage:.1f}s requests={len(answers)} during_outage={len(during)} "
                  f"restarted_gateway={len(after_restart)} statuses={dict(statuses)} "
                  f"revoked_probe={dict(Counter(s for s, *_ in probe.answers))}")
            assert not failed, f"{len(failed)} requests with known credentials failed: {load.errors[:5]}"
            assert len(during) > 50, "too few requests during the outage to say anything"
            assert after_restart, "the gateway restarted during the outage served nothing"
            assert not [a for a in probe.answers if a[0] == 200], "the revoked key was served"
            assert probe.answers, "the revoked key was never tried"

            ok = {request_id for status, _, request_id, _ in answers if status == 200}
            deadline = time.monotonic() + 30
            while True:
                with psycopg.connect(pg.url) as db:
                    stored = [r[0] for r in db.execute(
                        "SELECT client_request_id FROM requests WHERE tenant_id = %s",
                        (people["tenant"]["id"],)).fetchall()]
                if ok <= set(stored) or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert ok <= set(stored), f"{len(ok - set(stored))} answered requests have no usage row"
            assert len(stored) == len(set(stored)), "a usage row was written twice"
        finally:
            for gateway in gateways:
                gateway.stop()
