"""The `gcp:` section: GKE with GPU node pools, Cloud SQL, Memorystore and GCS."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from helixflow.stacks.config.common import StackBase, Strict


class GcpSettings(Strict):
    project: str | None = Field(None, pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$", description="the GCP project id")
    region: str = Field("us-central1", pattern=r"^[a-z]+-[a-z]+\d+$", description="the GCP region")


class GcpStack(StackBase):
    """A stack of target `gcp`: its `gcp:` section only."""

    target: Literal["gcp"]
    gcp: GcpSettings = GcpSettings()
