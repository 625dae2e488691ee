"""For every rule, plans that comply and plans that violate it, as the plan runner records them."""

from __future__ import annotations

from typing import Any

from helixflow.stacks.plan.model import PlannedResource as R

GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
GOOD_CONTAINER: dict[str, Any] = {
    "name": "gateway", "image": "ghcr.io/helixflow/runtime:0.9.0",
    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
}  # fmt: skip


def deployment(name: str = "gateway", **container: Any) -> R:
    spec = {"containers": [GOOD_CONTAINER | container]}
    return R("kubernetes:apps/v1:Deployment", name, properties={
        "metadata": {"namespace": "helixflow"}, "spec": {"template": {"spec": spec}}})  # fmt: skip


def deny_all(namespace: str, types: list[str]) -> R:
    return R("kubernetes:networking.k8s.io/v1:NetworkPolicy", f"deny-{namespace}", properties={
        "metadata": {"namespace": namespace}, "spec": {"podSelector": {}, "policyTypes": types}})  # fmt: skip


RDS_GOOD = {"storageEncrypted": True, "publiclyAccessible": False, "deletionProtection": True,
            "skipFinalSnapshot": False, "finalSnapshotIdentifier": "hf-db-final"}  # fmt: skip
CACHE_GOOD = {"atRestEncryptionEnabled": True, "transitEncryptionEnabled": True, "finalSnapshotIdentifier": "hf"}
SQL_GOOD = {"deletionProtection": True, "settings": {
    "ipConfiguration": {"ipv4Enabled": False, "sslMode": "ENCRYPTED_ONLY"}, "deletionProtectionEnabled": True,
    "backupConfiguration": {"enabled": True}}}  # fmt: skip
EKS_NG = "aws:eks/nodeGroup:NodeGroup"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GKE_POOL = "gcp:container/nodePool:NodePool"
TAGS = {"helixflow:stack": "dev", "helixflow:tenant": "acme", "helixflow:owner": "platform"}

