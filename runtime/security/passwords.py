"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation), and the bounded pool
the auth service runs it in."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the password. Raises ValueError when it is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    return str(_hasher().hash(password))


@functools.cache
def _dummy_hash() -> str:
    # Verifying against this when the user does not exist keeps the timing the same.
    return str(_hasher().hash("no-such-user-timing-equaliser"))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; False for a mismatch, a missing user (hash None) or a corrupt hash."""
    try:
        ok = bool(_hasher().verify(password_hash or _dummy_hash(), password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


class HashingBusy(Exception):
    """Every hashing slot (running and waiting) is taken: answer 503 with Retry-After, do not queue more."""


class PasswordPool:
    """argon2id off the event loop: at most ``workers`` hashes at a time, in threads (argon2-cffi releases the GIL),
    and at most ``queue`` more waiting; past that ``hash``/``verify`` raise HashingBusy at once.

    A verify costs ~0.15 s of CPU on two cores (argon2's lanes run in threads of their own), so a crowd of wrong
    passwords run on the loop would stall every other request; here it waits its turn in a bounded line.
    """

    def __init__(self, workers: int, queue: int) -> None:
        self.workers, self.queue = max(1, workers), max(0, queue)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="argon2",
                                            initializer=_yield_to_the_loop)
        self._taken = 0

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """``verify_password`` in the pool. Raises HashingBusy."""
        ok: bool = await self._run(verify_password, password_hash, password)
        return ok

    async def hash(self, password: str) -> str:
        """``hash_password`` in the pool. Raises ValueError for a short password, HashingBusy."""
        if len(password) < MIN_PASSWORD_LENGTH:  # refused here: no slot taken for it
            raise ValueError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        hashed: str = await self._run(hash_password, password)
        return hashed

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self._taken >= self.workers + self.queue:
            raise HashingBusy("password hashing is at capacity")
        self._taken += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        finally:
            self._taken -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


HASHING_NICENESS = 10


def _yield_to_the_loop() -> None:
    """Lowers this hashing thread's CPU priority (Linux: per thread; argon2's lane threads inherit it), so the
    event loop's short requests run first when the CPUs are busy hashing."""
    # Not on Linux, or not allowed: hashing runs at the loop's priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


def default_hash_workers() -> int:
    """Half the CPUs this process may use (at least one, at most four)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus // 2))
