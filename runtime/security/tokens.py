"""JWTs signed with Ed25519 (EdDSA), keys identified by ``kid``, published as a JWKS.

Private keys are stored encrypted (Fernet, key derived from HELIXFLOW_SECRET_KEY).
Verification accepts only EdDSA and only keys from the JWKS, which rules out
``alg: none`` and HS/RS confusion by construction.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "role", "tenant"]


class TokenError(Exception):
    """A token that must be refused; the message is safe to show to the caller."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_jwk(self) -> dict[str, str]:
        raw = self.private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def new_signing_key() -> SigningKey:
    return SigningKey(kid=secrets.token_hex(8), private_key=Ed25519PrivateKey.generate())


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"helixflow-signing-keys:" + secret.encode()).digest()))


def encrypt_private_key(key: SigningKey, secret: str) -> str:
    raw = key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _fernet(secret).encrypt(raw).decode()


def decrypt_private_key(kid: str, encrypted: str, secret: str) -> SigningKey:
    """Raises TokenError when HELIXFLOW_SECRET_KEY is not the one the key was stored with."""
    try:
        raw = _fernet(secret).decrypt(encrypted.encode())
    except InvalidToken as err:
        raise TokenError(f"signing key {kid} cannot be decrypted: HELIXFLOW_SECRET_KEY changed?") from err
    return SigningKey(kid=kid, private_key=Ed25519PrivateKey.from_private_bytes(raw))


def issue_token(key: SigningKey, *, subject: str, role: str, tenant: str, issuer: str, audience: str,
                ttl_seconds: int, extra: dict[str, Any] | None = None) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject, "role": role, "tenant": tenant, "iss": issuer, "aud": audience,
        "iat": now, "nbf": now, "exp": now + ttl_seconds, "jti": secrets.token_hex(12), **(extra or {}),
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """Raises TokenError for anything but an Ed25519 OKP key."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or not isinstance(jwk.get("x"), str):
        raise TokenError("unsupported key in JWKS")
    x = jwk["x"]
    raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def unverified_kid(token: str) -> str:
    """The ``kid`` header, after checking the header names EdDSA. Raises TokenError."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise TokenError("malformed token") from err
    if header.get("alg") != ALGORITHM:
        raise TokenError("unsupported token algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("token has no key id")
    return kid


def verify_token(token: str, public_key: Ed25519PublicKey, *, issuer: str, audience: str) -> dict[str, Any]:
    """The verified claims. Raises TokenError for any invalid, expired or misaddressed token."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, public_key, algorithms=[ALGORITHM], issuer=issuer, audience=audience,
            options={"require": REQUIRED_CLAIMS}, leeway=5,
        )
    except jwt.ExpiredSignatureError as err:
        raise TokenError("token has expired") from err
    except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as err:
        raise TokenError("token is not meant for this service") from err
    except jwt.PyJWTError as err:
        raise TokenError("invalid token") from err
    return claims
