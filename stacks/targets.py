"""The per-target contract: what each target supports, and what it does not (with the reason)."""

from __future__ import annotations

from dataclasses import dataclass, field

from helixflow.stacks.errors import HelixFlowError


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    available: bool
    unavailable_reason: str = ""
    unsupported: dict[str, str] = field(default_factory=dict)


TARGETS: dict[str, Target] = {
    "local": Target(
        name="local",
        description="the whole platform as processes on this machine, no cloud account",
        available=True,
        unsupported={
            "gpu": "CPU engine workers (llama.cpp) stand in for SGLang GPU workers",
            "high availability": "one process per data store; the cloud targets use managed HA services",
            "public DNS / ACME": "TLS from a CA the stack generates; trust it with the outputs' CA file",
        },
    ),
    "aws": Target(
        name="aws",
        description="EKS with GPU node groups, RDS PostgreSQL, ElastiCache Redis, S3",
        available=False,
        unavailable_reason="the AWS program is not part of this release yet",
    ),
    "gcp": Target(
        name="gcp",
        description="GKE with GPU node pools, Cloud SQL, Memorystore, GCS",
        available=False,
        unavailable_reason="the GCP program is not part of this release yet",
    ),
}
TARGET_NAMES = tuple(TARGETS)


def get_target(name: str) -> Target:
    """The target called name. Raises ValueError listing the valid names (pydantic reports it)."""
    target = TARGETS.get(name)
    if target is None:
        raise ValueError(f"unknown target {name!r}; valid targets: {', '.join(TARGET_NAMES)}")
    return target


def require_available(name: str) -> Target:
    target = get_target(name)
    if not target.available:
        reason = target.unavailable_reason
        raise HelixFlowError(f"target {name!r} cannot be deployed: {reason}", hint="use target local")
    return target
