"""The gcp: section: the catalog, the production defaults, and every refusal naming the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from helixflow.stacks.config import GcpStack, parse_config
from helixflow.stacks.config.gcp_catalog import gcp_catalog
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets import get_target

pytestmark = pytest.mark.unit


def refused(**gcp: Any) -> str:
    with pytest.raises(HelixFlowError) as err:
        parse_config({"target": "gcp", "gcp": {"project": "acme-inference", **gcp}})
    assert err.value.hint  # every refusal says how to fix it
    return err.value.message


def test_the_catalog_names_its_source_and_date_and_every_zone_is_in_a_known_region() -> None:
    catalog = gcp_catalog()
    assert catalog.source.startswith("https://cloud.google.com/") and catalog.checked.startswith("20")
    assert {"H200", "H100", "A100-80GB", "A100-40GB", "L4", "T4"} <= set(catalog.gpus)
    for offer in catalog.gpus.values():
        assert offer.accelerator.startswith("nvidia-") and offer.memory_gib > 0 and offer.machine_types
        for zone in offer.zones:
            assert zone in catalog.zones[zone.rsplit("-", 1)[0]], zone
    assert catalog.gpus["H100"].machine_types["a3-highgpu-8g"] == 8
    assert catalog.gpus["H200"].accelerator == "nvidia-h200-141gb"


def test_the_defaults_are_production_ones() -> None:
    config = parse_config({"target": "gcp", "gcp": {"project": "acme-inference"}})
    assert isinstance(config, GcpStack)
    g = config.gcp
    assert g.deletion_protection and g.database.high_availability and g.database.backup_retention_days == 30
    assert g.cluster.release_channel == "REGULAR" and g.bucket.backup_retention_days == 30
    assert [(p.gpu, p.min_nodes, p.capacity) for p in g.gpu_pools] == [("L4", 0, "on-demand")]
    assert g.cluster.zone_names(g.region) == ["us-central1-a", "us-central1-b", "us-central1-c"]


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"gpu_pools": [{"name": "g", "gpu": "L40S"}]},
         "gpu_pools.0.gpu: unknown GPU 'L40S' (Google Cloud offers no NVIDIA L40S"),
        ({"gpu_pools": [{"name": "g", "gpu": "B300"}]}, "valid GPUs: H200, H100, A100-80GB, A100-40GB, L4, T4"),
        ({"region": "us-east1", "gpu_pools": [{"name": "g", "gpu": "H100"}]},
         "gpu_pools.0.gpu: H100 is not offered in us-east1"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "machine_type": "a3-highgpu-8g"}]},
         "gpu_pools.0.machine_type: a3-highgpu-8g carries no L4; valid: g2-standard-8"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "zones": ["us-central1-f"]}]},
         "gpu_pools.0.zones: us-central1-f offers no L4"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "zones": ["europe-west4-a"]}]},
         "'europe-west4-a' is not a zone of us-central1"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "min_nodes": 3, "max_nodes": 1}]},
         "gpu_pools.0: max_nodes 1 is below min_nodes 3: raise max_nodes or lower min_nodes"),
        ({"cluster": {"system_nodes": {"min_nodes": 4, "max_nodes": 2}}}, "max_nodes 2 is below min_nodes 4"),
        ({"network": {"pods_cidr": "10.8.0.0/14"}}, "network.pods_cidr 10.8.0.0/14 overlaps network.services_cidr"),
        ({"network": {"private_services_cidr": "10.0.0.0/16"}},
         "network.subnet_cidr 10.0.0.0/20 overlaps network.private_services_cidr"),
        ({"network": {"master_cidr": "172.16.0.0/24"}}, "network.master_cidr 172.16.0.0/24 must be a /28"),
        ({"region": "mars-north1"}, "region 'mars-north1' is not in HelixFlow's GCP catalog; valid regions:"),
        ({"cluster": {"zones": ["us-central1-z"]}}, "cluster.zones: 'us-central1-z' is not a zone of us-central1"),
        ({"gpu_pools": [{"name": "g", "gpu": "H100", "capacity": "reservation"}]},
         "gpu_pools.0.reservation: capacity reservation needs the reservation's name"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "capacity": "queued", "min_nodes": 1}]},
         "queued provisioning (DWS) grants nodes on request only; set min_nodes 0"),
        ({"gpu_pools": [{"name": "g", "gpu": "H100", "capacity": "spot", "compact_placement": True}]},
         "compact_placement: not with capacity spot"),
        ({"workers": 9}, "workers 9 x gpus_per_worker 1: the GPU pools hold at most 4 workers"),
        ({"gpus_per_worker": 4}, "gpus_per_worker 4: the largest GPU node has 1 GPUs"),
        ({"database": {"log_retention_days": 14}}, "the ENTERPRISE edition keeps at most 7 days"),
        ({"bucket": {"model_prefix": "data/", "backup_prefix": "data/"}}, "must not contain one another"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "spot": True}]}, "gpu_pools.0.spot: unknown key"),
    ],
)  # fmt: skip
def test_a_configuration_no_project_could_build_is_refused_naming_the_field(settings: dict[str, Any],
                                                                           says: str) -> None:  # fmt: skip
    assert says in refused(**settings)


def test_a_deployable_stack_needs_a_project_and_may_ask_for_every_shared_feature() -> None:
    target = get_target("gcp")
    no_project = parse_config({"target": "gcp"})
    with pytest.raises(HelixFlowError, match=r"helixflow:gcp.project is not set") as err:
        target.require_deployable(no_project)
    assert "helixflow config set gcp.project" in str(err.value.hint)
    target.require_deployable(parse_config({"target": "gcp", "domain": "api.example.com", "acme_email": "o@acme.io",
                                            "gcp": {"project": "acme-inference"}}))  # fmt: skip
    target.require_deployable(parse_config({"target": "gcp", "gpu": True, "high_availability": True,
                                            "gcp": {"project": "acme-inference"}}))  # fmt: skip


def test_the_checked_in_example_is_a_valid_deployable_gcp_stack() -> None:
    from pathlib import Path

    document = yaml.safe_load((Path(__file__).parents[2] / "examples/gcp-gpu/Pulumi.gpu-prod.yaml").read_text())
    settings = {key.partition(":")[2]: value for key, value in document["config"].items()}
    config = parse_config(settings)
    assert isinstance(config, GcpStack)
    get_target("gcp").require_deployable(config)
    assert [p.gpus_per_node() for p in config.gcp.gpu_pools] == [8, 4]
