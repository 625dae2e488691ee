"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommendation)."""

from __future__ import annotations

import functools

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
