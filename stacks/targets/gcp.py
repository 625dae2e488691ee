"""The `gcp` target: VPC, GKE with GPU node pools, Cloud SQL, Memorystore and GCS, then the Kubernetes layer."""

from __future__ import annotations

from helixflow.stacks.config import GcpStack
from helixflow.stacks.targets.planned import PlannedTarget


class GcpTarget(PlannedTarget):
    name = "gcp"
    description = "GKE with GPU node pools, Cloud SQL, Memorystore, GCS"
    config_model = GcpStack
    reason = "the GCP program is not part of this release yet"
