"""Who can open a connection to whom, computed from the declared security groups, subnets and
route tables.

A tier is what a security group tagged `multitier:tier` guards (alb, app, bastion, database, ...),
placed in the subnets of the resources that use the group; the internet and functions outside
the VPC are tiers too. Tier A reaches tier B on a port when B's ingress rules admit A (by group or
by address), A's egress rules allow B, and a route exists: inside the VPC the local route always
does; from the internet B needs a public address in a subnet routed to an internet gateway; to
the internet A needs a default route (an internet gateway with a public address, or NAT). A
group tagged `multitier:vip` answers on that virtual IP too: an address outside the VPC that a
route inside it leads to, so traffic to it reaches the group's tier, not the internet.
Network ACLs are not declared, so the default ACL (allow all) applies and is not modelled.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policy.model import Res, Stack
from policy.props import VIP_TAG, as_list, ports, tier, truthy
from policy.types import (
    ASG,
    CACHE,
    CACHE_SUBNET_GROUP,
    EFS_MOUNT_TARGET,
    EGRESS,
    FUNCTION,
    IGW,
    INGRESS,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    RDS,
    RDS_SUBNET_GROUP,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SG,
    SUBNET,
    VPC,
    VPC_ENDPOINT,
)

INTERNET = "internet"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class Tier:
    name: str
    groups: set[str] = field(default_factory=set)
    subnets: set[str] = field(default_factory=set)
    vips: set[Network] = field(default_factory=set)
    """Virtual IPs its groups answer on (`multitier:vip`)."""
    public: bool = False
    in_vpc: bool = True


@dataclass(frozen=True, order=True)
class Ports:
    protocol: str
    low: int
    high: int

    def __and__(self, other: Ports) -> Ports | None:
        if "-1" not in {self.protocol, other.protocol} and self.protocol != other.protocol:
            return None
        protocol = other.protocol if self.protocol == "-1" else self.protocol
        low, high = max(self.low, other.low), min(self.high, other.high)
        return Ports(protocol, low, high) if low <= high else None

    def __str__(self) -> str:
        if self.protocol == "-1":
            return "all"
        span = f"{self.low}" if self.low == self.high else f"{self.low}-{self.high}"
        return f"{self.protocol}/{span}"


ALL = Ports("-1", 0, 65535)

Matrix = dict[str, dict[str, list[str]]]
"""source tier -> destination tier -> what it may open, e.g. ["tcp/5432"]."""


def analyse(stack: Stack) -> Matrix:
    tiers = _tiers(stack)
    cidrs = {s.urn: ipaddress.ip_network(s.get("cidrBlock")) for s in stack.of_type(SUBNET)}
    routes = _default_routes(stack)
    vpc_cidrs = [ipaddress.ip_network(v.get("cidrBlock")) for v in stack.of_type(VPC)]
    ingress = _rules_by_group(stack, INGRESS)
    egress = _rules_by_group(stack, EGRESS)

    def networks(t: Tier) -> list[Network]:
        return [cidrs[s] for s in t.subnets if s in cidrs]

    vips = [vip for t in tiers.values() for vip in t.vips]

    inside = [*vpc_cidrs, *vips]

    def outside(cidr: Network) -> bool:
        return not any(cidr.overlaps(v) for v in inside)

    def admits(rule: Res, peer: Tier) -> str | None:
        """'' when `rule` covers `peer` as a whole, ' from <cidr>' when only some addresses."""
        if set(rule.deps.get("referencedSecurityGroupId", ())) & peer.groups:
            return ""
        cidr_text = rule.get("cidrIpv4") or rule.get("cidrIpv6")
        if not cidr_text:
            return None
        cidr = ipaddress.ip_network(cidr_text, strict=False)
        if not peer.in_vpc or peer.name == INTERNET:
            if cidr.prefixlen == 0:
                return ""
            return f" from {cidr}" if outside(cidr) and peer.name == INTERNET else None
        return "" if any(cidr.overlaps(n) for n in [*networks(peer), *peer.vips]) else None

    def can_route(source: Tier, target: Tier) -> bool:
        if source.in_vpc and target.in_vpc:
            return True
        if target.name == INTERNET:
            kinds = {routes.get(s) for s in source.subnets}
            return "nat" in kinds or ("igw" in kinds and source.public)
        if not target.in_vpc:
            return False  # nothing reaches into a function outside the VPC
        return target.public and any(routes.get(s) == "igw" for s in target.subnets)

    sources = [*tiers.values()]
    targets = [t for t in tiers.values() if t.in_vpc or t.name == INTERNET]
    matrix: Matrix = {}
    for source in sources:
        row: dict[str, list[str]] = {}
        for target in targets:
            if target.name == source.name or not can_route(source, target):
                continue
            if target.name == INTERNET:
                inbound = [(ALL, "")]
            else:
                inbound = [
                    (Ports(*ports(r.props)), how)
                    for g in target.groups
                    for r in ingress[g]
                    if (how := admits(r, source)) is not None
                ]
            if not source.in_vpc or source.name == INTERNET:
                outbound = [ALL]
            else:
                outbound = [
                    Ports(*ports(r.props))
                    for g in source.groups
                    for r in egress[g]
                    if admits(r, target) is not None
                ]
            cells = {
                f"{both}{how}"
                for allowed, how in inbound
                for out in outbound
                if (both := allowed & out) is not None
            }
            if cells:
                row[target.name] = sorted(cells)
        matrix[source.name] = row
    return matrix


def render(matrix: Matrix) -> list[str]:
    width = max((len(name) for name in matrix), default=0)
    lines = []
    for source, row in matrix.items():
        reach = "; ".join(f"{t} {', '.join(p)}" for t, p in sorted(row.items())) or "nothing"
        lines.append(f"  {source:<{width}} -> {reach}")
    return lines


def _tiers(stack: Stack) -> dict[str, Tier]:
    tiers: dict[str, Tier] = {INTERNET: Tier(INTERNET, in_vpc=False, public=True)}
    for group in stack.of_type(SG):
        name = tier(group)
        if name:
            tiers.setdefault(name, Tier(name)).groups.add(group.urn)
            if vip := group.tags.get(VIP_TAG):
                tiers[name].vips.add(ipaddress.ip_network(vip))
    for groups, subnets, public in _members(stack):
        for name in {tier(g) for g in groups} - {None}:
            assert name is not None
            tiers[name].subnets |= {s.urn for s in subnets}
            tiers[name].public |= public
    for function in stack.of_type(FUNCTION):
        if not _in_vpc(function):
            tiers[function.name] = Tier(function.name, in_vpc=False)
    # A group nothing uses guards nothing: it is no tier.
    return {n: t for n, t in tiers.items() if t.subnets or not t.in_vpc}


def _members(stack: Stack) -> Iterable[tuple[list[Res], list[Res], bool]]:
    """(security groups, subnets, has a public address) of everything placed in the VPC."""
    for lb in stack.of_type(LB):
        yield (
            stack.refs(lb, "securityGroups", SG),
            stack.refs(lb, "subnets", SUBNET),
            not truthy(lb.get("internal")),
        )
    for template in stack.of_type(LAUNCH_TEMPLATE):
        groups = stack.refs(template, "vpcSecurityGroupIds", SG)
        groups += stack.refs(template, "networkInterfaces", SG)
        public = any(
            truthy(i.get("associatePublicIpAddress"))
            for i in as_list(template.get("networkInterfaces"))
        )
        for group in stack.referring(template, "launchTemplate", ASG):
            yield groups, stack.refs(group, "vpcZoneIdentifiers", SUBNET), public
    for instance in stack.of_type(INSTANCE):
        yield (
            stack.refs(instance, "vpcSecurityGroupIds", SG),
            stack.refs(instance, "subnetId", SUBNET),
            truthy(instance.get("associatePublicIpAddress")),
        )
    for db in stack.of_type(RDS):
        yield (
            stack.refs(db, "vpcSecurityGroupIds", SG),
            _grouped_subnets(stack, db, "dbSubnetGroupName", RDS_SUBNET_GROUP),
            truthy(db.get("publiclyAccessible")),
        )
    for cache in stack.of_type(CACHE):
        yield (
            stack.refs(cache, "securityGroupIds", SG),
            _grouped_subnets(stack, cache, "subnetGroupName", CACHE_SUBNET_GROUP),
            False,
        )
    for target in stack.of_type(EFS_MOUNT_TARGET):
        yield (
            stack.refs(target, "securityGroups", SG),
            stack.refs(target, "subnetId", SUBNET),
            False,
        )
    for endpoint in stack.of_type(VPC_ENDPOINT):
        yield (
            stack.refs(endpoint, "securityGroupIds", SG),
            stack.refs(endpoint, "subnetIds", SUBNET),
            False,
        )
    for function in stack.of_type(FUNCTION):
        if _in_vpc(function):
            yield (
                stack.refs(function, "vpcConfig", SG),
                stack.refs(function, "vpcConfig", SUBNET),
                False,
            )


def _grouped_subnets(stack: Stack, resource: Res, prop: str, group_type: str) -> list[Res]:
    """The subnets of the subnet group `resource.<prop>` names."""
    return [
        s
        for g in stack.refs(resource, prop, group_type)
        for s in stack.refs(g, "subnetIds", SUBNET)
    ]


def _in_vpc(function: Res) -> bool:
    config: Any = function.get("vpcConfig")
    return isinstance(config, Mapping) and bool(as_list(config.get("subnetIds")))


def _default_routes(stack: Stack) -> dict[str, str]:
    """Per subnet URN, where its IPv4 default route goes: 'igw' or 'nat'."""
    by_table: dict[str, str] = {}
    for route in stack.of_type(ROUTE):
        if route.get("destinationCidrBlock") != "0.0.0.0/0":
            continue
        via_igw = stack.refs(route, "gatewayId", IGW)
        kind = "igw" if via_igw else "nat"
        for table in route.deps.get("routeTableId", ()):
            by_table[table] = kind
    routes = {}
    for association in stack.of_type(ROUTE_TABLE_ASSOCIATION):
        tables = association.deps.get("routeTableId", ())
        for subnet in association.deps.get("subnetId", ()):
            target = next((by_table[t] for t in tables if t in by_table), None)
            if target:
                routes[subnet] = target
    return routes


def _rules_by_group(stack: Stack, type_: str) -> dict[str, list[Res]]:
    found: dict[str, list[Res]] = defaultdict(list)
    for rule in stack.of_type(type_):
        for group in rule.deps.get("securityGroupId", ()):
            found[group].append(rule)
    return found
