"""The secrets a stack generates once and keeps, encrypted with the stack's passphrase,
in Pulumi.<stack>.yaml: database and cache passwords, the runtime's secret key, the
router's API key. A stack of an earlier release gets the ones it lacks at its next `up`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields

# config key (under helixflow:) for each field
CONFIG_KEYS = {
    "postgres_password": "postgresPassword",  # the database's admin (superuser / master user): migrations only
    "postgres_runtime_password": "postgresRuntimePassword",  # the runtime's own role (runtime/db/roles.py)
    "redis_password": "redisPassword",
    "secret_key": "secretKey",
    "router_api_key": "routerApiKey",
}


@dataclass(frozen=True)
class StackSecrets:
    postgres_password: str
    postgres_runtime_password: str
    redis_password: str
    secret_key: str
    router_api_key: str

    @staticmethod
    def generate_missing(present: Iterable[str]) -> dict[str, str]:
        """New values for the config keys not in `present`."""
        have = set(present)
        # Hex: never starts with "-" (read as an option by a command line) nor needs quoting in a URL.
        return {key: secrets.token_hex(32) for key in CONFIG_KEYS.values() if key not in have}

    @classmethod
    def from_config(cls, values: dict[str, str]) -> tuple[StackSecrets, dict[str, str]]:
        """The stack's secrets, generating those it lacks; also returns the generated ones (to store)."""
        generated = cls.generate_missing(key for key, value in values.items() if value)
        merged = {**values, **generated}
        return cls(**{f.name: merged[CONFIG_KEYS[f.name]] for f in fields(cls)}), generated

    def values(self) -> list[str]:
        return [getattr(self, f.name) for f in fields(self)]

    @classmethod
    def from_engine(cls) -> StackSecrets:
        """Inside a running program: the stack's secrets as the engine hands them over (decrypted), so a run
        needs no `pulumi config` call of its own. Raises HelixFlowError when any is missing."""
        import pulumi

        from helixflow.stacks.errors import HelixFlowError

        found = {key: pulumi.runtime.get_config(f"helixflow:{key}") for key in CONFIG_KEYS.values()}
        missing = sorted(key for key, value in found.items() if not value)
        if missing:
            names = ", ".join(f"helixflow:{key}" for key in missing)
            raise HelixFlowError(
                f"stack '{pulumi.get_stack()}' lacks its secrets: {names}",
                hint="run `helixflow up` once (it generates them), or `pulumi config set --secret KEY VALUE` for each",
            )
        return cls(**{f.name: str(found[CONFIG_KEYS[f.name]]) for f in fields(cls)})


# A program gets its secrets from this when it runs (StackSecrets.from_engine), not when it is built.
SecretSource = Callable[[], StackSecrets]
