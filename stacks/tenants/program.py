"""A tenant stack's Pulumi program: kept tiny (one StackReference, one admin-API record, and on a cluster
the tenant's Kubernetes resources), since 50 tenants are 50 engine runs.

Everything it learns of the platform comes through a StackReference to the platform's stack, so a tenant's
run reads the platform's outputs and never touches the platform's resources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi

from helixflow.stacks.paths import PROJECT
from helixflow.stacks.targets.base import Program
from helixflow.stacks.tenants.spec import TenantSpec

POOL_KEY_CONFIG = "poolApiKey"  # under helixflow: in the tenant stack's config, generated once
KEY_SEED_CONFIG = "tenantKeySeed"  # likewise, on a cluster: the tenant's API key is derived from it
RECORD_JOB = "cluster-job"  # the `record` output of a tenant whose record a Job in the cluster writes


@dataclass(frozen=True)
class ClusterTenant:
    """What a tenant on a `kubernetes` platform needs that is not an output: found before the engine runs."""

    namespace: str
    platform_namespace: str
    runtime_image: str
    sglang_image: str
    gpus_per_worker: int


@dataclass(frozen=True)
class TenantContext:
    platform: str
    admin_api: bool  # the record goes through the platform's admin API (local, or a cluster tenant made so before)
    cluster: ClusterTenant | None  # else a Job in the cluster writes it
    retire: bool = False  # the run before a cluster tenant's destroy: its Job revokes the tenant's keys


def platform_reference_name(platform: str) -> str:
    """A file backend's fully qualified name of a stack of this project."""
    return f"organization/{PROJECT}/{platform}"


def build_tenant_program(spec: TenantSpec, context: TenantContext,
                         on_api_key: Callable[[str], None] | None = None) -> Program:  # fmt: skip
    """on_api_key: given the tenant's key (plaintext) in this process when the run has it, so it needs no
    `pulumi stack output --show-secrets` afterwards."""

    def program() -> None:
        from helixflow.components.tenant.record import TenantRecord

        platform = pulumi.StackReference(platform_reference_name(context.platform))
        limits = spec.limits()
        pulumi.export("platform", context.platform)
        pulumi.export("tenant", spec.name)
        pulumi.export("spec", spec.model_dump(mode="json"))
        pulumi.export("limits", limits.model_dump(mode="json"))
        if context.admin_api:
            record = TenantRecord(
                spec.name, tenant=spec.name, admin_url=platform.require_output("endpoint"),
                admin_api_key=platform.require_output("admin_api_key"),
                ca_file=platform.get_output("ca_file").apply(lambda value: str(value or "")),
                requests_per_minute=limits.requests_per_minute, tokens_per_minute=limits.tokens_per_minute,
                monthly_token_budget=limits.monthly_tokens,
            )  # fmt: skip
            pulumi.export("tenant_id", record.tenant_id)
            pulumi.export("api_key", record.api_key.apply(_handing(on_api_key)))
            pulumi.export("api_key_prefix", record.key_prefix)
        if context.cluster is not None:
            namespace, provider = _cluster_resources(spec, context.cluster, platform)
            pulumi.export("namespace", namespace)
            if not context.admin_api:
                key = _record_job(spec, context, provider)
                pulumi.export("record", RECORD_JOB)
                pulumi.export("api_key", key.apply(_handing(on_api_key)))
                pulumi.export("api_key_prefix", pulumi.Output.unsecret(key.apply(_prefix)))

    return program


def _handing(on_api_key: Callable[[str], None] | None) -> Callable[[str], str]:
    def hand(key: str) -> str:
        if on_api_key is not None and key:
            on_api_key(key)
        return key

    return hand


def _prefix(key: str) -> str:
    from helixflow.runtime.security.api_keys import key_prefix

    return key_prefix(key)


def _record_job(spec: TenantSpec, context: TenantContext, provider: pulumi.ProviderResource) -> pulumi.Output[str]:
    """The tenant's record, written by a Job in the runtime's namespace; its key, derived from the stack's seed."""
    from helixflow.components.k8s.tenant_record import TenantRecordArgs, TenantRecordJob
    from helixflow.runtime.security.api_keys import derive_api_key

    assert context.cluster is not None
    key: pulumi.Output[str] = pulumi.Config("helixflow").require_secret(KEY_SEED_CONFIG).apply(
        lambda seed: derive_api_key(seed, f"tenant:{spec.name}"))  # fmt: skip
    limits = spec.limits()
    TenantRecordJob(
        f"{spec.name}-runtime",
        TenantRecordArgs(tenant=spec.name, runtime_namespace=context.cluster.platform_namespace,
                         image=context.cluster.runtime_image, api_key=key,
                         requests_per_minute=limits.requests_per_minute, tokens_per_minute=limits.tokens_per_minute,
                         monthly_tokens=limits.monthly_tokens, retire=context.retire),
        pulumi.ResourceOptions(providers=[provider]),
    )  # fmt: skip
    return key


def _cluster_resources(spec: TenantSpec, cluster: ClusterTenant,
                       platform: pulumi.StackReference) -> tuple[pulumi.Output[str], pulumi.ProviderResource]:
    import pulumi_kubernetes as k8s

    from helixflow.components.k8s.tenant import DedicatedPool, TenantArgs, TenantResources
    from helixflow.runtime.pool.sglang_worker import SGLangWorkerSpec

    provider = k8s.Provider(
        "cluster", kubeconfig=platform.require_output("kubeconfig"),
        context=platform.get_output("context").apply(lambda value: value or None), delete_unreachable=True,
    )  # fmt: skip
    pool = None
    if spec.model is not None:
        gpus = min(cluster.gpus_per_worker, max(spec.gpus, 1))
        pool = DedicatedPool(
            runtime_image=cluster.runtime_image, sglang_image=cluster.sglang_image,
            worker=SGLangWorkerSpec(model_path=spec.model, served_model_name=spec.model, gpus=gpus, tp_size=gpus),
            pool_api_key=pulumi.Config("helixflow").require_secret(POOL_KEY_CONFIG),
            workers=max(spec.gpus // gpus, 1),
        )  # fmt: skip
    args = TenantArgs(
        tenant=spec.name, namespace=cluster.namespace, platform_namespace=cluster.platform_namespace, gpus=spec.gpus,
        cpu=str(2 + 8 * spec.gpus), memory=f"{4 + 96 * spec.gpus}Gi", pool=pool,
    )  # fmt: skip
    resources = TenantResources(spec.name, args, pulumi.ResourceOptions(providers=[provider]))
    namespace: pulumi.Output[str] = resources.namespace
    return namespace, provider
