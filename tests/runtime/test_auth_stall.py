"""The auth service cannot be stalled: password hashing runs off the event loop in a bounded pool, password
attempts are limited per username and per client address (429 + Retry-After), and a body over the limit is
refused from its Content-Length before it is read.

Clients spread over loopback addresses (127.0.0.0/8 is all loopback on Linux) to stand for many hosts.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.runtime.helpers import bearer, new_tenant
from tests.support.clock import avoid_minute_boundary
from tests.support.services import Service


@pytest.fixture(scope="module")
def auth(base_env: dict[str, str], bootstrap: dict[str, str]) -> Iterator[Service]:
    """An auth service of its own, with its rate-limit counters in a Redis database of their own."""
    env = {**base_env, "HELIXFLOW_REDIS_URL": base_env["HELIXFLOW_REDIS_URL"].rsplit("/", 1)[0] + "/6",
           "HELIXFLOW_AUTH_ATTEMPTS_PER_USERNAME": "5", "HELIXFLOW_AUTH_ATTEMPTS_PER_ADDRESS": "12"}
    with Service("helixflow.runtime.auth", "HELIXFLOW_AUTH_PORT", env) as service:
        yield service


def client_from(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def password_grant(client: httpx.Client, url: str, username: str, password: str) -> httpx.Response:
    return client.post(url + "/oauth/token", data={"grant_type": "password", "username": username,
                                                   "password": password})


def test_password_attempts_are_limited_per_username_and_per_address(auth: Service, admin_key: str) -> None:
    target = new_tenant(auth.url, admin_key)["user"]["username"]
    avoid_minute_boundary(room_s=15)  # twenty hashed attempts: ~2.5 s, more on a loaded machine
    with client_from("127.0.0.3") as attacker, client_from("127.0.0.4") as owner, \
            client_from("127.0.0.5") as sprayer:
        wrong = [password_grant(attacker, auth.url, target, "not-the-password").status_code for _ in range(5)]
        assert wrong == [400] * 5
        refused = password_grant(attacker, auth.url, target, "not-the-password")
        assert refused.status_code == 429 and refused.json()["error"] == "slow_down"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The username is held for the window whoever asks, the right password included.
        assert password_grant(owner, auth.url, target, "password-123").status_code == 429
        # One address trying many usernames is held too.
        spray = [password_grant(sprayer, auth.url, f"ghost-{i}", "whatever-123").status_code for i in range(13)]
        assert spray == [400] * 12 + [429]


def test_a_body_over_the_limit_is_refused_before_it_is_read(auth: Service, admin_key: str) -> None:
    for path, content_type in (("/oauth/token", "application/x-www-form-urlencoded"),
                               ("/admin/tenants", "application/json")):
        with socket.create_connection(("127.0.0.1", auth.port), timeout=5) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
                         f"Authorization: Bearer {admin_key}\r\nContent-Length: 100000000\r\n\r\n".encode())
            sock.settimeout(3)
            try:
                reply = sock.recv(4096)
            except TimeoutError:
                pytest.fail(f"{path}: the server waited for 100 MB instead of refusing them")
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(200):
            yield b"x" * 8192

    streamed = httpx.post(auth.url + "/oauth/token", content=chunks(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413


class Attack:
    """50 wrong-password attempts a second from a paced loop: half against one username from one address (the
    rate limit answers them), half from 50 addresses with 50 usernames (they reach the hashing pool)."""

    def __init__(self, url: str, target: str, rate: float = 50, seconds: float = 10) -> None:
        self.url, self.target, self.rate, self.seconds = url, target, rate, seconds
        self.statuses: Counter[int] = Counter()
        self.retry_after: set[str] = set()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _attempt(self, client: httpx.AsyncClient, username: str) -> None:
        try:
            response = await client.post(self.url + "/oauth/token", data={
                "grant_type": "password", "username": username, "password": "wrong-" + uuid.uuid4().hex[:6]})
        except httpx.HTTPError:
            self.statuses[0] += 1
            return
        self.statuses[response.status_code] += 1
        if response.status_code == 429:
            self.retry_after.add(response.headers.get("retry-after", ""))

    async def _run(self) -> None:
        def client(address: str) -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=address), timeout=30)

        focused = client("127.0.0.2")
        spread = [client(f"127.0.1.{i + 1}") for i in range(50)]
        tasks: set[asyncio.Task[None]] = set()
        start = time.monotonic()
        for i in range(int(self.rate * self.seconds)):
            await asyncio.sleep(max(0.0, start + i / self.rate - time.monotonic()))
            if len(tasks) >= 200:  # bounded: a stalled server does not get an ever-growing crowd
                self.statuses[-1] += 1  # not sent
                continue
            if i % 2:
                task = asyncio.create_task(self._attempt(focused, self.target))
            else:
                task = asyncio.create_task(self._attempt(spread[(i // 2) % 50], f"spray-{i // 2 % 50}"))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=30)
        for c in (focused, *spread):
            await c.aclose()

    def __enter__(self) -> Attack:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._thread.join(60)


def p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def test_wrong_passwords_do_not_stall_the_service(auth: Service, admin_key: str, bootstrap: dict[str, str]) -> None:
    target = new_tenant(auth.url, admin_key)["user"]["username"]
    grant = {"grant_type": "client_credentials", "client_id": bootstrap["key_prefix"],
             "client_secret": bootstrap["api_key"]}
    probes = {
        "jwks": lambda c: c.get(auth.url + "/.well-known/jwks.json"),
        "admin_me": lambda c: c.get(auth.url + "/admin/me", headers=bearer(admin_key)),
        "client_credentials": lambda c: c.post(auth.url + "/oauth/token", data=grant),
    }
    latencies: dict[str, list[float]] = {name: [] for name in probes}
    failures: list[str] = []
    with client_from("127.0.0.1") as client:
        for probe in probes.values():  # warm: connection, caches
            assert probe(client).status_code == 200
        with Attack(auth.url, target) as attack:
            deadline = time.monotonic() + attack.seconds
            while time.monotonic() < deadline:
                for name, probe in probes.items():
                    started = time.perf_counter()
                    response = probe(client)
                    latencies[name].append(time.perf_counter() - started)
                    if response.status_code != 200:
                        failures.append(f"{name}: {response.status_code}")
                time.sleep(0.02)
    figures = {name: round(p99(samples) * 1000, 1) for name, samples in latencies.items()}
    print(f"p99 ms: {figures}; samples: {len(latencies['jwks'])}; attack answers: {dict(attack.statuses)}")
    assert all(figure < 100 for figure in figures.values()), figures
    assert not failures, failures[:5]
    # Every attempt was sent and answered (none left waiting), none let in; the focused half was held.
    assert attack.statuses[-1] == attack.statuses[0] == attack.statuses[200] == 0, attack.statuses
    assert attack.statuses[429] > 200 and attack.retry_after and "" not in attack.retry_after
