"""Every resource type HelixFlow creates is priced, or listed as free or unpriced with a reason.

A new resource in a component without a price rule fails here: add it to helixflow.stacks.cost.catalog.
"""

from __future__ import annotations

from helixflow.stacks.cost.catalog import FREE, PRICED, UNPRICED, classify
from helixflow.stacks.policy.rules.tags import AWS_TAGGABLE, GCP_LABELS
from tests.cost.sdk_types import args_parameters, component_types, token_exists

SDK_TOKENS = [token for token in {*PRICED, *FREE, *UNPRICED, *AWS_TAGGABLE, *GCP_LABELS}
              if token.split(":")[0] in ("aws", "gcp", "kubernetes")]  # fmt: skip


def test_every_type_the_components_create_has_a_rule_or_a_listing() -> None:
    types = component_types()
    assert "kubernetes:apps/v1:Deployment" in types  # the scan finds what components/k8s creates
    missing = {token: where for token, where in types.items() if classify(token)[2].startswith("no price rule")}
    assert not missing, f"no price rule, and not listed free or unpriced: {missing}"


def test_every_listed_type_is_a_real_type_of_the_installed_sdks() -> None:
    unknown = sorted(token for token in SDK_TOKENS if not token_exists(token))
    assert not unknown, f"no such resource type in the installed Pulumi SDKs (a typo?): {unknown}"


def test_the_types_the_issue_names_are_all_classified() -> None:
    named = [
        "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog", "aws:ec2/launchTemplate:LaunchTemplate", "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup", "aws:eks/accessEntry:AccessEntry", "aws:iam/role:Role", "aws:iam/policy:Policy",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:kms/key:Key", "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup", "aws:rds/subnetGroup:SubnetGroup",
        "aws:elasticache/replicationGroup:ReplicationGroup", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "aws:s3/bucketPolicy:BucketPolicy",
        "aws:cloudwatch/logGroup:LogGroup", "aws:secretsmanager/secret:Secret", "gcp:compute/network:Network",
        "gcp:compute/subnetwork:Subnetwork", "gcp:compute/router:Router", "gcp:compute/routerNat:RouterNat",
        "gcp:compute/globalAddress:GlobalAddress", "gcp:servicenetworking/connection:Connection",
        "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool", "gcp:sql/databaseInstance:DatabaseInstance",
        "gcp:redis/instance:Instance", "gcp:storage/bucket:Bucket", "gcp:serviceaccount/account:Account",
        "gcp:projects/iAMMember:IAMMember", "gcp:serviceaccount/iAMMember:IAMMember",
        "kubernetes:helm.sh/v3:Release", "kubernetes:core/v1:Namespace", "kubernetes:apps/v1:Deployment",
    ]  # fmt: skip
    assert [token for token in named if classify(token)[2].startswith("no price rule")] == []
    assert {classify(token)[0] for token in named} <= {"priced", "free"}


def test_the_taggable_aws_types_are_those_whose_inputs_take_tags() -> None:
    untaggable = [token for token in sorted(AWS_TAGGABLE) if "tags" not in args_parameters(token)]
    assert not untaggable, f"listed as taggable, but their inputs take no tags: {untaggable}"


def test_every_taggable_type_the_components_create_is_checked_for_tags() -> None:
    unchecked = sorted(
        token for token in component_types()
        if (token.startswith("aws:") and "tags" in args_parameters(token) and token not in AWS_TAGGABLE)
        or (token.startswith("gcp:") and {"labels", "resource_labels"} & args_parameters(token)
            and token not in GCP_LABELS)
    )  # fmt: skip
    assert not unchecked, f"add these to helixflow.stacks.policy.rules.tags: {unchecked}"
