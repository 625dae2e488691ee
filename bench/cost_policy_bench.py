"""Time of the cost estimate and the policy evaluation over a synthetic full-stack plan (~300 resources).

    .venv/bin/python bench/cost_policy_bench.py [--repeat N]

The plan is shaped like a full AWS or GCP stack: network, cluster, system and GPU pools, database,
cache, bucket, IAM, logs, the autoscaler's ASG tags, and the Kubernetes layer (namespaces,
Deployments, Services, NetworkPolicies, ...). `plan --cost` has 5 s in all, most of it Pulumi's mocks
run; these two should take tens of milliseconds. Prints the cold import, then median and worst of N.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from typing import Any

from helixflow.stacks.plan.model import PlannedResource as R

TAGS = {"helixflow:stack": "bench", "helixflow:tenant": "acme", "helixflow:owner": "platform"}
TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
CONTAINER = {"name": "app", "image": "ghcr.io/helixflow/runtime:0.9.0",
             "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
             "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True,
                                 "allowPrivilegeEscalation": False}}  # fmt: skip


def kubernetes_layer(namespaces: int = 3, apps: int = 15) -> list[R]:
    out: list[R] = []
    for n in range(namespaces):
        ns = f"ns{n}"
        out.append(R("kubernetes:core/v1:Namespace", ns, properties={"metadata": {"name": ns}}))
        out.append(R("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{ns}-deny", properties={
            "metadata": {"namespace": ns}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}))
        for a in range(apps):
            meta: dict[str, Any] = {"namespace": ns, "labels": {"app.kubernetes.io/name": f"app{a}"}}
            pod = {"containers": [CONTAINER], "initContainers": [CONTAINER]}
            out += [
                R("kubernetes:apps/v1:Deployment", f"{ns}-app{a}", properties={
                    "metadata": meta, "spec": {"template": {"spec": pod}}}),
                R("kubernetes:core/v1:Service", f"{ns}-app{a}-svc", properties={"metadata": meta,
                                                                                "spec": {"type": "ClusterIP"}}),
                R("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"{ns}-app{a}-allow", properties={
                    "metadata": meta, "spec": {"podSelector": {"matchLabels": {"app": f"app{a}"}},
                                               "policyTypes": ["Ingress"], "ingress": [{"from": []}]}}),
                R("kubernetes:policy/v1:PodDisruptionBudget", f"{ns}-app{a}-pdb", properties={"metadata": meta}),
            ]  # fmt: skip
    out.append(R("kubernetes:helm.sh/v3:Release", "ingress-nginx", properties={"chart": "ingress-nginx"}))
    out.append(R("kubernetes:core/v1:PersistentVolumeClaim", "models", properties={
        "spec": {"resources": {"requests": {"storage": "500Gi"}}}}))
    return out


def aws_plan() -> list[R]:
    out = [R("pulumi:providers:aws", "aws", properties={"region": "us-east-1", "defaultTags": {"tags": TAGS}}),
           R("helixflow:aws:Platform", "hf", component=True), R("aws:ec2/vpc:Vpc", "vpc")]  # fmt: skip
    for z in range(3):
        out += [R("aws:ec2/subnet:Subnet", f"private-{z}"), R("aws:ec2/subnet:Subnet", f"public-{z}"),
                R("aws:ec2/natGateway:NatGateway", f"nat-{z}"), R("aws:ec2/eip:Eip", f"nat-ip-{z}"),
                R("aws:ec2/routeTable:RouteTable", f"rt-{z}"), R("aws:ec2/route:Route", f"route-{z}")]  # fmt: skip
    out.append(R("aws:eks/cluster:Cluster", "eks", properties={"vpcConfig": {"endpointPublicAccess": False},
                                                             "encryptionConfig": {"resources": ["secrets"]}}))
    pools = [("system", "m6i.xlarge", "ON_DEMAND", 2, 6), ("gpu-l4", "g6.12xlarge", "ON_DEMAND", 0, 8),
             ("gpu-l4-spot", "g6.12xlarge", "SPOT", 0, 8), ("gpu-h100", "p5.48xlarge", "ON_DEMAND", 0, 4)]
    for name, instance, capacity, low, high in pools:
        gpu = instance[0] in "gp"
        out.append(R("aws:ec2/launchTemplate:LaunchTemplate", f"{name}-lt", properties={
            "blockDeviceMappings": [{"ebs": {"volumeSize": 300.0, "encrypted": "true"}}],
            "tagSpecifications": [{"resourceType": "instance", "tags": {"helixflow.io/pool": name}}]}))
        out.append(R("aws:eks/nodeGroup:NodeGroup", name, properties={
            "instanceTypes": [instance], "capacityType": capacity, "labels": {"helixflow.io/pool": name},
            "taints": TAINT if gpu else None, "launchTemplate": {"id": "lt"},
            "scalingConfig": {"minSize": float(low), "maxSize": float(high)}}))
        out += [R("aws:autoscaling/tag:Tag", f"{name}-asg-{t}") for t in range(12)]
    out += [
        R("aws:rds/instance:Instance", "db", properties={
            "instanceClass": "db.r7g.large", "multiAz": True, "storageType": "gp3", "allocatedStorage": 100.0,
            "maxAllocatedStorage": 1000.0, "backupRetentionPeriod": 30.0, "storageEncrypted": True,
            "deletionProtection": True, "finalSnapshotIdentifier": "final"}),
        R("aws:rds/parameterGroup:ParameterGroup", "db-params"), R("aws:rds/subnetGroup:SubnetGroup", "db-subnets"),
        R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", properties={
            "nodeType": "cache.r7g.large", "numCacheClusters": 2.0, "atRestEncryptionEnabled": True,
            "transitEncryptionEnabled": True, "finalSnapshotIdentifier": "final"}),
        R("aws:s3/bucket:Bucket", "models"),
        R("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "models-pab", properties=dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True)),
        R("aws:kms/key:Key", "data-key"), R("aws:cloudwatch/logGroup:LogGroup", "cluster-logs"),
        R("aws:cloudwatch/logGroup:LogGroup", "flow-logs"), R("aws:ec2/flowLog:FlowLog", "flow"),
    ]  # fmt: skip
    out += [R("aws:iam/role:Role", f"role-{i}") for i in range(6)]
    out += [R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"attach-{i}") for i in range(12)]
    return out + kubernetes_layer()


def _timed(fn: Any, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for shared in ("pydantic", "yaml", "rich.table"):  # the CLI has loaded these before a plan runs
        importlib.import_module(shared)
    started = time.perf_counter()
    cost = importlib.import_module("helixflow.stacks.cost")
    policy = importlib.import_module("helixflow.stacks.policy")
    imported_ms = (time.perf_counter() - started) * 1000
    plan = aws_plan()
    prices = cost.load_prices("aws")
    print(f"plan: {len(plan)} resources; cold import of cost + policy (pydantic, yaml, rich loaded): "
          f"{imported_ms:.1f} ms")
    report = cost.estimate(plan, prices, "us-east-1")
    verdict = policy.evaluate(plan)
    print(f"estimate: ${report.low:,.2f} - ${report.high:,.2f} a month, {len(report.unpriced)} unpriced lines; "
          f"policy: {len(verdict.mandatory)} mandatory, {len(verdict.advisory)} advisory violations")
    for label, fn in (("load_prices(aws)", lambda: cost.load_prices("aws")),
                      ("estimate", lambda: cost.estimate(plan, prices, "us-east-1")),
                      ("evaluate", lambda: policy.evaluate(plan)),
                      ("estimate + evaluate", lambda: (cost.estimate(plan, prices, "us-east-1"),
                                                       policy.evaluate(plan)))):  # fmt: skip
        median, worst = _timed(fn, args.repeat)
        print(f"{label:>22}: median {median:7.2f} ms, worst {worst:7.2f} ms ({args.repeat} runs)")


if __name__ == "__main__":
    main()
