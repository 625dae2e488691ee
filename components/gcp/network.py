"""The VPC: one subnet for the nodes with secondary ranges for pods and Services, Cloud NAT for the
private nodes' egress, and private service access (a reserved range peered with Google's services) so
Cloud SQL and Memorystore get private IPs only."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

TYPE = "helixflow:gcp:Network"
PODS_RANGE, SERVICES_RANGE = "pods", "services"


@dataclass(frozen=True)
class NetworkArgs:
    name: str
    region: str
    subnet_cidr: str = "10.0.0.0/20"
    pods_cidr: str = "10.4.0.0/14"
    services_cidr: str = "10.8.0.0/20"
    private_services_cidr: str = "10.16.0.0/16"
    nat_log_filter: str = "ERRORS_ONLY"

    def validate(self) -> None:
        ranges = {"subnet_cidr": self.subnet_cidr, "pods_cidr": self.pods_cidr,
                  "services_cidr": self.services_cidr, "private_services_cidr": self.private_services_cidr}
        parsed = {field: ipaddress.IPv4Network(cidr) for field, cidr in ranges.items()}  # ValueError when not one
        fields = list(parsed)
        for index, field in enumerate(fields):
            for other in fields[index + 1 :]:
                if parsed[field].overlaps(parsed[other]):
                    raise ValueError(f"{field} {ranges[field]} overlaps {other} {ranges[other]}")


class Network(pulumi.ComponentResource):
    """Raises ValueError (before anything is created) for overlapping or malformed ranges."""

    network_id: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    subnet_self_link: pulumi.Output[str]
    private_services: pulumi.Output[str]  # the servicenetworking connection's id: data stores depend on it

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        args.validate()
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vpc = gcp.compute.Network(f"{name}-vpc", auto_create_subnetworks=False, routing_mode="REGIONAL", opts=child)
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes", region=args.region, network=vpc.id, ip_cidr_range=args.subnet_cidr,
            private_ip_google_access=True,  # private nodes reach Google APIs (GCS, Artifact Registry) without NAT
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=args.pods_cidr),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE,
                                                           ip_cidr_range=args.services_cidr),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5,
                                                           metadata="INCLUDE_ALL_METADATA"),
            opts=child,
        )  # fmt: skip
        router = gcp.compute.Router(f"{name}-router", region=args.region, network=vpc.id, opts=child)
        gcp.compute.RouterNat(
            f"{name}-nat", router=router.name, region=args.region,
            nat_ip_allocate_option="AUTO_ONLY", source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[gcp.compute.RouterNatSubnetworkArgs(name=subnet.id,
                                                             source_ip_ranges_to_nats=["ALL_IP_RANGES"])],
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter=args.nat_log_filter),
            opts=child,
        )  # fmt: skip
        address, prefix = args.private_services_cidr.split("/")
        reserved = gcp.compute.GlobalAddress(
            f"{name}-private-services", purpose="VPC_PEERING", address_type="INTERNAL", address=address,
            prefix_length=int(prefix), network=vpc.id, opts=child,
        )  # fmt: skip
        connection = gcp.servicenetworking.Connection(
            f"{name}-private-services", network=vpc.id, service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[reserved.name], opts=child,
        )  # fmt: skip
        self.network_id = vpc.id
        self.network_self_link = vpc.self_link
        self.subnet_self_link = subnet.self_link
        self.private_services = connection.id
        self.register_outputs({"network_id": self.network_id, "subnet_self_link": self.subnet_self_link,
                               "private_services": self.private_services})  # fmt: skip