# rule -> (compliant plans, violating plans); each violating plan breaks the rule at least once
CASES: dict[str, tuple[list[list[R]], list[list[R]]]] = {
    "encrypted-data-stores": (
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD)],
         [R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", properties=CACHE_GOOD)],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties=SQL_GOOD)],
         [R("gcp:redis/instance:Instance", "cache", properties={"transitEncryptionMode": "SERVER_AUTHENTICATION"})],
         [R("aws:rds/parameterGroup:ParameterGroup", "pg", properties={"parameters": [
             {"name": "rds.force_ssl", "value": "1"}]})],
         [R("aws:ec2/launchTemplate:LaunchTemplate", "lt", properties={"blockDeviceMappings": [
             {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100.0, "encrypted": "true"}}]})],
         [R("aws:eks/cluster:Cluster", "eks", properties={"encryptionConfig": {
             "provider": {"keyArn": "arn"}, "resources": ["secrets"]}})]],
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD | {"storageEncrypted": False})],
         [R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", properties=CACHE_GOOD | {
             "transitEncryptionEnabled": False})],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties={"settings": {"ipConfiguration": {
             "sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}}})],
         [R("gcp:redis/instance:Instance", "cache", properties={"transitEncryptionMode": "DISABLED"})],
         [R("aws:rds/parameterGroup:ParameterGroup", "pg", properties={"parameters": [
             {"name": "rds.force_ssl", "value": "0"}]})],
         [R("aws:ec2/launchTemplate:LaunchTemplate", "lt", properties={"blockDeviceMappings": [
             {"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100.0}}]})],
         [R("aws:eks/cluster:Cluster", "eks", properties={"version": "1.34"})]],
    ),
    "no-public-endpoints": (
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD)],
         [R("aws:eks/cluster:Cluster", "eks", properties={"vpcConfig": {"endpointPublicAccess": True,
                                                                          "publicAccessCidrs": ["203.0.113.7/32"]}})],
         [R("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", properties=dict.fromkeys(
             ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"], True))],
         [R("kubernetes:core/v1:Service", "ingress-nginx-controller", properties={"spec": {"type": "LoadBalancer"}})],
         [R("kubernetes:core/v1:Service", "gateway", properties={"spec": {"type": "ClusterIP"}})],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties=SQL_GOOD)],
         [R("gcp:container/cluster:Cluster", "gke", properties={"privateClusterConfig": {"enablePrivateNodes": True}})],
         [R("gcp:storage/bucket:Bucket", "models", properties={"publicAccessPrevention": "enforced"})],
         [R(SG_RULE, "sg", properties={"cidrIpv4": "10.0.0.0/16"})]],
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD | {"publiclyAccessible": True})],
         [R("aws:eks/cluster:Cluster", "eks", properties={"vpcConfig": {"subnetIds": ["a"]}})],
         [R("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab", properties={"blockPublicAcls": True})],
         [R("kubernetes:core/v1:Service", "gateway", properties={"spec": {"type": "LoadBalancer"}})],
         [R("kubernetes:core/v1:Service", "gateway", properties={"spec": {"type": "NodePort"}})],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties={"settings": {}})],
         [R("gcp:container/cluster:Cluster", "gke", properties={})],
         [R("gcp:storage/bucket:Bucket", "models", properties={"publicAccessPrevention": "inherited"})],
         [R(SG_RULE, "sg", properties={"cidrIpv4": "0.0.0.0/0"})],
         [R("gcp:compute/firewall:Firewall", "fw", properties={"sourceRanges": ["0.0.0.0/0"]})]],
    ),
    "data-store-deletion-safety": (
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD)],
         [R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", properties=CACHE_GOOD)],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties=SQL_GOOD)],
         [R("aws:s3/bucket:Bucket", "models", properties={"forceDestroy": False})]],
        [[R("aws:rds/instance:Instance", "db", properties=RDS_GOOD | {"deletionProtection": False})],
         [R("aws:rds/instance:Instance", "db", properties=RDS_GOOD | {"skipFinalSnapshot": True})],
         [R("aws:elasticache/replicationGroup:ReplicationGroup", "cache", properties={})],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties=SQL_GOOD | {"deletionProtection": False})],
         [R("gcp:storage/bucket:Bucket", "models", properties={"forceDestroy": True})]],
    ),
    "gpu-nodes-tainted": (
        [[R(EKS_NG, "gpu", properties={"instanceTypes": ["g6.12xlarge"], "taints": GPU_TAINT})],
         [R(EKS_NG, "system", properties={"instanceTypes": ["m6i.large"]})],
         [R(GKE_POOL, "gpu", properties={"nodeConfig": {"machineType": "g2-standard-8", "taints": GPU_TAINT}})]],
        [[R(EKS_NG, "gpu", properties={"instanceTypes": ["p5.48xlarge"]})],
         [R(EKS_NG, "gpu", properties={"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["x"], "taints": [
             {"key": "nvidia.com/gpu", "value": "true", "effect": "PREFER_NO_SCHEDULE"}]})],
         [R(GKE_POOL, "gpu", properties={"nodeConfig": {"machineType": "n1-standard-8", "guestAccelerators": [
             {"type": "nvidia-tesla-t4", "count": 1.0}]}})]],
    ),
    "required-tags": (
        [[R("aws:s3/bucket:Bucket", "models", properties={"tags": TAGS})],
         [R("pulumi:providers:aws", "aws", properties={"defaultTags": {"tags": TAGS}}),
          R("aws:ec2/vpc:Vpc", "vpc", properties={})],
         [R("pulumi:providers:gcp", "gcp", properties={"defaultLabels": {
             "helixflow-stack": "dev", "helixflow-tenant": "acme", "helixflow-owner": "platform"}}),
          R("gcp:storage/bucket:Bucket", "models", properties={})],
         [R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"labels": {
             "helixflow.io/stack": "dev", "helixflow.io/tenant": "acme", "helixflow.io/owner": "platform"}}})],
         [R("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", properties={})]],  # not taggable
        [[R("aws:s3/bucket:Bucket", "models", properties={"tags": {"helixflow:stack": "dev"}})],
         [R("pulumi:providers:aws", "aws", properties={"defaultTags": {"tags": {"helixflow:stack": "dev"}}}),
          R("aws:ec2/vpc:Vpc", "vpc", properties={})],
         [R("gcp:sql/databaseInstance:DatabaseInstance", "db", properties={"settings": {"userLabels": {}}})],
         [R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {}})]],
    ),
    "node-pool-size-limits": (
        [[R(EKS_NG, "system", properties={"instanceTypes": ["m6i.large"], "scalingConfig": {"minSize": 2.0,
                                                                                            "maxSize": 50.0}})],
         [R(GKE_POOL, "gpu", properties={"nodeConfig": {"machineType": "a3-highgpu-8g", "taints": GPU_TAINT},
                                         "autoscaling": {"totalMinNodeCount": 0.0, "totalMaxNodeCount": 16.0}})]],
        [[R(EKS_NG, "system", properties={"instanceTypes": ["m6i.large"], "scalingConfig": {"minSize": 2.0,
                                                                                            "maxSize": 51.0}})],
         [R(EKS_NG, "gpu", properties={"instanceTypes": ["g6.xlarge"], "scalingConfig": {"minSize": 0.0,
                                                                                        "maxSize": 17.0}})],
         [R(EKS_NG, "system", properties={"instanceTypes": ["m6i.large"], "scalingConfig": {"minSize": 3.0,
                                                                                            "maxSize": 2.0}})],
         [R(GKE_POOL, "gpu", properties={"location": "us-central1", "nodeConfig": {"machineType": "g2-standard-8"},
                                         "autoscaling": {"minNodeCount": 0.0, "maxNodeCount": 6.0}})]],  # 6 x 3 zones
    ),
    "no-latest-images": (
        [[deployment()], [deployment(image="ghcr.io/helixflow/runtime@sha256:" + "a" * 64)],
         [deployment(image="localhost:5000/runtime:1.2")]],
        [[deployment(image="ghcr.io/helixflow/runtime:latest")], [deployment(image="redis")],
         [deployment(image="localhost:5000/runtime")]],
    ),
    "workload-resources": (
        [[deployment()]],
        [[deployment(resources={"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}})],
         [deployment(resources={"requests": {"cpu": "1", "memory": "1Gi"}})], [deployment(resources=None)]],
    ),
    "workload-security-context": (
        [[deployment()]],
        [[deployment(securityContext={"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False})],
         [deployment(securityContext={"runAsNonRoot": True, "allowPrivilegeEscalation": False})],
         [deployment(securityContext={"runAsNonRoot": True, "readOnlyRootFilesystem": True})]],
    ),
    "default-deny-network-policies": (
        [[R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"name": "helixflow"}}),
          deny_all("helixflow", ["Ingress", "Egress"])],
         [R("kubernetes:core/v1:Namespace", "helixflow", properties={}),
          deny_all("helixflow", ["Ingress"]), deny_all("helixflow", ["Egress"])]],
        [[R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"name": "helixflow"}})],
         [R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"name": "helixflow"}}),
          deny_all("helixflow", ["Ingress"])],
         [R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"name": "helixflow"}}),
          deny_all("other", ["Ingress", "Egress"])],
         [R("kubernetes:core/v1:Namespace", "ns", properties={"metadata": {"name": "helixflow"}}),
          R("kubernetes:networking.k8s.io/v1:NetworkPolicy", "allow", properties={
              "metadata": {"namespace": "helixflow"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                                               "ingress": [{"from": [{"podSelector": {}}]}]}})]],
    ),
}
