"""A small GCP stack, with Kubernetes volumes and Helm releases, priced by hand."""

from __future__ import annotations

from helixflow.stacks.cost import PriceTable, estimate, load_prices
from helixflow.stacks.plan.model import PlannedResource as R

TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
PRICES = PriceTable.model_validate({
    "cloud": "gcp", "source": "test figures", "date": "2026-12-01",
    "regions": {"us-central1": {
        "machines": {"e2-standard-4": {"on_demand": 0.1}, "n1-standard-8": {"on_demand": 0.4, "spot": 0.1},
                     "g2-standard-8": {"on_demand": 1.0, "spot": 0.4, "includes_accelerators": True}},
        "accelerators": {"nvidia-tesla-t4": {"on_demand": 0.5, "spot": 0.2}},
        "rates": {"cluster_hour": 0.1, "logs_ingest_gb": 0.5, "pd_balanced_gb_month": 0.1, "sql_vcpu_hour": 0.04,
                  "sql_memory_gb_hour": 0.01, "sql_storage_ssd_gb_month": 0.2, "sql_backup_gb_month": 0.1,
                  "redis_standard_ha_gb_hour": 0.05, "gcs_standard_gb_month": 0.02, "nat_gateway_hour": 0.04,
                  "nat_gateway_gb": 0.05, "load_balancer_hour": 0.02, "load_balancer_gb": 0.01},
    }},
})  # fmt: skip
PLAN = [
    R("gcp:container/cluster:Cluster", "gke", properties={"location": "us-central1", "removeDefaultNodePool": True}),
    R("gcp:container/nodePool:NodePool", "system", properties={
        "location": "us-central1", "nodeConfig": {"machineType": "e2-standard-4"},
        "autoscaling": {"minNodeCount": 1.0, "maxNodeCount": 2.0}}),
    R("gcp:container/nodePool:NodePool", "gpu", properties={
        "nodeConfig": {"machineType": "g2-standard-8", "spot": True, "diskSizeGb": 200.0, "taints": TAINT,
                       "guestAccelerators": [{"type": "nvidia-l4", "count": 1.0}]},
        "autoscaling": {"totalMinNodeCount": 0.0, "totalMaxNodeCount": 2.0}}),
    R("gcp:container/nodePool:NodePool", "t4", properties={
        "location": "us-central1-a", "nodeCount": 1.0,
        "nodeConfig": {"machineType": "n1-standard-8",
                       "guestAccelerators": [{"type": "nvidia-tesla-t4", "count": 2.0}]}}),
    R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties={"settings": {
        "tier": "db-custom-4-16384", "availabilityType": "REGIONAL", "diskSize": 100.0, "diskAutoresizeLimit": 200.0,
        "backupConfiguration": {"enabled": True}}}),
    R("gcp:redis/instance:Instance", "cache", properties={"tier": "STANDARD_HA", "memorySizeGb": 5.0}),
    R("gcp:storage/bucket:Bucket", "models", properties={}),
    R("gcp:compute/routerNat:RouterNat", "nat", properties={}),
    R("gcp:compute/globalAddress:GlobalAddress", "psa",
      properties={"purpose": "VPC_PEERING", "addressType": "INTERNAL"}),
    R("kubernetes:core/v1:PersistentVolumeClaim", "cache-pvc", properties={
        "spec": {"resources": {"requests": {"storage": "10Gi"}}}}),
    R("kubernetes:apps/v1:StatefulSet", "postgres", properties={"spec": {"replicas": 2.0, "volumeClaimTemplates": [
        {"spec": {"resources": {"requests": {"storage": "20Gi"}}}}]}}),
    R("kubernetes:helm.sh/v3:Release", "ingress", properties={"chart": "ingress-nginx"}),
    R("kubernetes:helm.sh/v3:Release", "certs", properties={"chart": "cert-manager"}),
]  # fmt: skip
BY_HAND = {
    ("gke", "control plane"): (73.0, 73.0),  # 0.1 x 730
    ("gke", "logs"): (10.0, 10.0),  # 20 GB x 0.5
    ("system", "system nodes"): (249.0, 498.0),  # (0.1 x 730 + 100 GB x 0.1) x 1..2 per zone x 3 zones
    ("gpu", "gpu nodes"): (0.0, 624.0),  # (0.4 spot x 730, GPUs included + 200 GB x 0.1) x 0..2
    ("t4", "gpu nodes"): (1032.0, 1032.0),  # ((0.4 + 2 x 0.5) x 730 + 100 GB x 0.1) x 1, one zone
    ("db", "database"): (512.2, 552.2),  # 2 x (4 x 0.04 + 16 x 0.01) x 730 + 2 x 100..200 x 0.2 + 50 GB x 0.1
    ("cache", "cache"): (182.5, 182.5),  # 5 GB x 0.05 x 730
    ("models", "storage"): (10.0, 10.0),  # 500 GB x 0.02
    ("nat", "network"): (79.2, 79.2),  # 0.04 x 730 + 1000 GB x 0.05
    ("psa", "network"): (0.0, 0.0),  # an internal range
    ("cache-pvc", "storage"): (1.07, 1.07),  # 10 GiB = 10.74 GB x 0.1
    ("postgres", "storage"): (4.29, 4.29),  # 2 x 20 GiB = 42.95 GB x 0.1
    ("ingress", "load balancer"): (24.6, 24.6),  # 0.02 x 730 + 1000 GB x 0.01
    ("certs", "cluster"): (0.0, 0.0),
}


def test_a_small_gcp_stack_priced_by_hand_equals_the_estimate() -> None:
    report = estimate(PLAN, PRICES, "us-central1")
    assert {(line.resource, line.category): (line.low, line.high) for line in report.lines} == BY_HAND
    assert (report.low, report.high) == (2177.86, 3090.86)


def test_the_shipped_gcp_table_prices_the_whole_stack() -> None:
    report = estimate(PLAN, load_prices("gcp"), "us-central1")
    assert report.unpriced == []
    assert report.high > report.low > 0


def test_a_cluster_that_keeps_its_default_pool_pays_for_its_nodes() -> None:
    cluster = R("gcp:container/cluster:Cluster", "gke", properties={
        "location": "us-central1-a", "initialNodeCount": 2.0, "nodeConfig": {"machineType": "e2-standard-4"}})
    lines = estimate([cluster], PRICES, "us-central1").lines
    pool = next(line for line in lines if line.resource == "gke (default pool)")
    assert (pool.category, pool.low, pool.high) == ("system nodes", 166.0, 166.0)  # 2 x (0.1 x 730 + 100 GB x 0.1)


def test_a_resource_in_another_region_is_priced_there_or_says_why_not() -> None:
    bucket = R("gcp:storage/bucket:Bucket", "eu-models", properties={"region": "europe-west4"})
    (line,) = estimate([bucket], PRICES, "us-central1").lines
    assert line.status == "unpriced" and "europe-west4" in line.note
    (line,) = estimate([bucket], load_prices("gcp"), "us-central1").lines
    assert line.status == "priced" and line.high == 10.0  # 500 GB x 0.02 in europe-west4
