"""The first tenant, its admin user and an API key, created through the runtime's own command.

The key's plaintext exists only in this resource's (secret) outputs; the database
keeps its hash. Deleting the resource leaves the tenant, user and key in place:
data outlives `helixflow down`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, Resource, ResourceProvider, UpdateResult
from pydantic import BaseModel, ConfigDict

from helixflow.components.processes import ProcessError


class BootstrapProps(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    env: dict[str, str]
    tenant: str
    username: str
    email: str


class AdminBootstrapProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        account = BootstrapProps.model_validate(props)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
        env.update(account.env)
        proc = subprocess.run(
            [
                sys.executable, "-m", "helixflow.runtime.bootstrap", "bootstrap",
                "--tenant", account.tenant, "--username", account.username, "--email", account.email, "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            start_new_session=True,  # a Ctrl-C meant for `helixflow up` must not cut it short
            check=False,
            timeout=120,
        )
        if proc.returncode != 0:
            raise ProcessError(f"bootstrap of tenant {account.tenant!r} failed: {proc.stderr.strip()[-600:]}")
        result = json.loads(proc.stdout)
        outs = {
            **props,
            "tenant_id": result["tenant_id"],
            "user_id": result["user_id"],
            "api_key": result["api_key"],
            "api_key_id": result.get("api_key_id", ""),
        }
        return CreateResult(id_=str(result["tenant_id"]), outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_=id_, outs=props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """New connection settings (the runtime's own database role, a rotated password): the tenant, user and
        key made at create stay, and so does the key the stack hands out."""
        made = {key: olds.get(key) for key in ("tenant_id", "user_id", "api_key", "api_key_id")}
        return UpdateResult(outs={**news, **made})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Nothing to do: the tenant and its keys are data, kept unless `down --purge-data`."""


class AdminBootstrap(Resource):
    """Runs `python -m helixflow.runtime.bootstrap bootstrap` once per stack."""

    tenant_id: pulumi.Output[str]
    api_key: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        env: pulumi.Input[dict[str, str]],
        tenant: str,
        username: str,
        email: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "env": pulumi.Output.secret(env),
            "tenant": tenant,
            "username": username,
            "email": email,
            "tenant_id": None,
            "user_id": None,
            "api_key": None,
            "api_key_id": None,
        }
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["env", "api_key"]))
        super().__init__(AdminBootstrapProvider(), name, props, opts)
