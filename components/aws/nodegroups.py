"""EKS managed node groups: the system pool and one pool per GPU shape, each through a launch template
(encrypted root volume sized for model images, IMDSv2 only), GPU pools tainted and tagged to scale from zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child

GPU_RESOURCE = "nvidia.com/gpu"
GPU_AMI = "AL2023_x86_64_NVIDIA"
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
AUTOSCALER_TEMPLATE = "k8s.io/cluster-autoscaler/node-template"


@dataclass(frozen=True)
class NodePoolSpec:
    """One managed node group. `gpus_per_node` 0: a system pool (no GPU taint, standard AMI)."""

    name: str
    instance_types: Sequence[str]
    min_size: int
    max_size: int
    gpus_per_node: int = 0
    gpu: str = ""
    capacity: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    root_volume_gib: int = 300
    labels: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.instance_types:
            raise ValueError(f"node pool {self.name}: give at least one instance type")
        if self.min_size < 0 or self.max_size < max(self.min_size, 1):
            raise ValueError(f"node pool {self.name}: max_size {self.max_size} must be >= min_size {self.min_size} "
                             "and >= 1")  # fmt: skip
        if self.capacity == "ON_DEMAND" and len(self.instance_types) > 1 and self.gpus_per_node:
            raise ValueError(f"GPU pool {self.name}: several instance types are for SPOT capacity")

    @property
    def is_gpu(self) -> bool:
        return self.gpus_per_node > 0

    def node_labels(self) -> dict[str, str]:
        labels = {"helixflow.io/pool": self.name, **self.labels}
        if self.is_gpu:
            labels |= {"nvidia.com/gpu.present": "true", "helixflow.io/gpu": self.gpu}
        return labels

    def autoscaler_tags(self, cluster_name: str) -> dict[str, str]:
        """What cluster-autoscaler reads from the Auto Scaling group to build a node of an empty pool."""
        tags = {"k8s.io/cluster-autoscaler/enabled": "true", f"k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
        tags |= {f"{AUTOSCALER_TEMPLATE}/label/{key}": value for key, value in self.node_labels().items()}
        if self.is_gpu:
            tags[f"{AUTOSCALER_TEMPLATE}/resources/{GPU_RESOURCE}"] = str(self.gpus_per_node)
            tags[f"{AUTOSCALER_TEMPLATE}/taint/{GPU_RESOURCE}"] = "true:NoSchedule"
        return tags


def launch_template(name: str, spec: NodePoolSpec, kms_key_arn: pulumi.Input[str],
                    parent: pulumi.Resource) -> aws.ec2.LaunchTemplate:  # fmt: skip
    return aws.ec2.LaunchTemplate(
        name,
        block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda",
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                volume_size=spec.root_volume_gib, volume_type="gp3", encrypted="true", kms_key_id=kms_key_arn,
                delete_on_termination="true",
            ),
        )],
        # IMDSv2 only, one hop: pods cannot borrow the node's role (they get their own through Pod Identity).
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
        ),
        tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(
            resource_type=kind, tags={"Name": name, "helixflow.io/pool": spec.name},
        ) for kind in ("instance", "volume")],
        update_default_version=True,
        opts=child(parent),
    )  # fmt: skip


def node_group(name: str, spec: NodePoolSpec, cluster: aws.eks.Cluster, cluster_name: str,
               node_role_arn: pulumi.Input[str], subnet_ids: pulumi.Input[Sequence[str]],
               kms_key_arn: pulumi.Input[str], parent: pulumi.Resource) -> aws.eks.NodeGroup:  # fmt: skip
    spec.validate()
    template = launch_template(f"{name}-lt", spec, kms_key_arn, parent)
    tags = spec.autoscaler_tags(cluster_name)
    group = aws.eks.NodeGroup(
        name, cluster_name=cluster.name, node_group_name=name, node_role_arn=node_role_arn, subnet_ids=subnet_ids,
        ami_type=GPU_AMI if spec.is_gpu else SYSTEM_AMI, capacity_type=spec.capacity,
        instance_types=list(spec.instance_types),
        scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=spec.min_size, max_size=spec.max_size,
                                                          desired_size=spec.min_size),
        update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
        labels=spec.node_labels(),
        taints=[aws.eks.NodeGroupTaintArgs(key=GPU_RESOURCE, value="true", effect="NO_SCHEDULE")]
        if spec.is_gpu else None,
        launch_template=aws.eks.NodeGroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
        tags=tags,
        # the autoscaler owns the node count once the group exists
        opts=child(parent, ignore_changes=["scalingConfig.desiredSize"]),
    )  # fmt: skip
    # A managed node group's tags stay on the group: copy the autoscaler's onto its Auto Scaling group.
    asg_name = group.resources.apply(lambda resources: (resources[0].autoscaling_groups or [])[0].name or "")
    for key, value in sorted(tags.items()):
        aws.autoscaling.Tag(f"{name}-asg-{_tag_slug(key)}", autoscaling_group_name=asg_name,
                            tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                            opts=child(parent))  # fmt: skip
    return group


def _tag_slug(key: str) -> str:
    """A stable, readable resource-name part for an autoscaler tag key."""
    short = key.removeprefix(f"{AUTOSCALER_TEMPLATE}/").removeprefix("k8s.io/cluster-autoscaler/")
    return short.replace("/", "-").replace(".", "-")
