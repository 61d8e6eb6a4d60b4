"""VpcNetwork: the VPC, three subnet tiers per AZ, gateways, routes, flow logs and endpoints.

- Subnets are carved from the one VPC CIDR with `ipaddress` (`carve`), so they never overlap.
- Every route is a separate `aws.ec2.Route`: the failover Lambda owns the database VIP route in
  the private and data route tables, and an inline `routes=[...]` would delete it on next update.
- The private and data tiers have a route table per AZ, so per-AZ NAT and the VIP route both work.
- The default security group is adopted and stripped of its rules: nothing can use it by accident.
- Public subnets do not hand out public IPs: only the resources that need one (NAT, bastion) ask.

The other tiers take its record, `ref` (components/shared/contracts.py), not the component.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.config import NetworkConfig
from components.config.network import SUBNET_BITS
from components.network import endpoints, nat_instance
from components.shared import iam
from components.shared.contracts import TIERS, NetworkMonitoring, NetworkRef, SubnetRef, Tier
from components.shared.naming import TIER_TAG

# Each tier takes a block of four subnet slots, so a VPC can grow to four AZs without renumbering.
_SLOTS_PER_TIER = 4
_IPV6_SUBNET_PREFIX = 64


def carve(cidr: ipaddress.IPv4Network, az_count: int) -> dict[Tier, list[ipaddress.IPv4Network]]:
    """The subnets of each tier, one per AZ: tier `t`, AZ `a` gets slot `4 * t + a` of 16."""
    slots = list(cidr.subnets(prefixlen_diff=SUBNET_BITS))
    return {
        tier: [slots[_SLOTS_PER_TIER * t + a] for a in range(az_count)]
        for t, tier in enumerate(TIERS)
    }


@dataclass(frozen=True)
class VpcNetworkArgs:
    config: NetworkConfig
    """`multitier:network`."""
    flow_log_retention_days: int
    """The flow log group's retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Encrypts the flow log group."""
    inner_route_table_tags: Mapping[str, str] = field(default_factory=dict)
    """Tags on the private and data route tables: the failover function finds the tables whose
    VIP route it owns by tag."""


@dataclass(frozen=True)
class Subnet:
    tier: Tier
    az: str
    cidr: ipaddress.IPv4Network
    resource: aws.ec2.Subnet


