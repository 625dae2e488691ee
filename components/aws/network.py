"""The VPC: public and private subnets across zones, NAT, flow logs, the subnet tags load balancers
and node autoscalers look for."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from helixflow.components.aws.common import child, output_document, trust

TYPE = "helixflow:aws:Network"


@dataclass(frozen=True)
class NetworkArgs:
    cluster_name: str  # the discovery tags name the cluster that may use these subnets
    cidr: str
    zones: Sequence[str]
    private_subnets: Sequence[str]  # one per zone: nodes and data stores
    public_subnets: Sequence[str]  # one per zone: NAT gateways and internet-facing load balancers only
    single_nat_gateway: bool = False
    flow_log_retention_days: int = 90

    def validate(self) -> None:
        if len(self.zones) < 2:
            raise ValueError(f"a network needs 2 or more zones (got {len(self.zones)}): EKS and RDS Multi-AZ need 2")
        if not len(self.private_subnets) == len(self.public_subnets) == len(self.zones):
            raise ValueError("give one private and one public subnet per zone")
        vpc = ipaddress.IPv4Network(self.cidr)
        subnets = [ipaddress.IPv4Network(s) for s in (*self.private_subnets, *self.public_subnets)]
        for index, subnet in enumerate(subnets):
            if not subnet.subnet_of(vpc):
                raise ValueError(f"subnet {subnet} is outside the VPC {vpc}")
            if any(subnet.overlaps(other) for other in subnets[index + 1 :]):
                raise ValueError(f"subnet {subnet} overlaps another subnet")


class Network(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for zones or subnets no VPC could have."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        vpc = aws.ec2.Vpc(name, cidr_block=args.cidr, enable_dns_support=True, enable_dns_hostnames=True,
                          tags={"Name": name}, opts=child(self))  # fmt: skip
        # The default security group allows all traffic between its members: empty it (nothing uses it).
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags={"Name": f"{name}-default-locked"},
                                     opts=child(self))  # fmt: skip
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": name}, opts=child(self))
        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        public, private = [], []
        for index, zone in enumerate(args.zones):
            public.append(aws.ec2.Subnet(
                f"{name}-public-{zone}", vpc_id=vpc.id, cidr_block=args.public_subnets[index], availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child(self),
            ))  # fmt: skip
            private.append(aws.ec2.Subnet(
                f"{name}-private-{zone}", vpc_id=vpc.id, cidr_block=args.private_subnets[index], availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{zone}", "kubernetes.io/role/internal-elb": "1",
                      "karpenter.sh/discovery": args.cluster_name, **cluster_tag},
                opts=child(self),
            ))  # fmt: skip
        self._public_routes(name, vpc, gateway, args.zones, public)
        self._private_routes(name, vpc, args, public, private)
        self._flow_logs(name, vpc, args.flow_log_retention_days)
        self.vpc_id = vpc.id
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids,
                               "public_subnet_ids": self.public_subnet_ids})  # fmt: skip

    def _public_routes(self, name: str, vpc: aws.ec2.Vpc, gateway: aws.ec2.InternetGateway, zones: Sequence[str],
                       public: list[aws.ec2.Subnet]) -> None:  # fmt: skip
        table = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags={"Name": f"{name}-public"}, opts=child(self))
        aws.ec2.Route(f"{name}-public-internet", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=gateway.id, opts=child(self))  # fmt: skip
        for zone, subnet in zip(zones, public, strict=True):
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}-routes", subnet_id=subnet.id, route_table_id=table.id,
                                          opts=child(self))  # fmt: skip

    def _private_routes(self, name: str, vpc: aws.ec2.Vpc, args: NetworkArgs, public: list[aws.ec2.Subnet],
                        private: list[aws.ec2.Subnet]) -> None:  # fmt: skip
        """Private subnets reach out through NAT: one gateway per zone (a zone's outage stays in it), or one."""
        nats = []
        for index in range(1 if args.single_nat_gateway else len(args.zones)):
            zone = args.zones[index]
            address = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{name}-nat-{zone}"},
                                  opts=child(self))  # fmt: skip
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{zone}", allocation_id=address.id, subnet_id=public[index].id,
                                           tags={"Name": f"{name}-nat-{zone}"}, opts=child(self)))  # fmt: skip
        for index, subnet in enumerate(private):
            zone = args.zones[index]
            table = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{name}-private-{zone}"},
                                       opts=child(self))  # fmt: skip
            aws.ec2.Route(f"{name}-private-{zone}-nat", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                          nat_gateway_id=nats[0 if args.single_nat_gateway else index].id,
                          opts=child(self))  # fmt: skip
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}-routes", subnet_id=subnet.id,
                                          route_table_id=table.id, opts=child(self))  # fmt: skip

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=f"/helixflow/{name}/vpc-flow-logs",
                                        retention_in_days=retention_days, opts=child(self))  # fmt: skip
        role = aws.iam.Role(f"{name}-flow-logs", assume_role_policy=trust("vpc-flow-logs.amazonaws.com"),
                            opts=child(self))  # fmt: skip
        aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, policy=output_document({
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": [group.arn, pulumi.Output.concat(group.arn, ":*")],
        }), opts=child(self))  # fmt: skip
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
                        log_destination=group.arn, iam_role_arn=role.arn, opts=child(self))  # fmt: skip
