"""What every HelixFlow pod shares: a restricted security context (Pod Security `restricted`),
labels, probes and resources, as typed pulumi_kubernetes arguments."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_kubernetes as k8s

APP_LABEL = "app.kubernetes.io/name"
PART_OF = {"app.kubernetes.io/part-of": "helixflow"}


def labels(app: str, **extra: str) -> dict[str, str]:
    return {APP_LABEL: app, **PART_OF, **extra}


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def args(self, extra_limits: dict[str, str] | None = None) -> k8s.core.v1.ResourceRequirementsArgs:
        limits = {"cpu": self.cpu_limit, "memory": self.memory_limit, **(extra_limits or {})}
        requests = {"cpu": self.cpu_request, "memory": self.memory_request, **(extra_limits or {})}
        return k8s.core.v1.ResourceRequirementsArgs(requests=requests, limits=limits)


def pod_security(user: int) -> k8s.core.v1.PodSecurityContextArgs:
    return k8s.core.v1.PodSecurityContextArgs(
        run_as_non_root=True, run_as_user=user, run_as_group=user, fs_group=user,
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )  # fmt: skip


def container_security(user: int | None = None) -> k8s.core.v1.SecurityContextArgs:
    """Non-root, read-only root file system, no privilege escalation, every capability dropped; `user`: another
    user than the pod's (a container of another image in the same pod)."""
    return k8s.core.v1.SecurityContextArgs(
        allow_privilege_escalation=False, read_only_root_filesystem=True, run_as_non_root=True,
        run_as_user=user, run_as_group=user,
        capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
    )  # fmt: skip


def http_probe(path: str, port: int, *, period: int = 10, failures: int = 3, delay: int = 0) -> k8s.core.v1.ProbeArgs:
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port), period_seconds=period,
        failure_threshold=failures, initial_delay_seconds=delay, timeout_seconds=5,
    )  # fmt: skip


def scratch_volume(name: str = "tmp", medium: str | None = None, size: str = "256Mi") -> k8s.core.v1.VolumeArgs:
    """An emptyDir: where a read-only-root container may write (/tmp), or /dev/shm with medium Memory."""
    return k8s.core.v1.VolumeArgs(name=name, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(medium=medium,
                                                                                           size_limit=size))


def zone_spread(app: str) -> list[k8s.core.v1.TopologySpreadConstraintArgs]:
    return [
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1, topology_key="topology.kubernetes.io/zone", when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={APP_LABEL: app}),
        )
    ]  # fmt: skip


def env_from_secret(secret: str) -> list[k8s.core.v1.EnvFromSourceArgs]:
    return [k8s.core.v1.EnvFromSourceArgs(secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=secret))]


def env(values: dict[str, str]) -> list[k8s.core.v1.EnvVarArgs]:
    return [k8s.core.v1.EnvVarArgs(name=k, value=v) for k, v in sorted(values.items())]
