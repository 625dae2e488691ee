"""The AWS components under Pulumi's mocks: what they create, and the security properties a review checks
(encryption, nothing public but the load balancer, TLS forced, deletion protection, private placement,
GPU taints and scale-from-zero tags, the IAM split, the parent of every child)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from helixflow.components.aws.cache import CacheArgs
from helixflow.components.aws.cluster import GpuClusterArgs
from helixflow.components.aws.database import DatabaseArgs
from helixflow.components.aws.network import NetworkArgs
from helixflow.components.aws.nodegroups import NodePoolSpec
from helixflow.stacks.plan.outputs_aws import hex_id
from tests.aws.conftest import Plan

pytestmark = pytest.mark.unit
Planner = Callable[..., Plan]
SYSTEM = NodePoolSpec(name="system", instance_types=["m6i.xlarge"], min_size=2, max_size=4)
GPU = NodePoolSpec(name="gpu", instance_types=["g6.2xlarge"], min_size=0, max_size=2, gpus_per_node=1, gpu="L4")


def private_subnet_ids(plan: Plan) -> set[str]:
    return {f"subnet-{hex_id(r.name)}" for r in plan.of("aws:ec2/subnet:Subnet") if "-private-" in r.name}


def test_every_child_has_its_component_as_parent(example: Plan) -> None:
    components = {r.name: r.type for r in example.resources if r.component}
    assert set(components.values()) >= {"helixflow:aws:Platform", "helixflow:aws:Network", "helixflow:aws:GpuCluster",
                                        "helixflow:aws:Database", "helixflow:aws:Cache", "helixflow:aws:Bucket",
                                        "helixflow:aws:Identities", "helixflow:k8s:Layer"}  # fmt: skip
    for resource in example.resources:
        if resource.type in ("pulumi:providers:aws", "helixflow:aws:Platform"):
            assert resource.parent is None
        else:
            assert resource.parent in components, f"{resource.type} {resource.name} has parent {resource.parent}"
    by_parent = {components[r.parent]: r for r in example.resources if r.parent}
    assert by_parent["helixflow:aws:Database"] and by_parent["helixflow:aws:Network"]
    assert {components[r.parent] for r in example.of("aws:rds/instance:Instance")} == {"helixflow:aws:Database"}
    assert {components[r.parent] for r in example.of("aws:eks/nodeGroup:NodeGroup")} == {"helixflow:aws:GpuCluster"}


def test_the_network_spans_three_zones_with_a_nat_each_and_flow_logs(plan: Planner) -> None:
    p = plan()
    subnets = p.props("aws:ec2/subnet:Subnet")
    assert len(subnets) == 6 and len({s["availabilityZone"] for s in subnets}) == 3
    assert all(s["mapPublicIpOnLaunch"] is False for s in subnets)
    public = [s for s in subnets if s["tags"].get("kubernetes.io/role/elb") == "1"]
    private = [s for s in subnets if s["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    assert len(public) == len(private) == 3
    assert all(s["tags"]["karpenter.sh/discovery"] == "helixflow-unit" for s in private)
    assert all(s["tags"]["kubernetes.io/cluster/helixflow-unit"] == "shared" for s in subnets)
    assert len(p.of("aws:ec2/natGateway:NatGateway")) == 3
    assert p.one("aws:ec2/flowLog:FlowLog").properties["trafficType"] == "ALL"
    assert p.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").properties.get("ingress") in (None, [])
    single = plan(network={"single_nat_gateway": True, "zones": 2})
    assert len(single.of("aws:ec2/natGateway:NatGateway")) == 1 and len(single.of("aws:ec2/subnet:Subnet")) == 4


def test_secrets_volumes_and_data_are_encrypted_with_kms(plan: Planner) -> None:
    p = plan()
    cluster = p.one("aws:eks/cluster:Cluster").properties
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:us-east-1:")
    for template in p.props("aws:ec2/launchTemplate:LaunchTemplate"):
        ebs = template["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true" and ebs["kmsKeyId"].startswith("arn:aws:kms:")
    db = p.one("aws:rds/instance:Instance").properties
    assert db["storageEncrypted"] is True and db["kmsKeyId"].startswith("arn:aws:kms:")
    assert db["performanceInsightsEnabled"] is True and db["performanceInsightsKmsKeyId"] == db["kmsKeyId"]
    cache = p.one("aws:elasticache/replicationGroup:ReplicationGroup").properties
    assert cache["atRestEncryptionEnabled"] is True and cache["kmsKeyId"].startswith("arn:aws:kms:")
    sse = p.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    default = sse.properties["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert all(k["enableKeyRotation"] is True for k in p.props("aws:kms/key:Key"))


def test_tls_is_forced_on_every_data_path(plan: Planner) -> None:
    p = plan()
    group = p.one("aws:rds/parameterGroup:ParameterGroup").properties
    parameters = {x["name"]: x["value"] for x in group["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    cache = p.one("aws:elasticache/replicationGroup:ReplicationGroup").properties
    assert cache["transitEncryptionEnabled"] is True and cache["transitEncryptionMode"] == "required"
    assert cache["authToken"] == "[secret]"  # from the stack's secrets, never in the plan's output
    statement = json.loads(p.one("aws:s3/bucketPolicy:BucketPolicy").properties["policy"])["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_nodes_and_data_stores_live_in_private_subnets_only_and_nothing_is_public(plan: Planner) -> None:
    p = plan()
    private = private_subnet_ids(p)
    assert len(private) == 3
    for group in p.props("aws:eks/nodeGroup:NodeGroup"):
        assert set(group["subnetIds"]) == private
    assert set(p.one("aws:eks/cluster:Cluster").properties["vpcConfig"]["subnetIds"]) == private
    assert set(p.one("aws:rds/subnetGroup:SubnetGroup").properties["subnetIds"]) == private
    assert set(p.one("aws:elasticache/subnetGroup:SubnetGroup").properties["subnetIds"]) == private
    assert p.one("aws:rds/instance:Instance").properties["publiclyAccessible"] is False
    block = p.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").properties
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                         "restrictPublicBuckets"))  # fmt: skip
    for rule in p.props("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        assert "cidrIpv4" not in rule and rule["referencedSecurityGroupId"].startswith("sg-")
    for service in p.props("kubernetes:core/v1:Service"):  # only an ingress controller may face the internet
        assert service.get("spec", {}).get("type") != "LoadBalancer" or "ingress" in service["metadata"]["name"]
    templates = p.props("aws:ec2/launchTemplate:LaunchTemplate")
    assert all(t["metadataOptions"]["httpTokens"] == "required" for t in templates)


def test_the_database_keeps_its_data(plan: Planner) -> None:
    p = plan()
    db = p.one("aws:rds/instance:Instance")
    props = db.properties
    assert props["engine"] == "postgres" and props["engineVersion"].startswith("16") and props["multiAz"] is True
    assert props["deletionProtection"] is True and props["skipFinalSnapshot"] is False
    assert props["finalSnapshotIdentifier"] and props["backupRetentionPeriod"] == 30
    assert props["manageMasterUserPassword"] is True and "password" not in props
    assert db.protect and p.one("aws:elasticache/replicationGroup:ReplicationGroup").protect
    assert p.one("aws:s3/bucket:Bucket").protect and p.one("aws:s3/bucket:Bucket").properties["forceDestroy"] is False
    cache = p.one("aws:elasticache/replicationGroup:ReplicationGroup").properties
    assert cache["automaticFailoverEnabled"] and cache["multiAzEnabled"] and cache["numCacheClusters"] == 2
    assert cache["snapshotRetentionLimit"] >= 1 and cache["engine"] == "redis" and cache["engineVersion"] == "7.1"
    lifecycle = p.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").properties["rules"]
    backups = next(r for r in lifecycle if r["id"] == "expire-backups")
    assert backups["filter"]["prefix"] == "backups/" and backups["expiration"]["days"] == 30
    versioning = p.one("aws:s3/bucketVersioning:BucketVersioning").properties
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    unprotected = plan(deletion_protection=False)
    assert unprotected.one("aws:rds/instance:Instance").properties["deletionProtection"] is False
    assert not any(r.protect for r in unprotected.resources)


def test_gpu_pools_are_tainted_labelled_and_scale_from_zero(example: Plan) -> None:
    groups = {r.properties["nodeGroupName"].rsplit("-cluster-", 1)[1]: r.properties
              for r in example.of("aws:eks/nodeGroup:NodeGroup")}  # fmt: skip
    assert set(groups) == {"system", "h100", "l40s-spot"}
    h100, spot, system = groups["h100"], groups["l40s-spot"], groups["system"]
    for gpu in (h100, spot):
        assert gpu["amiType"] == "AL2023_x86_64_NVIDIA" and gpu["scalingConfig"]["minSize"] == 0
        assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
        assert gpu["labels"]["nvidia.com/gpu.present"] == "true"
    assert h100["capacityType"] == "ON_DEMAND" and h100["instanceTypes"] == ["p5.48xlarge"]
    assert spot["capacityType"] == "SPOT" and spot["instanceTypes"] == ["g6e.12xlarge", "g6e.24xlarge"]
    assert system["amiType"] == "AL2023_x86_64_STANDARD" and "taints" not in system
    tags = {(r.name, r.properties["tag"]["key"]): r.properties["tag"]["value"]
            for r in example.of("aws:autoscaling/tag:Tag")}  # fmt: skip
    template = "k8s.io/cluster-autoscaler/node-template"
    h100_tags = {key: value for (name, key), value in tags.items() if "-h100-" in name}
    assert h100_tags[f"{template}/resources/nvidia.com/gpu"] == "8"
    assert h100_tags[f"{template}/taint/nvidia.com/gpu"] == "true:NoSchedule"
    assert h100_tags[f"{template}/label/helixflow.io/gpu"] == "H100"
    spot_tags = {key: value for (name, key), value in tags.items() if "-l40s-spot-" in name}
    assert spot_tags[f"{template}/resources/nvidia.com/gpu"] == "4"
    templates = {r.name: r.properties for r in example.of("aws:ec2/launchTemplate:LaunchTemplate")}
    assert templates["helixflow-gpu-prod-cluster-h100-lt"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 500


def test_the_cluster_uses_access_entries_logs_and_pod_identity(example: Plan) -> None:
    cluster = example.one("aws:eks/cluster:Cluster").properties
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert set(cluster["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert example.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").properties["url"].startswith(
        "https://oidc.eks.us-east-1.amazonaws.com/id/")
    entry = example.one("aws:eks/accessEntry:AccessEntry").properties
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assert "eks-pod-identity-agent" in {a["addonName"] for a in example.props("aws:eks/addon:Addon")}


def _statements(plan: Plan, role_suffix: str) -> list[dict[str, Any]]:
    policy = next(r for r in plan.of("aws:iam/rolePolicy:RolePolicy") if r.name.endswith(role_suffix))
    return list(json.loads(policy.properties["policy"])["Statement"])


def test_workers_read_models_the_backup_job_writes_backups_the_restore_reads_them_and_nobody_else_touches_the_bucket(
    plan: Planner,
) -> None:
    p = plan()
    bucket = p.one("aws:s3/bucket:Bucket")
    bucket_arn = f"arn:aws:s3:::{bucket.properties['bucketPrefix']}{hex_id(bucket.name, 12)}"  # as the mocks name it
    worker = _statements(p, "-identities-worker")
    worker_actions = {a for s in worker for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert worker_actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
    assert next(s for s in worker if s["Action"] == "s3:GetObject")["Resource"] == f"{bucket_arn}/models/*"
    assert next(s for s in worker if s["Action"] == "s3:ListBucket")["Condition"] == {
        "StringLike": {"s3:prefix": ["models/*"]}}
    backup = _statements(p, "-identities-backup")
    assert backup[0]["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert backup[0]["Resource"] == f"{bucket_arn}/backups/*"
    assert not any("s3:GetObject" in json.dumps(s) or "s3:Delete" in json.dumps(s) for s in backup)
    restore = _statements(p, "-identities-restore")
    restore_actions = {a for s in restore for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert restore_actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}  # read only: no put, no delete
    assert next(s for s in restore if s["Action"] == "s3:GetObject")["Resource"] == f"{bucket_arn}/backups/*"
    assert next(s for s in restore if s["Action"] == "s3:ListBucket")["Condition"] == {
        "StringLike": {"s3:prefix": ["backups/*"]}}
    others = [r for r in p.of("aws:iam/rolePolicy:RolePolicy") if "-identities-" not in r.name]
    assert others and not any("s3:" in r.properties["policy"] for r in others)
    assert not any("AmazonS3" in a["policyArn"] for a in p.props("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    associations = p.props("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    bindings = {(a["namespace"], a["serviceAccount"]) for a in associations}
    assert bindings == {("helixflow", "sglang-worker"), ("helixflow", "backup"), ("helixflow", "db-restore")}


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda: NetworkArgs("c", "10.0.0.0/16", ["a"], ["10.0.0.0/19"], ["10.0.224.0/22"]), "2 or more zones"),
        (lambda: NetworkArgs("c", "10.0.0.0/16", ["a", "b"], ["10.0.0.0/19", "10.0.0.0/20"],
                             ["10.0.224.0/22", "10.0.228.0/22"]), "overlaps"),
        (lambda: NetworkArgs("c", "10.0.0.0/16", ["a", "b"], ["10.1.0.0/19", "10.0.32.0/19"],
                             ["10.0.224.0/22", "10.0.228.0/22"]), "outside the VPC"),
        (lambda: GpuClusterArgs("c", "1.34", SYSTEM, []), "at least one GPU pool"),
        (lambda: GpuClusterArgs("c", "1.34", SYSTEM, [NodePoolSpec("gpu", ["g6.2xlarge"], 3, 1, 1, "L4")]),
         "max_size 1 must be >= min_size 3"),
        (lambda: GpuClusterArgs("c", "1.34", SYSTEM, [GPU], public_access_cidrs=()), "public_access_cidrs"),
        (lambda: DatabaseArgs(engine_version="15.4"), "PostgreSQL 16"),
        (lambda: DatabaseArgs(backup_retention_days=40), "1 to 35"),
        (lambda: CacheArgs(auth_token="t", nodes=1), "automatic failover"),
    ],
)
def test_component_arguments_are_refused_before_anything_is_created(make: Callable[[], Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        make().validate()


def test_a_component_refuses_unwired_network_ids_before_registering(plan: Planner) -> None:
    from helixflow.components.aws.database import Database

    with pytest.raises(ValueError, match="give the network's"):
        Database("db", DatabaseArgs(), pulumi.ResourceOptions())


def test_the_master_users_url_is_the_migrations_jobs_alone(plan: Planner) -> None:
    """The plan masks secret values; what it shows: the admin URL is a Secret of its own, read by the Job only."""
    p = plan()
    assert {s["metadata"]["name"] for s in p.props("kubernetes:core/v1:Secret")} >= {"helixflow-runtime",
                                                                                    "helixflow-migrations"}
    job = p.one("kubernetes:batch/v1:Job").properties["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "HELIXFLOW_DATABASE_ADMIN_URL", "valueFrom": {"secretKeyRef": {
        "key": "HELIXFLOW_DATABASE_ADMIN_URL", "name": "helixflow-migrations"}}} in job["env"]
    for deployment in p.props("kubernetes:apps/v1:Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert "helixflow-migrations" not in str(container), deployment["metadata"]["name"]


def test_the_database_is_verified_against_the_regions_rds_roots_mounted_in_every_pod_that_connects(
    plan: Planner,
) -> None:
    """No public trust store holds the RDS roots, so `verify-full` against /etc/ssl/certs would fail: the
    platform ships the region's roots as a data-stores CA file where the URL's sslrootcert names it."""
    from cryptography import x509

    from helixflow.components.aws.platform import RDS_CA_BUNDLE
    from helixflow.components.aws.rds_ca import region_roots

    p = plan()
    region = p.one("pulumi:providers:aws").properties["region"]
    assert "helixflow-data-ca" in {s["metadata"]["name"] for s in p.props("kubernetes:core/v1:Secret")}  # masked
    roots = x509.load_pem_x509_certificates(region_roots(region).encode())
    names = {str(c.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value) for c in roots}
    assert names == {f"Amazon RDS {region} Root CA {kind} G1" for kind in ("RSA2048", "RSA4096", "ECC384")}
    assert RDS_CA_BUNDLE == "/etc/helixflow/ca/rds-ca.pem"
    pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in p.props("kubernetes:apps/v1:Deployment")
            if d["metadata"]["name"] in ("gateway", "auth", "monitoring")}  # fmt: skip
    pods["migrate"] = p.one("kubernetes:batch/v1:Job").properties["spec"]["template"]["spec"]
    for cron in p.props("kubernetes:batch/v1:CronJob"):  # db-backup, db-restore
        pods[cron["metadata"]["name"]] = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert set(pods) == {"gateway", "auth", "monitoring", "migrate", "db-backup", "db-restore"}
    for name, pod in pods.items():
        connecting = [c for c in [*pod.get("initContainers", []), *pod["containers"]]
                      if c["name"] not in ("upload", "fetch")]  # fmt: skip  (the bucket copies need no database)
        for container in connecting:
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/etc/helixflow/ca") == "data-ca", (name, container["name"])


def test_a_region_without_rds_roots_in_the_bundle_is_refused() -> None:
    from helixflow.components.aws.rds_ca import region_roots

    assert region_roots("eu-west-1").count("BEGIN CERTIFICATE") == 3
    with pytest.raises(ValueError, match="no valid Amazon RDS root CA for region 'xx-nowhere-1'"):
        region_roots("xx-nowhere-1")
