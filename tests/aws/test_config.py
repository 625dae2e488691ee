"""The `aws:` section: the GPU catalog, and every impossible setting refused naming the field and the fix."""

from __future__ import annotations

from typing import Any

import pytest

from helixflow.stacks.config import AwsStack, parse_config
from helixflow.stacks.config.aws_catalog import aws_catalog
from helixflow.stacks.errors import HelixFlowError
from helixflow.stacks.targets import get_target

pytestmark = pytest.mark.unit


def aws(**settings: Any) -> AwsStack:
    config = parse_config({"target": "aws", "aws": settings})
    assert isinstance(config, AwsStack)
    return config


def refused(**settings: Any) -> str:
    with pytest.raises(HelixFlowError) as err:
        aws(**settings)
    assert err.value.hint
    return err.value.message


def test_the_catalog_says_where_it_comes_from_and_is_consistent() -> None:
    catalog = aws_catalog()
    assert catalog.source and catalog.checked[:4].isdigit()
    assert {"H200", "H100", "A100-80GB", "A100-40GB", "L40S", "L4", "A10G"} <= set(catalog.gpus)
    for gpu in catalog.gpus.values():
        assert gpu.memory_gib > 0 and gpu.instance_types and all(n >= 1 for n in gpu.instance_types.values())
        assert set(gpu.regions) <= set(catalog.zones), f"{gpu.name} lists a region without zones"
    assert catalog.gpus["H100"].instance_types["p5.48xlarge"] == 8


def test_the_defaults_are_production_ones() -> None:
    a = aws().aws
    assert a.database.multi_az and a.database.backup_retention_days == 30 and a.deletion_protection
    assert not a.network.single_nat_gateway and a.network.zones == 3 and a.cache.nodes >= 2
    assert all(pool.min_nodes == 0 for pool in a.gpu_pools)
    private, public = a.network.subnets()
    assert private == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"] and len(public) == 3


def test_a_spot_pool_gets_every_instance_type_with_the_same_gpus_per_node() -> None:
    pool = aws(gpu_pools=[{"name": "spot", "gpu": "A10G", "instance_type": "g5.12xlarge", "capacity": "spot"}],
               workers=1, gpus_per_worker=4).aws.gpu_pools[0]  # fmt: skip
    assert pool.instance_types() == ["g5.12xlarge", "g5.24xlarge"] and pool.gpus_per_node() == 4


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"gpu_pools": [{"name": "g", "gpu": "B200"}]},
         "gpu_pools.0.gpu: unknown GPU 'B200'; valid GPUs: H200, H100, A100-80GB"),
        ({"region": "eu-west-1", "gpu_pools": [{"name": "g", "gpu": "H200"}]},
         "gpu_pools.0.gpu: H200 is not offered in eu-west-1"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "instance_type": "p5.48xlarge"}]},
         "gpu_pools.0.instance_type: p5.48xlarge carries no L4; valid: g6.2xlarge"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4", "min_nodes": 3, "max_nodes": 1}]},
         "gpu_pools.0: max_nodes 1 is below min_nodes 3"),
        ({"cluster": {"system_nodes": {"min_nodes": 5, "max_nodes": 2}}}, "max_nodes 2 is below min_nodes 5"),
        ({"network": {"service_cidr": "10.0.0.0/12"}}, "network.service_cidr 10.0.0.0/12 overlaps network.vpc_cidr"),
        ({"network": {"private_subnet_cidrs": ["10.0.0.0/19", "10.0.16.0/20", "10.0.64.0/19"]}},
         "network.private_subnet_cidrs 10.0.0.0/19 overlaps network.private_subnet_cidrs 10.0.16.0/20"),
        ({"network": {"public_subnet_cidrs": ["10.9.0.0/24", "10.0.228.0/22", "10.0.232.0/22"]}},
         "network.public_subnet_cidrs 10.9.0.0/24 is outside network.vpc_cidr"),
        ({"network": {"availability_zones": ["us-east-1a", "eu-west-1b"]}},
         "network.availability_zones: 'eu-west-1b' is not a zone of us-east-1"),
        ({"region": "us-gov-east-1"}, "region 'us-gov-east-1' is not in HelixFlow's AWS catalog; valid regions:"),
        ({"workers": 9}, "workers 9 x gpus_per_worker 1: the GPU pools hold at most 4 workers"),
        ({"gpus_per_worker": 2}, "gpus_per_worker 2: the largest GPU node has 1 GPUs"),
        ({"gpu_pools": [{"name": "g", "gpu": "L4"}, {"name": "g", "gpu": "A10G"}]}, "pool names must differ"),
        ({"database": {"engine_version": "15.4"}}, "helixflow:aws.database.engine_version"),
        ({"gpu_pol": []}, "helixflow:aws.gpu_pol: unknown key (did you mean 'gpu_pools'?)"),
    ],
)  # fmt: skip
def test_an_impossible_setting_is_refused_naming_the_field(settings: dict[str, Any], says: str) -> None:
    assert says in refused(**settings)


def test_aws_offers_every_shared_feature() -> None:
    config = parse_config({"target": "aws", "domain": "api.example.com", "acme_email": "ops@example.com",
                           "gpu": True, "high_availability": True})  # fmt: skip
    get_target("aws").require_deployable(config)
