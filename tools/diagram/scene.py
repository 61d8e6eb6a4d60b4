"""What a stack's picture shows, derived from the declared resources alone: boxes placed in the
VPC's subnet tiers, and the links between them (routes, who may connect to whom, who owns what).

Everything comes from the plan: a resource's tier is the `multitier:tier` tag of the subnets it
is placed in, its role the component that declared it, the connections the reachability
analysis of its security groups. No config is read, so the picture is what `pulumi up` would
build. Each box keeps a stable id made from the URN of the resource it stands for (the first,
by URN, when it stands for several), so the DOT source only changes when the plan does.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from policy import reachability
from policy.model import Res, Stack
from policy.props import TIER_TAG, VIP_TAG, tier
from policy.types import (
    ALARM,
    ASG,
    CACHE,
    CACHE_SUBNET_GROUP,
    DASHBOARD,
    DYNAMODB_TABLE,
    EFS,
    EFS_MOUNT_TARGET,
    EGRESS,
    EVENT_RULE,
    EVENT_SOURCE_MAPPING,
    FUNCTION,
    IGW,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    LISTENER,
    LOG_GROUP,
    NAT_GATEWAY,
    RDS,
    RDS_SUBNET_GROUP,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SECRET_ROTATION,
    SG,
    SUBNET,
    TOPIC,
    VPC,
    VPC_ENDPOINT,
    WAF_ACL_ASSOCIATION,
)

OUTSIDE = ""
"""The place of a regional service outside the VPC (Lambda, DynamoDB, CloudWatch)."""
IN_VPC = "vpc"
"""The place of what belongs to the VPC but to no subnet tier (gateways, the VIP)."""
TIER_ORDER = ("public", "private", "data")
HIDDEN_TIERS = frozenset({reachability.INTERNET, "nat", "endpoints"})
"""Tiers whose connections are not drawn: every tier reaches them (the routes show NAT), and
NAT reaches what the internet does."""


@dataclass(frozen=True, order=True)
class Box:
    """One node of the picture: a resource, or a few of one kind drawn together."""

    place: str
    kind: str
    id: str
    label: str


@dataclass(frozen=True, order=True)
class Link:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


@dataclass
class Scene:
    """A stack's picture: its title, the VPC and its tiers, the boxes and the links."""

    title: str
    vpc_id: str
    vpc_label: str
    tiers: list[str]
    boxes: list[Box] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    def box(self, id_: str) -> Box:
        return next(b for b in self.boxes if b.id == id_)

    def of_kind(self, kind: str) -> list[Box]:
        return [b for b in self.boxes if b.kind == kind]


def node_id(urn: str) -> str:
    """`aws_ec2_subnet_Subnet__network_public_eu_west_1a`: the URN's type and name, which are
    unique in a stack, spelt as a DOT identifier (a colon would be read as a port)."""
    _, _, chain, name = urn.split("::", 3)
    return re.sub(r"[^0-9A-Za-z]+", "_", f"{chain.rsplit('$', 1)[-1]}__{name}").strip("_")


def scene(stack: Stack, region: str) -> Scene:
    return _Builder(stack, region).build()


