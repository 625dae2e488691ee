"""What the AWS and GCP stack sections share: the runtime they put on the cluster they create, and the checks
of their GPU pools against it. Each cloud's section adds its own network, cluster, pools and data stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pydantic import Field

from helixflow.stacks.config.common import Strict
from helixflow.stacks.config.kubernetes import CloudBackupSettings, ImageSettings, ModelSettings, ScalingSettings

NAME = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"


class GpuPool(Protocol):
    """A cloud's GPU pool setting, as the shared checks read it."""

    @property
    def name(self) -> str: ...

    @property
    def max_nodes(self) -> int: ...

    def gpus_per_node(self) -> int: ...

    def check(self, region: str, where: str) -> None: ...


class ClusterRuntimeSettings(Strict):
    """The runtime on a cloud's cluster: namespaces, workers and their GPUs, the model, images, scaling, backups."""

    backup: CloudBackupSettings = CloudBackupSettings()
    namespace_prefix: str = Field("helixflow", min_length=1, max_length=40, pattern=NAME)
    workers: int = Field(2, ge=0, le=1000, description="SGLang workers")
    gpus_per_worker: int = Field(1, ge=1, le=16)
    router_replicas: int = Field(2, ge=1, le=10)
    model: ModelSettings = ModelSettings()
    images: ImageSettings = ImageSettings()
    scaling: ScalingSettings = ScalingSettings()

    def check_gpu_pools(self, pools: Sequence[GpuPool], region: str) -> None:
        """Distinct pool names, each pool valid in the region, and room in the pools for every worker."""
        names = [pool.name for pool in pools]
        if len(set(names)) != len(names):
            raise ValueError(f"gpu_pools: pool names must differ (got {', '.join(names)})")
        for index, pool in enumerate(pools):
            pool.check(region, f"gpu_pools.{index}")
        widest = max(pool.gpus_per_node() for pool in pools)
        if self.gpus_per_worker > widest:
            raise ValueError(f"gpus_per_worker {self.gpus_per_worker}: the largest GPU node has {widest} GPUs; "
                             "lower gpus_per_worker or add a pool with larger nodes")  # fmt: skip
        capacity = sum(pool.max_nodes * (pool.gpus_per_node() // self.gpus_per_worker) for pool in pools)
        if self.workers > capacity:
            raise ValueError(f"workers {self.workers} x gpus_per_worker {self.gpus_per_worker}: the GPU pools hold "
                             f"at most {capacity} workers at max_nodes; raise gpu_pools' max_nodes or lower workers")
