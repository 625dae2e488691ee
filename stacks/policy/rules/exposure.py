"""Nothing is reachable from the internet but the load balancer in front of the ingress."""

from __future__ import annotations

from collections.abc import Iterator

from helixflow.stacks.plan.model import PlannedResource
from helixflow.stacks.policy.rules.model import Finding, Rule, dig, truthy
from helixflow.stacks.policy.settings import PolicySettings

ANYWHERE = ("0.0.0.0/0", "::/0")
INGRESS_NAMES = ("ingress-nginx",)  # the Service that fronts the platform: its load balancer is the way in
INTERNAL_LB = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
               "networking.gke.io/load-balancer-type": "Internal"}  # fmt: skip
PUBLIC_ACCESS_BLOCK = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


def _is_ingress(resource: PlannedResource) -> bool:
    labels = dig(resource.properties, "metadata", "labels") or {}
    name = str(dig(resource.properties, "metadata", "name") or resource.name)
    return labels.get("app.kubernetes.io/name") in INGRESS_NAMES or name.startswith(INGRESS_NAMES)


def _service(resource: PlannedResource) -> Iterator[Finding]:
    kind = dig(resource.properties, "spec", "type")
    annotations = dig(resource.properties, "metadata", "annotations") or {}
    internal = any(annotations.get(key) == value for key, value in INTERNAL_LB.items())
    if kind == "NodePort":
        yield Finding("a NodePort Service opens a port on every node", "use a ClusterIP Service behind the ingress")
    elif kind == "LoadBalancer" and not internal and not _is_ingress(resource):
        yield Finding("a public load balancer other than the ingress's",
                      "make it ClusterIP and route to it through the ingress, or annotate it internal")  # fmt: skip


def check_exposure(resource: PlannedResource, settings: PolicySettings) -> Iterator[Finding]:
    props, kind = resource.properties, resource.type
    if kind == "aws:rds/instance:Instance" and truthy(props.get("publiclyAccessible")):
        yield Finding("the database has a public address", "set publicly_accessible=False")
    elif kind == "aws:eks/cluster:Cluster":
        vpc = props.get("vpcConfig") or {}
        cidrs = vpc.get("publicAccessCidrs") or list(ANYWHERE[:1])  # EKS's default: the whole internet
        if vpc.get("endpointPublicAccess", True) is not False and any(cidr in ANYWHERE for cidr in cidrs):
            yield Finding("the cluster's API endpoint is open to the whole internet",
                          "set vpc_config.endpoint_public_access=False, or public_access_cidrs to your addresses")
    elif kind == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        if props.get("cidrIpv4") in ANYWHERE or props.get("cidrIpv6") in ANYWHERE:
            yield Finding("a security group admits the whole internet", "narrow cidr_ipv4 to the VPC or a peer")
    elif kind == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        if any(cidr in ANYWHERE for cidr in (props.get("cidrBlocks") or []) + (props.get("ipv6CidrBlocks") or [])):
            yield Finding("a security group admits the whole internet", "narrow cidr_blocks to the VPC or a peer")
    elif kind == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        open_ = [key for key in PUBLIC_ACCESS_BLOCK if not truthy(props.get(key))]
        if open_:
            yield Finding(f"the bucket's public access block leaves {', '.join(open_)} off", "set all four to True")
    elif kind == "gcp:sql/databaseInstance:DatabaseInstance":
        if dig(props, "settings", "ipConfiguration", "ipv4Enabled") is not False:
            yield Finding("the database has a public IPv4 address",
                          "set settings.ip_configuration.ipv4_enabled=False and a private_network")  # fmt: skip
    elif kind == "gcp:container/cluster:Cluster":
        if not truthy(dig(props, "privateClusterConfig", "enablePrivateNodes")):
            yield Finding("the cluster's nodes have public addresses",
                          "set private_cluster_config.enable_private_nodes=True")
    elif kind == "gcp:storage/bucket:Bucket" and props.get("publicAccessPrevention") != "enforced":
        yield Finding("the bucket may be made public", "set public_access_prevention='enforced'")
    elif kind == "gcp:compute/firewall:Firewall" and props.get("direction", "INGRESS") == "INGRESS":
        if any(cidr in ANYWHERE for cidr in props.get("sourceRanges") or []):
            yield Finding("a firewall rule admits the whole internet", "narrow source_ranges")
    elif kind == "kubernetes:core/v1:Service":
        yield from _service(resource)


NO_PUBLIC_ENDPOINTS = Rule("no-public-endpoints", "Nothing is publicly reachable but the ingress's load balancer.",
                           resource_check=check_exposure)  # fmt: skip