class VpcNetwork(pulumi.ComponentResource):
    """The network every other tier lives in."""

    ref: NetworkRef
    """What the other tiers take: the VPC, its zones, each tier's subnets and route tables, and
    what gives each tier its way out."""
    monitoring: NetworkMonitoring
    """What the alarms watch: the NAT gateways or the NAT instance."""
    vpc_id: pulumi.Output[str]
    """The VPC."""
    cidr_block: str
    """The VPC's IPv4 CIDR."""
    availability_zones: list[str]
    """The zones the tiers span."""
    subnet_ids: dict[Tier, list[pulumi.Output[str]]]
    """Per tier, its subnets, in zone order."""

    def __init__(
        self, name: str, args: VpcNetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:network:VpcNetwork", name, None, opts)
        config = args.config
        self._name = name
        self._config = config
        self._inner_tags = dict(args.inner_route_table_tags)
        self._flow_log_retention_days = args.flow_log_retention_days
        self._log_kms_key_arn = args.log_kms_key_arn
        self._nat_gateway_ids: list[pulumi.Output[str]] = []
        self._nat_instance_id: pulumi.Output[str] | None = None
        self._child = pulumi.ResourceOptions(parent=self)
        self._connectivity: dict[Tier, list[pulumi.Resource]] = {tier: [] for tier in TIERS}

        self._vpc = aws.ec2.Vpc(
            name,
            cidr_block=str(config.cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            assign_generated_ipv6_cidr_block=config.ipv6,
            opts=self._child,
        )
        self.vpc_id = self._vpc.id
        self.cidr_block = str(config.cidr)
        self.availability_zones = _availability_zones(config.az_count)
        self._lock_down_default_security_group()

        self._subnets_all = self._subnets()
        self.subnet_ids = {tier: [s.resource.id for s in self._tier(tier)] for tier in TIERS}

        igw = aws.ec2.InternetGateway(name, vpc_id=self._vpc.id, opts=self._child)
        self._connectivity["public"].append(igw)
        egress_only = (
            aws.ec2.EgressOnlyInternetGateway(name, vpc_id=self._vpc.id, opts=self._child)
            if config.ipv6
            else None
        )
        public_table = self._route_table("public", None)
        self._default_routes(
            public_table, "public", "public", ipv4=("gateway_id", igw.id), ipv6=igw.id
        )

        nat_targets = self._nat(igw)
        private_tables = [self._route_table("private", az) for az in self.availability_zones]
        data_tables = [self._route_table("data", az) for az in self.availability_zones]
        eigw = egress_only.id if egress_only else None
        for index, az in enumerate(self.availability_zones):
            target = nat_targets[index % len(nat_targets)] if nat_targets else None
            self._default_routes(
                private_tables[index],
                f"private-{az}",
                "private",
                ipv4=target,
                ipv6_egress_only=eigw,
            )
            if config.data_egress:
                self._default_routes(
                    data_tables[index], f"data-{az}", "data", ipv4=target, ipv6_egress_only=eigw
                )

        route_table_ids: dict[Tier, list[pulumi.Output[str]]] = {
            "public": [public_table.id],
            "private": [t.id for t in private_tables],
            "data": [t.id for t in data_tables],
        }
        self._flow_logs()
        self._connectivity["private"] += endpoints.build(
            self._name,
            endpoints.EndpointsArgs(
                config=config.endpoints,
                vpc_id=self._vpc.id,
                cidr_block=self.cidr_block,
                route_table_ids=[t.id for t in private_tables + data_tables],
                interface_subnet_ids=self.subnet_ids["private"],
            ),
            self._child,
        )
        tables = {"public": [public_table] * len(self.availability_zones)}
        tables |= {"private": private_tables, "data": data_tables}
        self.ref = NetworkRef(
            vpc_id=self.vpc_id,
            cidr_block=self.cidr_block,
            subnets=[
                SubnetRef(
                    id=subnet.resource.id,
                    zone=subnet.az,
                    tier=subnet.tier,
                    cidr=str(subnet.cidr),
                    route_table_id=tables[subnet.tier][index].id,
                )
                for tier in TIERS
                for index, subnet in enumerate(self._tier(tier))
            ],
            ipv6_cidr_block=self._vpc.ipv6_cidr_block if config.ipv6 else None,
            internet_connectivity=self._connectivity,
        )
        self.monitoring = NetworkMonitoring(self._nat_gateway_ids, self._nat_instance_id)

        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "cidrBlock": self.cidr_block,
                "availabilityZones": self.availability_zones,
                "subnetIds": self.subnet_ids,
                "routeTableIds": route_table_ids,
            }
        )

    # Subnets and route tables

    def _subnets(self) -> list[Subnet]:
        carved = carve(self._config.cidr, self._config.az_count)
        subnets = []
        for t, tier in enumerate(TIERS):
            for a, (az, cidr) in enumerate(zip(self.availability_zones, carved[tier], strict=True)):
                ipv6 = self._ipv6_subnet(_SLOTS_PER_TIER * t + a)
                resource = aws.ec2.Subnet(
                    f"{self._name}-{tier}-{az}",
                    vpc_id=self._vpc.id,
                    availability_zone=az,
                    cidr_block=str(cidr),
                    map_public_ip_on_launch=False,
                    ipv6_cidr_block=ipv6,
                    assign_ipv6_address_on_creation=self._config.ipv6,
                    tags={"Name": f"{self._name}-{tier}-{az}", TIER_TAG: tier},
                    opts=self._child,
                )
                subnets.append(Subnet(tier, az, cidr, resource))
        return subnets

    def _ipv6_subnet(self, slot: int) -> pulumi.Output[str] | None:
        if not self._config.ipv6:
            return None
        return self._vpc.ipv6_cidr_block.apply(
            lambda block: str(
                list(ipaddress.IPv6Network(block).subnets(new_prefix=_IPV6_SUBNET_PREFIX))[slot]
            )
        )

    def _tier(self, tier: Tier) -> list[Subnet]:
        return [s for s in self._subnets_all if s.tier == tier]

    def _route_table(self, tier: Tier, az: str | None) -> aws.ec2.RouteTable:
        """A route table with no inline routes, associated with the tier's subnets in `az`."""
        label = f"{self._name}-{tier}" + (f"-{az}" if az else "")
        extra = self._inner_tags if tier != "public" else {}
        table = aws.ec2.RouteTable(
            label,
            vpc_id=self._vpc.id,
            tags={"Name": label, TIER_TAG: tier, **extra},
            opts=self._child,
        )
        for subnet in self._tier(tier):
            if az is None or subnet.az == az:
                self._connectivity[tier].append(
                    aws.ec2.RouteTableAssociation(
                        f"{self._name}-{tier}-{subnet.az}",
                        subnet_id=subnet.resource.id,
                        route_table_id=table.id,
                        opts=self._child,
                    )
                )
        return table

    def _default_routes(
        self,
        table: aws.ec2.RouteTable,
        label: str,
        tier: Tier,
        *,
        ipv4: tuple[str, pulumi.Input[str]] | None,
        ipv6: pulumi.Input[str] | None = None,
        ipv6_egress_only: pulumi.Input[str] | None = None,
    ) -> None:
        """0.0.0.0/0 (and ::/0 with IPv6) as separate Route resources."""
        routes = self._connectivity[tier]
        if ipv4:
            target_kind, target_id = ipv4
            route = aws.ec2.Route(
                f"{self._name}-{label}-default",
                route_table_id=table.id,
                destination_cidr_block="0.0.0.0/0",
                **{target_kind: target_id},
                opts=self._child,
            )
            routes.append(route)
        if self._config.ipv6 and (ipv6 or ipv6_egress_only):
            route = aws.ec2.Route(
                f"{self._name}-{label}-default-ipv6",
                route_table_id=table.id,
                destination_ipv6_cidr_block="::/0",
                gateway_id=ipv6,
                egress_only_gateway_id=ipv6_egress_only,
                opts=self._child,
            )
            routes.append(route)

    # Egress for the private tiers

    def _nat(self, igw: aws.ec2.InternetGateway) -> list[tuple[str, pulumi.Output[str]]]:
        """One route target per NAT: `(Route argument, id)`; empty when natMode is none."""
        mode = self._config.nat_mode
        public = self._tier("public")
        if mode == "none":
            return []
        if mode == "instance":
            return [("network_interface_id", self._nat_instance(public[0]))]
        gateways = public if mode == "per_az" else public[:1]
        targets = []
        # A NAT gateway created before the internet gateway is attached ends up `failed`
        # (Gateway.NotAttached), and so does one whose address cannot be associated yet.
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[igw])
        for subnet in gateways:
            eip = aws.ec2.Eip(f"{self._name}-nat-{subnet.az}", domain="vpc", opts=after_gateway)
            nat = aws.ec2.NatGateway(
                f"{self._name}-{subnet.az}",
                allocation_id=eip.allocation_id,
                subnet_id=subnet.resource.id,
                connectivity_type="public",
                opts=after_gateway,
            )
            targets.append(("nat_gateway_id", nat.id))
            self._nat_gateway_ids.append(nat.id)
        return targets

    def _nat_instance(self, subnet: Subnet) -> pulumi.Output[str]:
        """A cheap NAT for dev (components/network/nat_instance.py); its interface is the route
        target."""
        instance = nat_instance.build(
            f"{self._name}-nat",
            nat_instance.NatInstanceArgs(
                vpc_id=self._vpc.id,
                vpc_cidr=self.cidr_block,
                subnet_id=subnet.resource.id,
                instance_type=self._config.nat_instance_type,
                # Its first boot needs the public route.
                depends_on=self._connectivity["public"],
            ),
            self._child,
        )
        self._nat_instance_id = instance.instance_id
        return instance.interface_id

    # Locks and logs

    def _lock_down_default_security_group(self) -> None:
        aws.ec2.DefaultSecurityGroup(
            f"{self._name}-default",
            vpc_id=self._vpc.id,
            ingress=[],
            egress=[],
            opts=self._child,
        )

    def _flow_logs(self) -> None:
        name = f"{self._name}-flow-logs"
        group = aws.cloudwatch.LogGroup(
            name,
            retention_in_days=self._flow_log_retention_days,
            kms_key_id=self._log_kms_key_arn,
            opts=self._child,
        )
        role = iam.service_role(
            name,
            "vpc-flow-logs.amazonaws.com",
            group.arn.apply(
                lambda arn: json.dumps(
                    iam.policy(
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    )
                )
            ),
            self._child,
        )
        aws.ec2.FlowLog(
            name,
            vpc_id=self._vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            # Delivery fails (and the flow log reports an error) until the role's policy exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=role.ready),
        )


def _availability_zones(count: int) -> list[str]:
    """The first `count` zones of the region that need no opt-in (no Local or Wavelength zones)."""
    zones = aws.get_availability_zones(
        state="available",
        filters=[
            aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])
        ],
    )
    return sorted(zones.names)[:count]
