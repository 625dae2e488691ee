"""Small plans built by hand, as the plan runner records them (camelCase provider inputs)."""

from __future__ import annotations

from typing import Any

from helixflow.stacks.cost.prices import PriceTable
from helixflow.stacks.plan.model import PlannedResource as R

GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]


def aws_stack() -> list[R]:
    return [
        R("helixflow:aws:Platform", "hf", component=True),
        R("pulumi:providers:aws", "aws", properties={"region": "us-east-1"}),
        R("aws:ec2/vpc:Vpc", "vpc", "hf", {"cidrBlock": "10.0.0.0/16"}),
        R("aws:eks/cluster:Cluster", "cluster", "hf", {"version": "1.34"}),
        R("aws:eks/nodeGroup:NodeGroup", "system", "hf", {"instanceTypes": ["m6i.large"], "capacityType": "ON_DEMAND",
                                                          "diskSize": 50.0,
                                                          "scalingConfig": {"minSize": 2.0, "maxSize": 3.0}}),
        R("aws:eks/nodeGroup:NodeGroup", "gpu", "hf", {"instanceTypes": ["g6.12xlarge"], "capacityType": "SPOT",
                                                       "taints": GPU_TAINT,
                                                       "scalingConfig": {"minSize": 0.0, "maxSize": 4.0}}),
        R("aws:rds/instance:Instance", "db", "hf", {"instanceClass": "db.r7g.large", "multiAz": True,
                                                    "storageType": "gp3", "allocatedStorage": 100.0,
                                                    "maxAllocatedStorage": 200.0, "backupRetentionPeriod": 7.0}),
        R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", "hf",
          {"nodeType": "cache.r7g.large", "numCacheClusters": 2.0}),
        R("aws:ec2/natGateway:NatGateway", "nat", "hf", {}),
        R("aws:ec2/eip:Eip", "nat-ip", "hf", {"domain": "vpc"}),
        R("aws:s3/bucket:Bucket", "models", "hf", {}),
        R("aws:cloudwatch/logGroup:LogGroup", "logs", "hf", {"retentionInDays": 30.0}),
        R("kubernetes:core/v1:Service", "ingress", "hf", {"spec": {"type": "LoadBalancer"}}),
    ]  # fmt: skip


def price_table(**overrides: Any) -> PriceTable:
    """Round figures, so a test can price a plan by hand."""
    data: dict[str, Any] = {
        "cloud": "aws", "source": "test figures", "date": "2026-12-01",
        "regions": {"us-east-1": {
            "machines": {"m6i.large": {"on_demand": 0.10, "spot": 0.04}, "g6.12xlarge": {"on_demand": 5.0, "spot": 2.0},
                         "db.r7g.large": {"on_demand": 0.25}, "cache.r7g.large": {"on_demand": 0.20}},
            "rates": {"cluster_hour": 0.10, "ebs_gp3_gb_month": 0.08, "rds_storage_gp3_gb_month": 0.10,
                      "rds_backup_gb_month": 0.10, "nat_gateway_hour": 0.05, "nat_gateway_gb": 0.05,
                      "public_ipv4_hour": 0.005, "s3_standard_gb_month": 0.02, "logs_ingest_gb": 0.5,
                      "logs_storage_gb_month": 0.03, "load_balancer_hour": 0.02, "load_balancer_gb": 0.01},
        }},
    }  # fmt: skip
    data.update(overrides)
    return PriceTable.model_validate(data)
