"""Everything taggable carries the stack's required tags (labels on GCP and Kubernetes).

A stack rule: AWS providers' `defaultTags` and GCP providers' `defaultLabels` count for every
resource of their package, so it reads the provider resources of the plan too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig
from helixflow.stacks.policy.settings import PolicySettings

# AWS types HelixFlow creates whose inputs have `tags` (tests/policy check this against the SDK)
AWS_TAGGABLE = frozenset({
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
    "aws:ec2/flowLog:FlowLog", "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup", "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup", "aws:eks/accessEntry:AccessEntry", "aws:eks/addon:Addon", "aws:iam/role:Role",
    "aws:iam/policy:Policy", "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:kms/key:Key",
    "aws:rds/instance:Instance", "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup", "aws:elasticache/subnetGroup:SubnetGroup",
    "aws:s3/bucket:Bucket", "aws:cloudwatch/logGroup:LogGroup", "aws:secretsmanager/secret:Secret",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:eks/podIdentityAssociation:PodIdentityAssociation",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
})  # fmt: skip
# GCP types HelixFlow creates that take labels, and where
GCP_LABELS: dict[str, tuple[str, ...]] = {
    "gcp:container/cluster:Cluster": ("resourceLabels",),
    "gcp:container/nodePool:NodePool": ("nodeConfig", "resourceLabels"),
    "gcp:sql/databaseInstance:DatabaseInstance": ("settings", "userLabels"),
    "gcp:redis/instance:Instance": ("labels",),
    "gcp:compute/globalAddress:GlobalAddress": ("labels",),
    "gcp:storage/bucket:Bucket": ("labels",),
    "gcp:kms/cryptoKey:CryptoKey": ("labels",),
    "gcp:secretmanager/secret:Secret": ("labels",),
}
KEY_FORMAT = {"aws": "helixflow:{}", "gcp": "helixflow-{}", "kubernetes": "helixflow.io/{}"}
UNTAGGED_KUBERNETES = ("kubernetes:helm.sh/",)  # a Helm release is no Kubernetes object


def _defaults(resources: Sequence[PlannedResource]) -> dict[str, dict[str, Any]]:
    """Tags every resource of a package gets from its provider."""
    found: dict[str, dict[str, Any]] = {"aws": {}, "gcp": {}}
    for resource in resources:
        if resource.type == "pulumi:providers:aws":
            found["aws"] |= dig(resource.properties, "defaultTags", "tags") or {}
        elif resource.type == "pulumi:providers:gcp":
            found["gcp"] |= resource.properties.get("defaultLabels") or {}
    return found


def _own_tags(resource: PlannedResource) -> dict[str, Any] | None:
    """The resource's own tags, {} when it has none yet, None when it is not taggable."""
    if resource.type in AWS_TAGGABLE:
        return resource.properties.get("tags") or {}
    if resource.type in GCP_LABELS:
        return dig(resource.properties, *GCP_LABELS[resource.type]) or {}
    if resource.provider == "kubernetes" and not resource.type.startswith(UNTAGGED_KUBERNETES):
        return dig(resource.properties, "metadata", "labels") or {}
    return None


def check_tags(resources: Sequence[PlannedResource], settings: PolicySettings) -> Iterator[Finding]:
    defaults = _defaults(resources)
    for resource in resources:
        own = None if resource.component else _own_tags(resource)
        if own is None:
            continue
        tags = defaults.get(resource.provider, {}) | own
        wanted = [KEY_FORMAT[resource.provider].format(name) for name in settings.required_tags]
        missing = [key for key in wanted if not tags.get(key)]
        if missing:
            where = "labels" if resource.provider != "aws" else "tags"
            yield Finding(f"missing {where} {', '.join(missing)}",
                          f"set them on the resource, or on the {resource.provider} provider's default "
                          f"{where}" if resource.provider != "kubernetes" else "add them to metadata.labels",
                          resource)  # fmt: skip


REQUIRED_TAGS = Rule("required-tags", "Everything taggable carries the stack, tenant and owner tags "
                     "(policy.required_tags).", stack_check=check_tags)
