"""API keys: ``hf_<8-char prefix>_<secret>``. Only a SHA-256 digest is stored, plus the visible prefix.

A key carries 192 bits of randomness, so a fast digest is safe here (unlike passwords,
nothing can be brute-forced) and lets every request look its key up by digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

KEY_SCHEME = "hf_"
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class NewApiKey:
    """A freshly generated key: ``plaintext`` is shown once and never stored."""

    plaintext: str
    prefix: str
    digest: str


def generate_api_key() -> NewApiKey:
    ident = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = secrets.token_urlsafe(24)
    plaintext = f"{KEY_SCHEME}{ident}_{secret}"
    return NewApiKey(plaintext=plaintext, prefix=f"{KEY_SCHEME}{ident}", digest=digest_api_key(plaintext))


KEY_SHAPE = re.compile(r"^hf_[a-z0-9]{8}_[A-Za-z0-9_-]{32,}$")


def known_api_key(plaintext: str) -> NewApiKey:
    """A key chosen elsewhere (a cluster's admin key, derived from the stack's secret): its row's parts.

    Raises ValueError for a key that is not of the generated shape (and as long: 192 bits or more)."""
    if not KEY_SHAPE.match(plaintext):
        raise ValueError("an API key is hf_, 8 lowercase letters or digits, _, then at least 32 URL-safe characters")
    return NewApiKey(plaintext=plaintext, prefix=key_prefix(plaintext), digest=digest_api_key(plaintext))


def derive_api_key(secret: str, purpose: str) -> str:
    """A key of the generated shape, derived from a secret for one purpose (HMAC-SHA256: as random as the
    secret, and a different key for every purpose), so a deployment can know it without reading it back."""
    digest = hmac.new(secret.encode(), f"helixflow-api-key:{purpose}".encode(), hashlib.sha256).hexdigest()
    return f"{KEY_SCHEME}{digest[:8]}_{digest[8:56]}"


def key_prefix(plaintext: str) -> str:
    """The visible part of a key (``hf_`` and 8 characters); the secret may itself contain ``_``."""
    return plaintext[: len(KEY_SCHEME) + 8]


def digest_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_SCHEME) and len(token) > 12 and token.count(".") == 0
