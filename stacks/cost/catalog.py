"""Every resource type HelixFlow may plan: priced by a rule, free (with the reason) or unpriced (with the reason).

A type in none of these is reported as unpriced "no price rule" and fails tests/cost/test_coverage.py.
"""

from __future__ import annotations

from helixflow.stacks.cost.report import Status
from helixflow.stacks.cost.rules_aws import AWS_RULES, Rule
from helixflow.stacks.cost.rules_gcp import GCP_RULES
from helixflow.stacks.cost.rules_k8s import K8S_RULES

PRICED: dict[str, Rule] = {**AWS_RULES, **GCP_RULES, **K8S_RULES}

_NETWORK = "network plumbing: no charge of its own"
_IAM = "identity and access: no charge"
_CONFIG = "configuration of a priced resource: no charge of its own"
FREE: dict[str, str] = {
    **dict.fromkeys([
        "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable", "aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "gcp:compute/network:Network", "gcp:compute/subnetwork:Subnetwork", "gcp:compute/router:Router",
        "gcp:compute/firewall:Firewall", "gcp:servicenetworking/connection:Connection",
    ], _NETWORK),
    **dict.fromkeys([
        "aws:iam/role:Role", "aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "aws:iam/instanceProfile:InstanceProfile", "aws:eks/accessEntry:AccessEntry",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember",
        "gcp:serviceaccount/iAMBinding:IAMBinding", "gcp:projects/iAMMember:IAMMember",
        "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    ], _IAM),
    **dict.fromkeys([
        "aws:ec2/launchTemplate:LaunchTemplate", "aws:rds/parameterGroup:ParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup", "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:elasticache/parameterGroup:ParameterGroup", "aws:eks/addon:Addon", "aws:autoscaling/tag:Tag",
        "aws:kms/alias:Alias", "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketVersioningV2:BucketVersioningV2",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:secretsmanager/secretVersion:SecretVersion", "gcp:kms/keyRing:KeyRing",
        "gcp:secretmanager/secretVersion:SecretVersion", "gcp:projects/service:Service",
        "gcp:sql/database:Database", "gcp:sql/user:User",
    ], _CONFIG),
    "aws:ec2/flowLog:FlowLog": "its records are billed on the log group it writes to (priced there)",
    "pulumi-python:dynamic:Resource": "a HelixFlow-managed process on this machine",
}

# Whole packages whose objects cost nothing of their own, except the types PRICED names.
FREE_PREFIXES: dict[str, str] = {
    "kubernetes:": "a Kubernetes object: it runs on nodes that are priced already",
    "pulumi:providers:": "a provider configuration",
}

# Known to cost money, but not estimated: the line says so.
UNPRICED: dict[str, str] = {
    "aws:ec2/instance:Instance": "a standalone instance: HelixFlow runs nodes in node groups; price it yourself",
    "aws:lb/loadBalancer:LoadBalancer": "HelixFlow prices the load balancer through the ingress Service",
}


def classify(type_token: str) -> tuple[Status, Rule | None, str]:
    """("priced", rule, "") / ("free", None, reason) / ("unpriced", None, reason) for a type token."""
    if type_token in PRICED:
        return "priced", PRICED[type_token], ""
    if type_token in FREE:
        return "free", None, FREE[type_token]
    if type_token in UNPRICED:
        return "unpriced", None, UNPRICED[type_token]
    for prefix, reason in FREE_PREFIXES.items():
        if type_token.startswith(prefix):
            return "free", None, reason
    return "unpriced", None, "no price rule for this type (add one in helixflow.stacks.cost)"
