"""What AWS would answer for each resource a plan creates: ids, ARNs, endpoints, shaped as pulumi-aws reads
them (camelCase), so that the program's `apply`s see realistic values. Derived from the logical name only:
the same plan gives the same values every time.

`OUTPUTS` maps a Pulumi type token to (name, inputs) -> the outputs AWS adds to the inputs; `CALLS` does the
same for the data sources (invokes) a program calls.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from typing import Any

ACCOUNT = "123456789012"  # the documentation account: never a real one
DEFAULT_REGION = "us-east-1"
PLANNED_CA = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCnBsYW5uZWQKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="  # "planned", in PEM

Outputs = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def hex_id(name: str, length: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


def _region(inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("region") or DEFAULT_REGION)


def _arn(service: str, inputs: Mapping[str, Any], resource: str, regional: bool = True) -> str:
    return f"arn:aws:{service}:{_region(inputs) if regional else ''}:{ACCOUNT}:{resource}"


def _prefixed(prefix: str) -> Outputs:
    """A resource whose id is `<prefix>-<hex>` (vpc-, subnet-, sg-, igw-, nat-, rtb-, eipalloc-, fl-)."""

    def outputs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        resource_id = f"{prefix}-{hex_id(name)}"
        return {"id": resource_id, "arn": _arn("ec2", inputs, f"{prefix}/{resource_id}")}

    return outputs


def _role(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    role = f"{name[:38]}-{hex_id(name, 7)}"
    return {"id": role, "name": role, "arn": _arn("iam", inputs, f"role/{role}", regional=False),
            "uniqueId": f"AROA{hex_id(name, 17).upper()}"}  # fmt: skip


def _kms_key(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    digest = hex_id(name, 32)
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", inputs, f"key/{key_id}")}


def _log_group(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    group = str(inputs.get("name") or name)
    return {"id": group, "arn": _arn("logs", inputs, f"log-group:{group}")}


def _cluster(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    cluster = str(inputs.get("name") or name)
    region = _region(inputs)
    oidc = hex_id(cluster, 32).upper()
    vpc = dict(inputs.get("vpcConfig") or {})
    return {
        "id": cluster, "name": cluster, "arn": _arn("eks", inputs, f"cluster/{cluster}"), "status": "ACTIVE",
        "endpoint": f"https://{oidc}.gr7.{region}.eks.amazonaws.com",
        "certificateAuthority": {"data": PLANNED_CA},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc}"}]}],
        "vpcConfig": {**vpc, "clusterSecurityGroupId": f"sg-{hex_id(cluster + '-cluster')}",
                      "vpcId": f"vpc-{hex_id(cluster)}"},
        "platformVersion": "eks.1",
    }  # fmt: skip


def _node_group(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    group = str(inputs.get("nodeGroupName") or name)
    asg = f"eks-{group}-{hex_id(group, 8)}"
    return {"id": f"{inputs.get('clusterName', '')}:{group}", "status": "ACTIVE",
            "arn": _arn("eks", inputs, f"nodegroup/{inputs.get('clusterName', '')}/{group}/{hex_id(group, 8)}"),
            "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}]}  # fmt: skip


def _launch_template(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    template = f"lt-{hex_id(name)}"
    return {"id": template, "latestVersion": 1, "defaultVersion": 1,
            "arn": _arn("ec2", inputs, f"launch-template/{template}")}  # fmt: skip


def _oidc_provider(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    url = str(inputs.get("url") or "").removeprefix("https://")
    return {"id": name, "arn": _arn("iam", inputs, f"oidc-provider/{url}", regional=False)}


def _db_instance(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    identifier = str(inputs.get("identifier") or name)
    address = f"{identifier}.c{hex_id(identifier, 11)}.{_region(inputs)}.rds.amazonaws.com"
    secret = _arn("secretsmanager", inputs, f"secret:rds!db-{hex_id(identifier, 8)}-{hex_id(identifier, 6)}")
    return {"id": f"db-{hex_id(identifier, 26).upper()}", "identifier": identifier, "address": address, "port": 5432,
            "endpoint": f"{address}:5432", "arn": _arn("rds", inputs, f"db:{identifier}"),
            "masterUserSecrets": [{"secretArn": secret, "secretStatus": "active",
                                   "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", "")}]}  # fmt: skip


def _replication_group(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    group = str(inputs.get("replicationGroupId") or name)
    host = f"master.{group}.{hex_id(group, 6)}.use1.cache.amazonaws.com"
    return {"id": group, "replicationGroupId": group, "primaryEndpointAddress": host, "port": 6379,
            "readerEndpointAddress": host.replace("master.", "replica.", 1),
            "arn": _arn("elasticache", inputs, f"replicationgroup:{group}")}  # fmt: skip


def _bucket(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    bucket = str(inputs.get("bucket") or f"{inputs.get('bucketPrefix', name + '-')}{hex_id(name, 12)}")
    return {"id": bucket, "bucket": bucket, "arn": f"arn:aws:s3:::{bucket}",
            "bucketRegionalDomainName": f"{bucket}.s3.{_region(inputs)}.amazonaws.com"}  # fmt: skip


def _named(service: str, kind: str) -> Outputs:
    def outputs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        resource = str(inputs.get("name") or f"{name}-{hex_id(name, 7)}")
        return {"id": resource, "name": resource, "arn": _arn(service, inputs, f"{kind}:{resource}")}

    return outputs


def _pod_identity(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    association = f"a-{hex_id(name, 17)}"
    arn = _arn("eks", inputs, f"podidentityassociation/{inputs.get('clusterName', '')}/{association}")
    return {"id": association, "associationId": association, "associationArn": arn}


OUTPUTS: Mapping[str, Outputs] = {
    "aws:ec2/vpc:Vpc": _prefixed("vpc"),
    "aws:ec2/subnet:Subnet": _prefixed("subnet"),
    "aws:ec2/internetGateway:InternetGateway": _prefixed("igw"),
    "aws:ec2/natGateway:NatGateway": _prefixed("nat"),
    "aws:ec2/eip:Eip": lambda name, inputs: {"id": f"eipalloc-{hex_id(name)}",
                                             "publicIp": f"203.0.113.{int(hex_id(name, 2), 16) % 250 + 1}"},
    "aws:ec2/routeTable:RouteTable": _prefixed("rtb"),
    "aws:ec2/route:Route": _prefixed("r"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _prefixed("rtbassoc"),
    "aws:ec2/securityGroup:SecurityGroup": _prefixed("sg"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _prefixed("sg"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _prefixed("sgr"),
    "aws:ec2/flowLog:FlowLog": _prefixed("fl"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _role,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": lambda name, inputs: {"id": str(inputs.get("name") or name),
                                                 "arn": _arn("kms", inputs, str(inputs.get("name") or name))},
    "aws:eks/cluster:Cluster": _cluster,
    "aws:eks/nodeGroup:NodeGroup": _node_group,
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": _pod_identity,
    "aws:rds/instance:Instance": _db_instance,
    "aws:rds/subnetGroup:SubnetGroup": _named("rds", "subgrp"),
    "aws:rds/parameterGroup:ParameterGroup": _named("rds", "pg"),
    "aws:elasticache/replicationGroup:ReplicationGroup": _replication_group,
    "aws:elasticache/subnetGroup:SubnetGroup": _named("elasticache", "subnetgroup"),
    "aws:s3/bucket:Bucket": _bucket,
}


def _secret_version(args: Mapping[str, Any]) -> dict[str, Any]:
    # A throwaway password for this run: a plan never reads, stores or prints a real one.
    value = json.dumps({"username": "helixflow", "password": secrets.token_urlsafe(24)})
    return {"arn": args.get("secretId", ""), "secretString": value, "versionId": hex_id(str(args), 32),
            "versionStages": ["AWSCURRENT"]}  # fmt: skip


CALLS: Mapping[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "aws:secretsmanager/getSecretVersion:getSecretVersion": _secret_version,
}
