"""Where `scripts/install-kubernetes-sim.sh` cached the simulated cluster's binaries and the Pulumi
Kubernetes provider, and putting that provider where the Pulumi CLI finds it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.pulumi_cli import cache_dir

SIM_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
PROVIDER_BINARY = "pulumi-resource-kubernetes"
BUILD_HINT = "run ./scripts/setup.sh (it builds the simulated cluster once), or ./scripts/install-kubernetes-sim.sh"


@dataclass(frozen=True)
class SimBinaries:
    bin_dir: Path

    def path(self, name: str) -> str:
        return str(self.bin_dir / name)


def find_sim_binaries() -> SimBinaries:
    """The newest complete set of cached binaries ($HELIXFLOW_K8S_SIM_BIN wins). Raises HelixFlowError when none."""
    explicit = os.environ.get("HELIXFLOW_K8S_SIM_BIN")
    candidates = [Path(explicit)] if explicit else sorted((cache_dir() / "k8s-sim").glob("k8s-*/bin"), reverse=True)
    for bin_dir in candidates:
        if all(os.access(bin_dir / name, os.X_OK) for name in SIM_BINARIES):
            return SimBinaries(bin_dir)
    looked = ", ".join(str(c) for c in candidates) or str(cache_dir() / "k8s-sim")
    raise HelixFlowError(f"the simulated cluster's binaries are not built (looked in {looked})", hint=BUILD_HINT)


def kubernetes_provider_version() -> str:
    """The Pulumi Kubernetes provider the installed pulumi-kubernetes SDK asks for."""
    from importlib.metadata import version

    return version("pulumi-kubernetes")


def find_kubernetes_provider() -> Path | None:
    version = kubernetes_provider_version()
    explicit = os.environ.get("HELIXFLOW_PULUMI_KUBERNETES_PROVIDER")
    binary = Path(explicit) if explicit else cache_dir() / "pulumi-kubernetes" / version / PROVIDER_BINARY
    return binary if os.access(binary, os.X_OK) else None


def install_kubernetes_provider(pulumi_home: Path) -> Path:
    """Link the cached provider into `pulumi_home`'s plugins, named as the engine looks for it.
    Raises HelixFlowError when it is not built."""
    binary = find_kubernetes_provider()
    if binary is None:
        raise HelixFlowError(
            f"the Pulumi Kubernetes provider {kubernetes_provider_version()} is not installed", hint=BUILD_HINT
        )
    plugin_dir = pulumi_home / "plugins" / f"resource-kubernetes-v{kubernetes_provider_version()}"
    plugin_dir.mkdir(parents=True, exist_ok=True)
    link = plugin_dir / PROVIDER_BINARY
    if not link.exists() or link.resolve() != binary.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(binary)
    (plugin_dir.parent / f"{plugin_dir.name}.lock").touch()
    return link
