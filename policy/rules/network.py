"""Network rules: VPCs, subnets, the default group and security group rules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from policy.model import Res, Stack
from policy.props import (
    DB_CLUSTER_TAG,
    admits_port,
    as_list,
    asg_tag,
    ports,
    tier,
    truthy,
    world_cidrs,
)
from policy.rules.base import rule
from policy.types import (
    ASG,
    DEFAULT_SG,
    EGRESS,
    FLOW_LOG,
    INGRESS,
    LB,
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
)

ADMIN_PORTS = (22, 3389)
# What EC2 accepts in a VPC security group's description and in a rule's: "Allowed characters are
# a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", up to 255 (EC2 API Reference, IpRange and
# CreateSecurityGroup). Neither the provider nor cfn-lint checks it; AWS refuses it at create.
EC2_DESCRIPTION = re.compile(r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,255}")


def group_of(stack: Stack, rule_: Res) -> Res | None:
    found = stack.refs(rule_, "securityGroupId", SG)
    return found[0] if found else None


def alb_groups(stack: Stack) -> set[str]:
    """URNs of the security groups that load balancers use."""
    return {g.urn for lb in stack.of_type(LB) for g in stack.refs(lb, "securityGroups", SG)}


def inline_rules(group: Res) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for direction in ("ingress", "egress"):
        for item in as_list(group.get(direction)):
            yield direction, item


@rule(
    "vpc-flow-logs",
    "Every VPC records all its traffic in flow logs (FSBP EC2.6).",
    VPC,
    needs_stack=True,
)
def _vpc_flow_logs(vpc: Res, stack: Stack) -> Iterator[str]:
    logs = stack.referring(vpc, "vpcId", FLOW_LOG)
    if not any(f.get("trafficType") == "ALL" for f in logs):
        yield "no flow log with trafficType ALL is attached to this VPC"


@rule(
    "vpc-default-sg-managed",
    "Every VPC's default security group is taken over and emptied (FSBP EC2.2, CIS 5.4).",
    VPC,
    needs_stack=True,
)
def _vpc_default_sg_managed(vpc: Res, stack: Stack) -> Iterator[str]:
    if not stack.referring(vpc, "vpcId", DEFAULT_SG):
        yield "no DefaultSecurityGroup resource manages this VPC's default group"


@rule(
    "default-sg-no-rules",
    "The default security group admits and sends nothing (FSBP EC2.2).",
    DEFAULT_SG,
    needs_stack=True,
)
def _default_sg_no_rules(group: Res, stack: Stack) -> Iterator[str]:
    for direction, _rule in inline_rules(group):
        yield f"the default security group has an inline {direction} rule"
    for attached in stack.referring(group, "securityGroupId", INGRESS, EGRESS):
        yield f"the rule '{attached.name}' is attached to the default security group"


@rule(
    "vip-nodes-gateway-endpoints",
    "The vip database nodes reach DynamoDB and S3 through gateway endpoints on their subnets' "
    "route tables, so no NAT fault silences their reports and decides a failover.",
    ASG,
    needs_stack=True,
)
def _vip_nodes_gateway_endpoints(group: Res, stack: Stack) -> Iterator[str]:
    if asg_tag(group, DB_CLUSTER_TAG) is None:
        return
    for subnet in stack.refs(group, "vpcZoneIdentifiers", SUBNET):
        tables = [
            table.urn
            for association in stack.referring(subnet, "subnetId", ROUTE_TABLE_ASSOCIATION)
            for table in stack.refs(association, "routeTableId", ROUTE_TABLE)
        ]
        for service in ("dynamodb", "s3"):
            if not any(
                _gateway_to(endpoint, service, tables) for endpoint in stack.of_type(VPC_ENDPOINT)
            ):
                yield f"subnet '{subnet.name}': no {service} gateway endpoint on its route table"


def _gateway_to(endpoint: Res, service: str, tables: list[str]) -> bool:
    return (
        endpoint.get("vpcEndpointType") == "Gateway"
        and str(endpoint.get("serviceName", "")).endswith(f".{service}")
        and any(table in endpoint.deps.get("routeTableIds", ()) for table in tables)
    )


@rule(
    "subnet-no-auto-public-ip",
    "Subnets do not give instances public addresses (FSBP EC2.15).",
    SUBNET,
)
def _subnet_no_auto_public_ip(subnet: Res, _: Stack) -> Iterator[str]:
    if truthy(subnet.get("mapPublicIpOnLaunch")):
        yield "mapPublicIpOnLaunch is on"


@rule(
    "sg-world-ingress-alb-only",
    "Only the load balancer admits the whole internet, and only on 80/443 (FSBP EC2.18/EC2.19).",
    INGRESS,
    SG,
    needs_stack=True,
)
def _sg_world_ingress(resource: Res, stack: Stack) -> Iterator[str]:
    albs = alb_groups(stack)
    items: list[tuple[Res | None, Mapping[str, Any]]]
    if resource.type == SG:
        items = [(resource, item) for d, item in inline_rules(resource) if d == "ingress"]
    else:
        items = [(group_of(stack, resource), resource.props)]  # None: not a group we can see
    for group, item in items:
        for cidr in world_cidrs(item):
            protocol, low, high = ports(item)
            web = protocol in {"tcp", "6"} and low == high and low in {80, 443}
            if group is None or group.urn not in albs or not web:
                yield f"admits {cidr} on {protocol}/{low}-{high}"


@rule(
    "sg-ssh-from-bastion-only",
    "SSH and RDP are admitted only from the bastion's group, or by the bastion from "
    "configured networks (FSBP EC2.13, CIS 5.2).",
    INGRESS,
    SG,
    needs_stack=True,
)
def _sg_ssh_from_bastion(resource: Res, stack: Stack) -> Iterator[str]:
    if resource.type == SG:
        for direction, item in inline_rules(resource):
            if direction == "ingress" and any(admits_port(item, p) for p in ADMIN_PORTS):
                yield "an inline ingress rule admits SSH or RDP"
        return
    for port in ADMIN_PORTS:
        if not admits_port(resource.props, port):
            continue
        sources = stack.refs(resource, "referencedSecurityGroupId", SG)
        group = group_of(stack, resource)
        if sources:
            if not all(tier(s) == "bastion" for s in sources):
                yield f"port {port} admitted from a group that is not the bastion's"
        elif group is None or tier(group) != "bastion":
            yield f"port {port} admitted from addresses on a group that is not the bastion's"


@rule(
    "sg-rule-description",
    "Every security group and rule says what it is for, in the characters EC2 accepts.",
    INGRESS,
    EGRESS,
    SG,
)
def _sg_rule_description(resource: Res, _: Stack) -> Iterator[str]:
    if resource.type == SG:
        # Optional: the provider writes "Managed by Pulumi" when the program gives none.
        yield from _description_problems(
            "the group's description", resource.get("description"), required=False
        )
        for direction, item in inline_rules(resource):
            yield from _description_problems(f"an inline {direction} rule", item.get("description"))
    else:
        yield from _description_problems("the rule", resource.get("description"))


def _description_problems(what: str, description: Any, required: bool = True) -> Iterator[str]:
    if not description:
        if required:
            yield f"{what} has no description"
    elif not EC2_DESCRIPTION.fullmatch(str(description)):
        yield (
            f"{what} {description!r} is refused by EC2: up to 255 of a-z A-Z 0-9, spaces and "
            "._-:/()#,@[]+=&;{}!$*"
        )


@rule(
    "sg-rules-separate",
    "Security group rules are separate resources, never inline (inline and separate rules "
    "fight over the same group).",
    SG,
)
def _sg_rules_separate(group: Res, _: Stack) -> Iterator[str]:
    for direction, _item in inline_rules(group):
        yield f"declares an inline {direction} rule"


@rule(
    "sg-ingress-single-port",
    "Ingress rules open one protocol and one port, not every protocol or a range (FSBP EC2.19).",
    INGRESS,
)
def _sg_ingress_single_port(resource: Res, _: Stack) -> Iterator[str]:
    protocol, low, high = ports(resource.props)
    if protocol == "-1":
        yield "admits every protocol and port"
    elif low != high:
        yield f"admits the port range {low}-{high}"


@rule(
    "sg-world-egress-limited",
    "No group may send every protocol to the whole internet (least privilege on egress).",
    EGRESS,
)
def _sg_world_egress(resource: Res, _: Stack) -> Iterator[str]:
    if ports(resource.props)[0] == "-1":
        for cidr in world_cidrs(resource.props):
            yield f"sends all traffic to {cidr}"