class _Builder:
    def __init__(self, stack: Stack, region: str) -> None:
        self.stack = stack
        vpcs = self._all(VPC)
        self.scene = Scene(
            title=f"{stack.name} ({region})",
            vpc_id=f"cluster_{node_id(vpcs[0].urn)}" if vpcs else "cluster_vpc",
            vpc_label=", ".join(f"VPC {v.get('cidrBlock')}" for v in vpcs) or "no VPC",
            tiers=[],
        )
        self.tier_of_subnet = {s.urn: str(s.tags.get(TIER_TAG, "")) for s in self._all(SUBNET)}
        self.box_of: dict[str, str] = {}
        """Resource URN -> the id of the box that stands for it."""

    def build(self) -> Scene:
        self._subnets()
        self._edge_services()
        self._endpoints()
        self._fleets()
        self._databases()
        self._storage()
        self._functions()
        self._observability()
        self._routes()
        self._connections()
        self._service_links()
        places = {b.place for b in self.scene.boxes}
        self.scene.tiers = [t for t in TIER_ORDER if t in places]
        self.scene.tiers += sorted(places - {*TIER_ORDER, OUTSIDE, IN_VPC})
        self.scene.boxes.sort()
        self.scene.links = sorted(set(self.scene.links))
        return self.scene

    # --- boxes ---------------------------------------------------------------------------

    def _subnets(self) -> None:
        for subnet in self._all(SUBNET):
            place = self.tier_of_subnet[subnet.urn]
            kind = "subnet-public" if place == "public" else "subnet"
            label = f"{subnet.get('availabilityZone')}\n{subnet.get('cidrBlock')}"
            self._add([subnet], place, kind, label)

    def _edge_services(self) -> None:
        for gateway in self._all(IGW):
            self._add([gateway], IN_VPC, "igw", "internet gateway")
        self.scene.boxes.append(Box(OUTSIDE, "internet", "internet", "internet"))
        for nat in self._all(NAT_GATEWAY):
            zone = self._zones(self.stack.refs(nat, "subnetId", SUBNET))
            self._add([nat], self._place(nat, "subnetId"), "nat", f"NAT gateway\n{zone}")
        for instance in self._all(INSTANCE):
            if instance.get("sourceDestCheck") is False:
                label = f"NAT instance\n{instance.get('instanceType')}"
                self._add([instance], self._place(instance, "subnetId"), "nat-instance", label)
        for lb in self._all(LB):
            listeners = [
                f"{listener.get('protocol')} {listener.get('port')}"
                for listener in self._all(LISTENER)
                if lb.urn in listener.deps.get("loadBalancerArn", ())
            ]
            scheme = "internal" if lb.get("internal") else "internet-facing"
            label = f"load balancer\n{scheme}\n{', '.join(sorted(listeners))}"
            self._add([lb], self._place(lb, "subnets"), "alb", label)
        for association in self._all(WAF_ACL_ASSOCIATION):
            self._add([association], OUTSIDE, "waf", "WAF web ACL")

    def _endpoints(self) -> None:
        """Gateway endpoints belong to route tables, interface endpoints to subnets."""
        endpoints = self._all(VPC_ENDPOINT)
        interface = [e for e in endpoints if e.get("vpcEndpointType") == "Interface"]
        for members, what in (
            ([e for e in endpoints if e not in interface], "gateway"),
            (interface, "interface"),
        ):
            if members:
                services = sorted(str(e.get("serviceName")).rsplit(".", 1)[-1] for e in members)
                place = self._place(members[0], "subnetIds") if what == "interface" else IN_VPC
                self._add(members, place, "endpoint", f"{what} endpoints\n{', '.join(services)}")

    def _fleets(self) -> None:
        titles = {"app": "app fleet", "database": "PostgreSQL nodes", "bastion": "bastion"}
        kinds = {"app": "fleet", "database": "db-nodes", "bastion": "bastion"}
        for group in self._all(ASG):
            templates = self.stack.refs(group, "launchTemplate", LAUNCH_TEMPLATE)
            instance_type = templates[0].get("instanceType") if templates else "?"
            component = self.stack.component_of(group)
            role = component.type.split(":")[1] if component else "group"
            label = f"{titles.get(role, group.name)}\n{self._count(group)} x {instance_type}"
            place = self._place(group, "vpcZoneIdentifiers")
            self._add([group], place, kinds.get(role, "fleet"), label)

    def _databases(self) -> None:
        for db in self._all(RDS):
            subnets = self._grouped(db, "dbSubnetGroupName", RDS_SUBNET_GROUP)
            replica = bool(db.get("replicateSourceDb"))
            engine = f"RDS {db.get('engine')} {db.get('engineVersion')}"
            lines = ["RDS read replica" if replica else engine, str(db.get("instanceClass"))]
            lines += ["Multi-AZ"] if db.get("multiAz") else []
            lines += [] if replica else [f"{db.get('allocatedStorage')} GB {db.get('storageType')}"]
            self._add([db], self._tier(subnets), "rds", "\n".join(lines))
        for group in self._all(SG):
            if vip := group.tags.get(VIP_TAG):
                label = f"VIP {vip}\nits route is owned by\nthe failover function"
                self._add([group], IN_VPC, "vip", label)
        for cache in self._all(CACHE):
            subnets = self._grouped(cache, "subnetGroupName", CACHE_SUBNET_GROUP)
            nodes = f"{cache.get('numCacheClusters')} x {cache.get('nodeType')}"
            self._add(
                [cache], self._tier(subnets), "cache", f"ElastiCache {cache.get('engine')}\n{nodes}"
            )

    def _storage(self) -> None:
        mount_targets = self._all(EFS_MOUNT_TARGET)
        for system in self._all(EFS):
            targets = [t for t in mount_targets if system.urn in t.deps.get("fileSystemId", ())]
            subnets = [s for t in targets for s in self.stack.refs(t, "subnetId", SUBNET)]
            label = f"EFS {system.name}\nmount targets in {len(targets)} AZs"
            self._add([system, *targets], self._tier(subnets), "efs", label)
        for table in self._all(DYNAMODB_TABLE):
            self._add([table], OUTSIDE, "dynamodb", f"DynamoDB table\n{table.name}")

    def _functions(self) -> None:
        """Each function, in its subnets' tier if in the VPC, labelled with what runs it."""
        for function in self._all(FUNCTION):
            rules = [r for r in self._all(EVENT_RULE) if r.name.startswith(function.name)]
            triggers = [r.name.removeprefix(function.name).strip("-") for r in rules]
            rotations = [
                r
                for r in self._all(SECRET_ROTATION)
                if function.urn in r.deps.get("rotationLambdaArn", ())
            ]
            if n := len(rotations):
                triggers.append(f"rotation of {n} secret{'s' if n > 1 else ''}")
            label = f"Lambda {function.name}\non " + (",\n".join(triggers) or "invocation")
            subnets = self.stack.refs(function, "vpcConfig", SUBNET)
            self._add([function], self._tier(subnets) if subnets else OUTSIDE, "lambda", label)

    def _observability(self) -> None:
        alarms, topics = self._all(ALARM), self._all(TOPIC)
        watched = [*alarms, *self._all(DASHBOARD), *self._all(LOG_GROUP)]
        counts = {
            "alarm": len(alarms),
            "dashboard": len(self._all(DASHBOARD)),
            "log group": len(self._all(LOG_GROUP)),
        }
        text = "\n".join(f"{n} {what}{'s' if n > 1 else ''}" for what, n in counts.items() if n)
        self._add(watched, OUTSIDE, "cloudwatch", f"CloudWatch\n{text}")
        self._add(topics, OUTSIDE, "sns", "SNS alert topic")
        if alarms and topics:
            self._link(alarms[0], topics[0], "alarm and OK actions")

    # --- links ---------------------------------------------------------------------------

    def _routes(self) -> None:
        """Each subnet's IPv4 default route, and how NAT leaves the VPC."""
        tables: dict[str, list[Res]] = defaultdict(list)
        for association in self._all(ROUTE_TABLE_ASSOCIATION):
            for table in association.deps.get("routeTableId", ()):
                tables[table] += self.stack.refs(association, "subnetId", SUBNET)
        hops = ("natGatewayId", "networkInterfaceId", "instanceId")
        for route in self._all(ROUTE):
            if route.get("destinationCidrBlock") != "0.0.0.0/0":
                continue  # public subnets route to the IGW, drawn once: NAT leads to it
            via = [r for prop in hops for r in self.stack.refs(route, prop)]
            for subnet in (s for t in route.deps.get("routeTableId", ()) for s in tables[t]):
                for target in via:
                    self._link(subnet, target, "0.0.0.0/0", dashed=True)
        for gateway in self._all(IGW):
            self.scene.links.append(Link("internet", self.box_of[gateway.urn]))
            for nat in [*self._all(NAT_GATEWAY), *self._all(INSTANCE)]:
                self._link(nat, gateway)

    def _connections(self) -> None:
        """Who may open connections to whom (policy/reachability.py), between drawn boxes;
        a client whose egress names a VIP reaches that VIP, which leads to the primary."""
        boxes_of_tier = self._boxes_of_tiers()
        vips = self._vips()
        for source, row in reachability.analyse(self.stack).items():
            if source in HIDDEN_TIERS - {reachability.INTERNET}:
                continue
            for target, ports in row.items():
                if target in HIDDEN_TIERS:
                    continue
                destinations = boxes_of_tier.get(target, set())
                if (target, source) in vips:
                    destinations = {vips[target, source]}
                for destination in sorted(destinations):
                    self._connect(source, destination, boxes_of_tier, ", ".join(ports))
        for group in self._all(SG):
            if group.tags.get(VIP_TAG) and (name := tier(group)):
                self._vip_links(self.box_of[group.urn], boxes_of_tier.get(name, set()))

    def _connect(
        self, source: str, destination: str, boxes: dict[str, set[str]], ports: str
    ) -> None:
        if source == reachability.INTERNET:
            self.scene.links.append(Link(self._front_door(destination), destination, ports))
        elif not self._public(destination):  # from inside, a public ALB is out and back in
            for origin in sorted(boxes.get(source, ())):
                self.scene.links.append(Link(origin, destination, ports))

    def _service_links(self) -> None:
        """The failover function's lease and stream, and the WAF in front of the internet."""
        for function in self._all(FUNCTION):
            for table in self.stack.refs(function, "environment", DYNAMODB_TABLE):
                self._link(function, table, "lease")
        for mapping in self._all(EVENT_SOURCE_MAPPING):
            for stream in self.stack.refs(mapping, "eventSourceArn"):
                for function in self.stack.refs(mapping, "functionName", FUNCTION):
                    self._link(stream, function, "stream: failing reports", dashed=True)
        for association in self._all(WAF_ACL_ASSOCIATION):  # its rules judge every request
            self.scene.links.append(Link("internet", self.box_of[association.urn], "requests"))

    def _vips(self) -> dict[tuple[str, str], str]:
        """(server tier, client tier) -> the VIP box, for each client whose egress names a VIP."""
        found = {}
        for group in self._all(SG):
            if (vip := group.tags.get(VIP_TAG)) and (server := tier(group)):
                for rule in self._all(EGRESS):
                    if rule.get("cidrIpv4") == vip:
                        for client in self.stack.refs(rule, "securityGroupId", SG):
                            found[server, tier(client) or ""] = self.box_of[group.urn]
        return found

    def _vip_links(self, vip: str, servers: set[str]) -> None:
        """The VIP's /32 route leads to the primary; the failover function moves it."""
        for group in self._all(ASG):
            if self.box_of[group.urn] not in servers:
                continue
            self.scene.links.append(Link(vip, self.box_of[group.urn], "/32 route to the primary"))
            for function in self._all(FUNCTION):
                if group.urn in function.deps.get("environment", ()):
                    link = Link(self.box_of[function.urn], vip, "moves the /32 route", dashed=True)
                    self.scene.links.append(link)

    def _public(self, box: str) -> bool:
        found = self.scene.box(box)
        return found.kind == "alb" and "internet-facing" in found.label

    def _front_door(self, destination: str) -> str:
        """What the internet meets before `destination`: the WAF in front of a load balancer."""
        for association in self._all(WAF_ACL_ASSOCIATION):
            guarded = self.stack.refs(association, "resourceArn", LB)
            if any(self.box_of.get(lb.urn) == destination for lb in guarded):
                return self.box_of[association.urn]
        return "internet"

    def _boxes_of_tiers(self) -> dict[str, set[str]]:
        """Security-group tier (alb, app, database, ...) -> the boxes of what it guards."""
        members: list[tuple[Res, list[Res]]] = [
            (lb, self.stack.refs(lb, "securityGroups", SG)) for lb in self._all(LB)
        ]
        for group in self._all(ASG):
            for template in self.stack.refs(group, "launchTemplate", LAUNCH_TEMPLATE):
                groups = self.stack.refs(template, "vpcSecurityGroupIds", SG)
                members.append((group, groups + self.stack.refs(template, "networkInterfaces", SG)))
        for type_, prop in (
            (INSTANCE, "vpcSecurityGroupIds"),
            (RDS, "vpcSecurityGroupIds"),
            (CACHE, "securityGroupIds"),
            (EFS_MOUNT_TARGET, "securityGroups"),
            (FUNCTION, "vpcConfig"),
        ):
            members += [(r, self.stack.refs(r, prop, SG)) for r in self._all(type_)]
        found: dict[str, set[str]] = defaultdict(set)
        for resource, groups in members:
            for group in groups:
                if (name := tier(group)) and resource.urn in self.box_of:
                    found[name].add(self.box_of[resource.urn])
        return found

    # --- helpers -------------------------------------------------------------------------

    def _all(self, type_: str) -> list[Res]:
        return sorted(self.stack.of_type(type_), key=lambda r: r.urn)

    def _add(self, resources: list[Res], place: str, kind: str, label: str) -> None:
        if not resources:
            return
        box = Box(place, kind, node_id(min(r.urn for r in resources)), label)
        self.scene.boxes.append(box)
        for resource in resources:
            self.box_of.setdefault(resource.urn, box.id)

    def _link(self, source: Res, target: Res, label: str = "", dashed: bool = False) -> None:
        if source.urn in self.box_of and target.urn in self.box_of:
            link = Link(self.box_of[source.urn], self.box_of[target.urn], label, dashed)
            self.scene.links.append(link)

    def _place(self, resource: Res, prop: str) -> str:
        return self._tier(self.stack.refs(resource, prop, SUBNET))

    def _tier(self, subnets: Iterable[Res]) -> str:
        counted = Counter(self.tier_of_subnet.get(s.urn, "") for s in subnets)
        return counted.most_common(1)[0][0] if counted else IN_VPC

    def _grouped(self, resource: Res, prop: str, group_type: str) -> list[Res]:
        return [
            s
            for g in self.stack.refs(resource, prop, group_type)
            for s in self.stack.refs(g, "subnetIds", SUBNET)
        ]

    @staticmethod
    def _zones(subnets: Iterable[Res]) -> str:
        return ", ".join(sorted(str(s.get("availabilityZone")) for s in subnets))

    @staticmethod
    def _count(group: Res) -> str:
        low, high = group.get("minSize"), group.get("maxSize")
        return str(low) if low == high else f"{low}-{high}"
