"""The EKS cluster: secrets encrypted with a KMS key, control-plane logs, API access entries, an OIDC
provider (IRSA) and the Pod Identity agent, a system node group and one managed node group per GPU pool."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, kms_key, service_role
from helixflow.components.aws.nodegroups import NodePoolSpec, node_group

TYPE = "helixflow:aws:GpuCluster"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
)
ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent")


@dataclass(frozen=True)
class GpuClusterArgs:
    cluster_name: str
    version: str
    system_pool: NodePoolSpec
    gpu_pools: Sequence[NodePoolSpec]
    private_subnet_ids: pulumi.Input[Sequence[str]] = ()  # control-plane interfaces and every node
    service_cidr: str = "172.20.0.0/16"
    public_endpoint: bool = True
    public_access_cidrs: Sequence[str] = ("0.0.0.0/0",)
    admin_principal_arns: Sequence[str] = field(default_factory=tuple)
    log_retention_days: int = 90

    def validate(self) -> None:
        if self.system_pool.is_gpu:
            raise ValueError("the system pool has no GPUs (gpus_per_node 0)")
        if not self.gpu_pools:
            raise ValueError("a GPU cluster needs at least one GPU pool")
        names = [self.system_pool.name, *(p.name for p in self.gpu_pools)]
        if len(set(names)) != len(names):
            raise ValueError(f"node pool names must differ: {', '.join(names)}")
        for pool in (self.system_pool, *self.gpu_pools):
            pool.validate()
            if pool in self.gpu_pools and not pool.is_gpu:
                raise ValueError(f"GPU pool {pool.name} has gpus_per_node 0")
        if self.public_endpoint and not self.public_access_cidrs:
            raise ValueError("a public endpoint needs public_access_cidrs (who may reach it)")


class GpuCluster(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for pools no cluster could run."""

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    node_groups: list[aws.eks.NodeGroup]

    def __init__(self, name: str, args: GpuClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        if args.private_subnet_ids == ():
            raise ValueError("private_subnet_ids: the cluster needs the network's private subnets")
        super().__init__(TYPE, name, None, opts)
        key = kms_key(f"{name}-secrets", f"envelope encryption of {args.cluster_name}'s Kubernetes secrets", self)
        role = service_role(f"{name}-control-plane", "eks.amazonaws.com",
                            ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"], self)  # fmt: skip
        # EKS writes control-plane logs here; made first so they have a retention.
        logs = aws.cloudwatch.LogGroup(f"{name}-control-plane-logs", name=f"/aws/eks/{args.cluster_name}/cluster",
                                       retention_in_days=args.log_retention_days, opts=child(self))  # fmt: skip
        cluster = aws.eks.Cluster(
            name, name=args.cluster_name, version=args.version, role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids, endpoint_private_access=True,
                endpoint_public_access=args.public_endpoint,
                public_access_cidrs=list(args.public_access_cidrs) if args.public_endpoint else None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn), resources=["secrets"],
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True,
            ),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(service_ipv4_cidr=args.service_cidr),
            opts=child(self, depends_on=[logs]),
        )  # fmt: skip
        issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer or "")  # type: ignore[index]
        oidc = aws.iam.OpenIdConnectProvider(f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
                                             opts=child(self))  # fmt: skip
        self._admins(name, cluster, args.admin_principal_arns)
        node_role = service_role(f"{name}-nodes", "ec2.amazonaws.com", NODE_POLICIES, self)
        volumes = kms_key(f"{name}-volumes", f"{args.cluster_name}'s node root volumes", self)
        self.node_groups = [
            node_group(f"{name}-{pool.name}", pool, cluster, args.cluster_name, node_role.arn, args.private_subnet_ids,
                       volumes.arn, self)
            for pool in (args.system_pool, *args.gpu_pools)
        ]  # fmt: skip
        for addon in ADDONS:  # after the nodes: coredns needs somewhere to run
            aws.eks.Addon(f"{name}-{addon}", cluster_name=cluster.name, addon_name=addon,
                          resolve_conflicts_on_update="OVERWRITE",
                          opts=child(self, depends_on=self.node_groups[:1]))  # fmt: skip
        self.cluster_name = cluster.name
        self.endpoint = cluster.endpoint
        self.certificate_authority = cluster.certificate_authority.apply(lambda ca: ca.data or "")
        self.oidc_provider_arn = oidc.arn
        self.cluster_security_group_id = cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id or "")
        self.register_outputs({"cluster_name": self.cluster_name, "endpoint": self.endpoint,
                               "oidc_provider_arn": self.oidc_provider_arn,
                               "cluster_security_group_id": self.cluster_security_group_id})  # fmt: skip

    def _admins(self, name: str, cluster: aws.eks.Cluster, principals: Sequence[str]) -> None:
        """Access entries (authentication mode API, no aws-auth ConfigMap): each principal a cluster admin."""
        for index, arn in enumerate(principals):
            entry = aws.eks.AccessEntry(f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=arn,
                                        type="STANDARD", opts=child(self))  # fmt: skip
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{index}", cluster_name=cluster.name, principal_arn=arn, policy_arn=ADMIN_POLICY,
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child(self, depends_on=[entry]),
            )  # fmt: skip
