"""The GCP components under mocks: what each creates, its security properties, the GPU pools, the
Workload Identity split, and the parent of every child."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from helixflow.components.gcp.bucket import Bucket, BucketArgs
from helixflow.components.gcp.cluster import GpuCluster, GpuClusterArgs
from helixflow.components.gcp.identity import Identities, IdentitiesArgs, account_id
from helixflow.components.gcp.network import Network, NetworkArgs
from helixflow.components.gcp.nodepools import NodePoolSpec
from tests.gcp.conftest import PROJECT, Plan
from tests.gcp.mocks import run_program

pytestmark = pytest.mark.unit
PlanOf = Callable[..., Plan]
H100_POOL = {"name": "h100", "gpu": "H100", "min_nodes": 0, "max_nodes": 2}


def test_the_network_has_pod_and_service_ranges_nat_and_private_service_access(plan: PlanOf) -> None:
    p = plan()
    assert p.one("gcp:compute/network:Network").inputs["autoCreateSubnetworks"] is False
    subnet = p.one("gcp:compute/subnetwork:Subnetwork").inputs
    assert subnet["ipCidrRange"] == "10.0.0.0/20" and subnet["privateIpGoogleAccess"] is True
    assert {r["rangeName"]: r["ipCidrRange"] for r in subnet["secondaryIpRanges"]} == {
        "pods": "10.4.0.0/14", "services": "10.8.0.0/20"}  # fmt: skip
    assert p.one("gcp:compute/routerNat:RouterNat").inputs["natIpAllocateOption"] == "AUTO_ONLY"
    reserved = p.one("gcp:compute/globalAddress:GlobalAddress").inputs
    assert (reserved["purpose"], reserved["address"], reserved["prefixLength"]) == ("VPC_PEERING", "10.16.0.0", 16)
    connection = p.one("gcp:servicenetworking/connection:Connection").inputs
    assert connection["service"] == "servicenetworking.googleapis.com"


def test_the_cluster_is_regional_private_with_workload_identity_and_dataplane_v2(plan: PlanOf) -> None:
    cluster = plan().one("gcp:container/cluster:Cluster").inputs
    assert cluster["location"] == "us-central1"
    assert cluster["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]
    assert cluster["removeDefaultNodePool"] is True and cluster["deletionProtection"] is True
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.0/28"
    assert cluster["workloadIdentityConfig"]["workloadPool"] == f"{PROJECT}.svc.id.goog"
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"  # Dataplane V2: NetworkPolicies enforced
    assert cluster["releaseChannel"]["channel"] == "REGULAR"
    assert cluster["enableShieldedNodes"] is True
    assert cluster["masterAuth"]["clientCertificateConfig"]["issueClientCertificate"] is False
    assert cluster["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods",
                                             "servicesSecondaryRangeName": "services"}  # fmt: skip


def test_every_node_is_shielded_with_gke_metadata_and_no_public_ip(plan: PlanOf) -> None:
    for pool in plan().of("gcp:container/nodePool:NodePool"):
        config = pool.inputs["nodeConfig"]
        assert config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert config["workloadMetadataConfig"]["mode"] == "GKE_METADATA"  # Workload Identity on the node
        assert config["serviceAccount"].startswith("hf-unit-cluster-nodes@")  # not the default compute account
        assert "networkConfig" not in pool.inputs  # private nodes come from the cluster: no per-pool public IPs


def test_gpu_pools_carry_the_accelerator_the_driver_and_the_taint_and_scale_from_zero(plan: PlanOf) -> None:
    p = plan(gpu_pools=[{"name": "l4", "gpu": "L4", "machine_type": "g2-standard-24", "max_nodes": 3}])
    pool = p.named("hf-unit-cluster-l4", "gcp:container/nodePool:NodePool").inputs
    config = pool["nodeConfig"]
    assert config["machineType"] == "g2-standard-24"
    assert config["guestAccelerators"] == [{"type": "nvidia-l4", "count": 2,
                                            "gpuDriverInstallationConfig": {"gpuDriverVersion": "LATEST"}}]
    assert config["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
    assert config["labels"]["nvidia.com/gpu.present"] == "true"
    assert pool["autoscaling"] == {"totalMinNodeCount": 0, "totalMaxNodeCount": 3, "locationPolicy": "ANY"}
    assert pool["initialNodeCount"] == 0
    assert pool["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c"]  # the zones with L4
    system = p.named("hf-unit-cluster-system", "gcp:container/nodePool:NodePool").inputs
    assert "guestAccelerators" not in system["nodeConfig"] and "taints" not in system["nodeConfig"]


def test_h100_pools_are_compact_in_one_zone_and_spot_pools_take_no_reservation(plan: PlanOf) -> None:
    spot = {"name": "spot", "gpu": "L4", "capacity": "spot", "max_nodes": 4}
    p = plan(gpu_pools=[H100_POOL, spot], workers=1)
    h100 = p.named("hf-unit-cluster-h100", "gcp:container/nodePool:NodePool").inputs
    assert h100["placementPolicy"] == {"type": "COMPACT"} and h100["nodeLocations"] == ["us-central1-a"]
    assert h100["nodeConfig"]["machineType"] == "a3-highgpu-8g"
    assert h100["nodeConfig"]["guestAccelerators"][0]["type"] == "nvidia-h100-80gb"
    assert h100["nodeConfig"]["guestAccelerators"][0]["count"] == 8
    spot_pool = p.named("hf-unit-cluster-spot", "gcp:container/nodePool:NodePool").inputs
    assert spot_pool["nodeConfig"]["spot"] is True and "placementPolicy" not in spot_pool
    assert spot_pool["nodeConfig"]["reservationAffinity"] == {"consumeReservationType": "NO_RESERVATION"}


def test_reservations_and_queued_provisioning_as_the_blueprints_do(plan: PlanOf) -> None:
    reserved = {**H100_POOL, "name": "reserved", "capacity": "reservation", "reservation": "h100-block"}
    queued = {**H100_POOL, "name": "dws", "capacity": "queued", "compact_placement": False}
    p = plan(gpu_pools=[reserved, queued])
    affinity = p.named("hf-unit-cluster-reserved", "gcp:container/nodePool:NodePool").inputs["nodeConfig"][
        "reservationAffinity"]
    assert affinity == {"consumeReservationType": "SPECIFIC_RESERVATION",
                        "key": "compute.googleapis.com/reservation-name", "values": ["h100-block"]}
    dws = p.named("hf-unit-cluster-dws", "gcp:container/nodePool:NodePool").inputs
    assert dws["queuedProvisioning"] == {"enabled": True}
    assert dws["autoscaling"]["totalMinNodeCount"] == 0 and dws["management"]["autoRepair"] is False
    assert dws["nodeConfig"]["reservationAffinity"]["consumeReservationType"] == "NO_RESERVATION"


def test_cloud_sql_is_regional_private_tls_only_backed_up_and_protected_on_both_sides(plan: PlanOf) -> None:
    p = plan()
    db = p.one("gcp:sql/databaseInstance:DatabaseInstance")
    settings = db.inputs["settings"]
    assert db.inputs["databaseVersion"] == "POSTGRES_16"
    assert db.inputs["deletionProtection"] is True and settings["deletionProtectionEnabled"] is True
    assert db.protect is True
    assert settings["availabilityType"] == "REGIONAL"
    ip = settings["ipConfiguration"]
    assert ip["ipv4Enabled"] is False and ip["sslMode"] == "ENCRYPTED_ONLY" and "authorizedNetworks" not in ip
    assert ip["privateNetwork"] == p.one("gcp:compute/network:Network").inputs.get("id", ip["privateNetwork"])
    assert ip["privateNetwork"].endswith("/global/networks/hf-unit-network-vpc")
    backups = settings["backupConfiguration"]
    assert backups["enabled"] is True and backups["pointInTimeRecoveryEnabled"] is True
    assert backups["backupRetentionSettings"] == {"retainedBackups": 30, "retentionUnit": "COUNT"}
    assert backups["transactionLogRetentionDays"] == 7


def test_lifting_deletion_protection_lifts_it_everywhere(plan: PlanOf) -> None:
    p = plan(deletion_protection=False)
    db = p.one("gcp:sql/databaseInstance:DatabaseInstance")
    assert db.inputs["deletionProtection"] is False and db.inputs["settings"]["deletionProtectionEnabled"] is False
    assert not db.protect and p.one("gcp:container/cluster:Cluster").inputs["deletionProtection"] is False
    assert p.one("gcp:storage/bucket:Bucket").inputs["forceDestroy"] is True


def test_memorystore_is_standard_ha_with_tls_and_auth_on_private_service_access(plan: PlanOf) -> None:
    cache = plan().one("gcp:redis/instance:Instance")
    assert cache.inputs["tier"] == "STANDARD_HA" and cache.inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert cache.inputs["authEnabled"] is True and cache.inputs["connectMode"] == "PRIVATE_SERVICE_ACCESS"
    assert cache.inputs["authorizedNetwork"].endswith("/global/networks/hf-unit-network-vpc")
    assert cache.protect


def test_the_bucket_is_private_uniform_versioned_and_expires_backups(plan: PlanOf) -> None:
    bucket = plan().one("gcp:storage/bucket:Bucket").inputs
    assert bucket["uniformBucketLevelAccess"] is True and bucket["publicAccessPrevention"] == "enforced"
    assert bucket["versioning"] == {"enabled": True} and bucket["forceDestroy"] is False
    expiring = [r for r in bucket["lifecycleRules"] if r["condition"].get("matchesPrefixes") == ["backups/"]]
    assert expiring == [{"action": {"type": "Delete"}, "condition": {"age": 30, "matchesPrefixes": ["backups/"]}}]


def test_workload_identity_gives_each_job_only_its_prefix(plan: PlanOf) -> None:
    p = plan()
    grants = {r.name: r.inputs for r in p.of("gcp:storage/bucketIAMMember:BucketIAMMember")}
    assert set(grants) == {"hf-unit-identities-worker-reads-models", "hf-unit-identities-backup-writes-backups",
                           "hf-unit-identities-restore-reads-backups"}  # fmt: skip
    worker = grants["hf-unit-identities-worker-reads-models"]
    backup = grants["hf-unit-identities-backup-writes-backups"]
    restore = grants["hf-unit-identities-restore-reads-backups"]
    assert restore["role"] == "roles/storage.objectViewer"  # read: no create, no delete
    assert restore["member"].startswith("serviceAccount:hf-unit-identities-restore@")
    assert 'startsWith("projects/_/buckets/hf-unit-bucket/objects/backups/")' in restore["condition"]["expression"]
    assert worker["role"] == "roles/storage.objectViewer"
    assert worker["member"].startswith("serviceAccount:hf-unit-identities-worker@")
    assert 'startsWith("projects/_/buckets/hf-unit-bucket/objects/models/")' in worker["condition"]["expression"]
    assert backup["role"] == "roles/storage.objectCreator"
    assert backup["member"].startswith("serviceAccount:hf-unit-identities-backup@")
    assert backup["condition"]["expression"] == (
        'resource.name.startsWith("projects/_/buckets/hf-unit-bucket/objects/backups/")')
    bindings = {r.name: r.inputs for r in p.of("gcp:serviceaccount/iAMMember:IAMMember")}
    assert {b["member"] for b in bindings.values()} == {
        f"serviceAccount:{PROJECT}.svc.id.goog[helixflow/sglang-worker]",
        f"serviceAccount:{PROJECT}.svc.id.goog[helixflow/backup]",
        f"serviceAccount:{PROJECT}.svc.id.goog[helixflow/db-restore]"}  # fmt: skip
    assert {b["role"] for b in bindings.values()} == {"roles/iam.workloadIdentityUser"}
    node_roles = {r.inputs["role"] for r in p.of("gcp:projects/iAMMember:IAMMember")}
    assert not any("storage" in role or role in ("roles/owner", "roles/editor") for role in node_roles)
    ksas = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["annotations"]
            for r in p.of("kubernetes:core/v1:ServiceAccount") if r.parent == "hf-unit-k8s-accounts"}  # fmt: skip
    assert ksas["sglang-worker"]["iam.gke.io/gcp-service-account"].startswith("hf-unit-identities-worker@")
    assert ksas["backup"]["iam.gke.io/gcp-service-account"].startswith("hf-unit-identities-backup@")
    assert ksas["db-restore"]["iam.gke.io/gcp-service-account"].startswith("hf-unit-identities-restore@")


def test_the_layer_reaches_the_managed_stores_over_verified_tls(plan: PlanOf) -> None:
    p = plan()
    secret = p.named("hf-unit-k8s-runtime-secret", "kubernetes:core/v1:Secret").inputs["stringData"]
    database_url = next(v for v in secret.values() if str(v).startswith("postgresql://"))
    redis_url = next(v for v in secret.values() if str(v).startswith("redis"))
    # the services connect as the runtime's own role; the built-in user's URL is the migrations Job's alone
    assert database_url.startswith("postgresql://helixflow_app:app-secret@10.16.0.")
    assert "pg-secret" not in str(secret) and "HELIXFLOW_DATABASE_ADMIN_URL" not in secret
    admin = p.named("hf-unit-k8s-runtime-migrations-secret", "kubernetes:core/v1:Secret").inputs["stringData"]
    assert admin["HELIXFLOW_DATABASE_ADMIN_URL"].startswith("postgresql://helixflow:pg-secret@10.16.0.")
    for url in (database_url, admin["HELIXFLOW_DATABASE_ADMIN_URL"]):
        assert "sslmode=verify-full" in url and "sslrootcert=/etc/helixflow/ca/postgres-ca.pem" in url
    assert redis_url.startswith("rediss://:plan-auth-") and ":6378/0" in redis_url
    ca = p.named("hf-unit-k8s-runtime-data-ca", "kubernetes:core/v1:Secret").inputs["stringData"]
    assert ca["postgres-ca.pem"].startswith("-----BEGIN CERTIFICATE-----") and ca["redis-ca.pem"]


def test_the_kubernetes_provider_uses_gke_gcloud_auth_plugin(plan: PlanOf) -> None:
    provider = plan().one("pulumi:providers:kubernetes").inputs
    kubeconfig = json.loads(provider["kubeconfig"])
    user = kubeconfig["users"][0]["user"]["exec"]
    assert user["command"] == "gke-gcloud-auth-plugin" and "token" not in kubeconfig["users"][0]["user"]
    cluster = kubeconfig["clusters"][0]["cluster"]
    assert cluster["server"].startswith("https://34.118.") and cluster["certificate-authority-data"]


def test_every_child_has_its_component_as_parent(plan: PlanOf) -> None:
    p = plan()
    expected = {
        "helixflow:gcp:Network": ("hf-unit-network", {"gcp:compute/network:Network",
                                                      "gcp:compute/subnetwork:Subnetwork", "gcp:compute/router:Router",
                                                      "gcp:compute/routerNat:RouterNat",
                                                      "gcp:compute/globalAddress:GlobalAddress",
                                                      "gcp:servicenetworking/connection:Connection"}),
        "helixflow:gcp:GpuCluster": ("hf-unit-cluster", {"gcp:container/cluster:Cluster",
                                                         "gcp:container/nodePool:NodePool",
                                                         "gcp:serviceaccount/account:Account",
                                                         "gcp:projects/iAMMember:IAMMember"}),
        "helixflow:gcp:Database": ("hf-unit-db", {"gcp:sql/databaseInstance:DatabaseInstance",
                                                  "gcp:sql/database:Database", "gcp:sql/user:User"}),
        "helixflow:gcp:Cache": ("hf-unit-cache", {"gcp:redis/instance:Instance"}),
        "helixflow:gcp:Bucket": ("hf-unit-bucket", {"gcp:storage/bucket:Bucket"}),
        "helixflow:gcp:Identities": ("hf-unit-identities", {"gcp:serviceaccount/account:Account",
                                                            "gcp:serviceaccount/iAMMember:IAMMember",
                                                            "gcp:storage/bucketIAMMember:BucketIAMMember"}),
    }  # fmt: skip
    for component, (name, types) in expected.items():
        assert p.named(name, component).parent == "hf-unit"
        assert {r.type for r in p.children(name)} == types, component
    gcp_resources = [r for r in p.resources if r.type.startswith("gcp:")]
    assert all(r.parent in {name for name, _ in expected.values()} for r in gcp_resources)
    assert p.named("hf-unit-k8s", "helixflow:k8s:Layer").parent == "hf-unit"


def _run(build: Callable[[], Any]) -> None:
    run_program(build)


@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: Network("n", NetworkArgs(name="n", region="us-central1", pods_cidr="10.0.0.0/14")),
         "subnet_cidr 10.0.0.0/20 overlaps pods_cidr"),
        (lambda: Bucket("b", BucketArgs(location="US", model_prefix="data/", backup_prefix="data/backups/")),
         "must not contain one another"),
        (lambda: Identities("i", IdentitiesArgs(project="p", namespace="n", bucket="b", worker_service_account="x",
                                                backup_service_account="x")), "different service accounts"),
        (lambda: GpuCluster("c", GpuClusterArgs(
            project="p", region="us-central1", zones=["us-central1-a"],
            system_pool=NodePoolSpec(name="system", machine_type="n2-standard-4", min_nodes=1, max_nodes=3),
            gpu_pools=[NodePoolSpec(name="g", machine_type="g2-standard-8", min_nodes=3, max_nodes=1,
                                    accelerator="nvidia-l4", gpus_per_node=1)])), "max_nodes 1 is below min_nodes 3"),
        (lambda: GpuCluster("c", GpuClusterArgs(
            project="p", region="us-central1", zones=["us-central1-a"],
            system_pool=NodePoolSpec(name="system", machine_type="n2-standard-4", min_nodes=1, max_nodes=3),
            gpu_pools=[NodePoolSpec(name="g", machine_type="a3-highgpu-8g", min_nodes=0, max_nodes=1,
                                    accelerator="nvidia-h100-80gb", gpus_per_node=8, compact_placement=True,
                                    zones=("us-central1-a", "us-central1-c"))])),
         "compact placement needs exactly one"),
    ],
)  # fmt: skip
def test_components_refuse_bad_arguments_before_creating_anything(build: Callable[[], Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        try:
            _run(build)
        except pulumi.RunError as err:  # pragma: no cover - the runner may wrap it
            raise ValueError(str(err)) from None


def test_service_account_ids_keep_their_role_within_30_characters() -> None:
    long_id = account_id("hf-a-very-long-stack-name-indeed", "worker")
    assert len(long_id) <= 30 and long_id.endswith("-worker")


def test_every_gcp_type_the_program_creates_has_deterministic_mock_outputs(plan: PlanOf) -> None:
    from helixflow.stacks.plan.outputs_gcp import OUTPUTS

    p = plan(gpu_pools=[H100_POOL])
    created = {r.type for r in p.resources if r.type.startswith("gcp:")}
    assert created <= set(OUTPUTS), created - set(OUTPUTS)
    for record in p.resources:
        if record.type in OUTPUTS:
            first = OUTPUTS[record.type](record.name, record.inputs)
            assert first == OUTPUTS[record.type](record.name, record.inputs) and first.get("id"), record.type
    sql = OUTPUTS["gcp:sql/databaseInstance:DatabaseInstance"]("db", {})
    assert sql["publicIpAddress"] == "" and sql["serverCaCerts"][0]["cert"].startswith("-----BEGIN CERTIFICATE")


def test_the_runtime_pods_mount_the_data_stores_cas_their_urls_name(plan: Callable[..., Plan]) -> None:
    p = plan()
    ca = next(r for r in p.of("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == "helixflow-data-ca")
    assert set(ca.inputs["stringData"]) == {"postgres-ca.pem", "redis-ca.pem"}
    deployments = {r.inputs["metadata"]["name"]: r for r in p.of("kubernetes:apps/v1:Deployment")}
    for app in ("gateway", "auth", "monitoring"):
        pod = deployments[app].inputs["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["data-ca"]["secret"]["secretName"] == "helixflow-data-ca", app
        mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
        assert mounts["data-ca"]["mountPath"] == "/etc/helixflow/ca" and mounts["data-ca"]["readOnly"] is True
