"""Deploy-order rules: AWS refuses or half-creates a resource whose prerequisite does not exist
yet, and Pulumi creates in parallel whatever no dependency orders. Each rule names the real
prerequisite a resource must wait for, judged over what the engine really waits for (input
dependencies and `depends_on`, followed transitively; `Stack.prerequisites`).
"""

from __future__ import annotations

import base64
import binascii
import gzip
from collections.abc import Iterable, Iterator, Mapping

from policy.model import Res, Stack
from policy.props import as_list, truthy, world_cidrs
from policy.rules.base import rule
from policy.types import (
    ASG,
    ATTACHMENT,
    EFS,
    EFS_MOUNT_TARGET,
    EGRESS,
    EIP,
    FLOW_LOG,
    FUNCTION,
    IGW,
    IGW_ATTACHMENT,
    INGRESS,
    INSTANCE,
    INSTANCE_PROFILE,
    LAUNCH_TEMPLATE,
    LB,
    NAT_GATEWAY,
    RDS,
    ROLE,
    ROLE_POLICY,
    ROUTE,
    ROUTE_TABLE_ASSOCIATION,
    SECRET,
    SECRET_VERSION,
    SG,
    SSM_PARAMETER,
    SUBNET,
    VPC,
)

# The properties through which a resource names its subnets and its security groups.
_SUBNET_PROPS = ("subnetId", "subnetIds", "subnets", "subnetMappings", "vpcZoneIdentifiers")
_GROUP_PROPS = ("securityGroups", "vpcSecurityGroupIds", "networkInterfaces")
# The property through which a resource acts as an IAM role, by type.
_ROLE_PROPS = {FLOW_LOG: "iamRoleArn", RDS: "monitoringRoleArn", FUNCTION: "role"}


def _missing(stack: Stack, resource: Res, prerequisites: Iterable[Res]) -> list[str]:
    return sorted({p.name for p in prerequisites if not stack.waits_for(resource, p)})


def _names(names: list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


# The internet gateway


def _subnets(stack: Stack, resource: Res) -> list[Res]:
    return [s for prop in _SUBNET_PROPS for s in stack.refs(resource, prop, SUBNET)]


def _groups(stack: Stack, resources: Iterable[Res]) -> list[Res]:
    return [g for r in resources for prop in _GROUP_PROPS for g in stack.refs(r, prop, SG)]


def _vpcs(stack: Stack, resource: Res) -> set[str]:
    """The VPCs a resource lives in, through its subnets or its security groups."""
    placed = [*_subnets(stack, resource), *_groups(stack, [resource])]
    return {v.urn for r in placed for v in stack.refs(r, "vpcId", VPC)}


def _gateways(stack: Stack, vpcs: set[str]) -> list[Res]:
    """The internet gateways attached to these VPCs (all of the stack's when none is known)."""
    gateways = stack.of_type(IGW, IGW_ATTACHMENT)
    if not vpcs:
        return gateways
    return [g for g in gateways if vpcs & {v.urn for v in stack.refs(g, "vpcId", VPC)}]


def _needs_gateway(resource: Res, stack: Stack) -> str | None:
    """What fails when `resource` is created before its VPC's internet gateway is attached."""
    if resource.type == NAT_GATEWAY and resource.get("connectivityType") != "private":
        return "the NAT gateway ends up failed (Gateway.NotAttached)"
    if resource.type == EIP and (
        stack.referring(resource, "allocationId", NAT_GATEWAY)
        or resource.get("instance")
        or resource.get("networkInterface")
    ):
        return "the address cannot be associated before the gateway is attached"
    if resource.type == INSTANCE and truthy(resource.get("associatePublicIpAddress")):
        return "the instance's public address is unreachable, and its first boot has no egress"
    if resource.type == LAUNCH_TEMPLATE and any(
        truthy(interface.get("associatePublicIpAddress"))
        for interface in as_list(resource.get("networkInterfaces"))
        if isinstance(interface, Mapping)
    ):
        return "hosts launched from it get public addresses before the gateway exists"
    if resource.type == LB and not truthy(resource.get("internal")):
        return "AWS refuses an internet-facing load balancer (InvalidSubnet: no internet gateway)"
    return None


@rule(
    "order-internet-gateway",
    "What needs the internet gateway attached (NAT gateways and their addresses, hosts with "
    "public addresses, internet-facing load balancers) is created after it.",
    NAT_GATEWAY,
    EIP,
    INSTANCE,
    LAUNCH_TEMPLATE,
    LB,
    needs_stack=True,
)
def _order_internet_gateway(resource: Res, stack: Stack) -> Iterator[str]:
    consequence = _needs_gateway(resource, stack)
    if consequence is None:
        return
    users = stack.referring(resource, "allocationId", NAT_GATEWAY) if resource.type == EIP else []
    vpcs = set().union(*(_vpcs(stack, r) for r in [resource, *users]))
    gateways = _gateways(stack, vpcs)
    if not gateways:
        yield f"no internet gateway is attached to its VPC: {consequence}"
    elif not any(stack.waits_for(resource, g) for g in gateways):
        yield (
            f"is not ordered after the internet gateway {_names([g.name for g in gateways])}: "
            f"{consequence}; depend on the gateway (or its attachment)"
        )


# IAM roles


def _roles(resource: Res, stack: Stack) -> list[Res]:
    """The roles a resource acts through: directly, or through its instance profile."""
    if resource.type in (INSTANCE, LAUNCH_TEMPLATE):
        profiles = stack.refs(resource, "iamInstanceProfile", INSTANCE_PROFILE)
        return [role for p in profiles for role in stack.refs(p, "role", ROLE)]
    return stack.refs(resource, _ROLE_PROPS[resource.type], ROLE)


def grants(stack: Stack, role: Res) -> list[Res]:
    """The inline policies and managed-policy attachments that give a role its permissions."""
    return stack.referring(role, "role", ROLE_POLICY, ATTACHMENT)


@rule(
    "order-iam-grants",
    "What acts through an IAM role (hosts through their instance profile, flow logs, RDS "
    "enhanced monitoring, Lambda functions) is created after the role's policies and "
    "attachments, not only the role.",
    INSTANCE,
    LAUNCH_TEMPLATE,
    FLOW_LOG,
    RDS,
    FUNCTION,
    needs_stack=True,
)
def _order_iam_grants(resource: Res, stack: Stack) -> Iterator[str]:
    for role in _roles(resource, stack):
        missing = _missing(stack, resource, grants(stack, role))
        if missing:
            yield (
                f"acts through the role '{role.name}' but is not ordered after its grants "
                f"{_names(missing)}: AWS may refuse the role, or the first use is denied"
            )


# First boot


def _egress_routes(stack: Stack, subnets: Iterable[Res]) -> list[Res]:
    """The associations of these subnets with their route tables, and those tables' routes."""
    found: list[Res] = []
    for subnet in subnets:
        for association in stack.referring(subnet, "subnetId", ROUTE_TABLE_ASSOCIATION):
            found.append(association)
            for table in stack.refs(association, "routeTableId"):
                found += stack.referring(table, "routeTableId", ROUTE)
    return found


def _user_data(resource: Res) -> str:
    """The text cloud-init reads: launch templates take base64, gzip-compressed by the program."""
    data = str(resource.get("userData") or "")
    if resource.type == LAUNCH_TEMPLATE:
        try:
            raw = base64.b64decode(data, validate=True)
            if raw.startswith(b"\x1f\x8b"):
                raw = gzip.decompress(raw)
            return raw.decode(errors="replace")
        except (binascii.Error, ValueError, OSError, EOFError):
            return data
    return data


def _between(stack: Stack, clients: list[Res], servers: list[Res]) -> list[Res]:
    """The egress rules of `clients` to `servers` and the ingress rules of `servers` from them."""
    pairs = ((clients, EGRESS, servers), (servers, INGRESS, clients))
    return [
        rule_
        for owners, kind, peers in pairs
        for owner in owners
        for rule_ in stack.referring(owner, "securityGroupId", kind)
        if any(p.urn in rule_.deps.get("referencedSecurityGroupId", ()) for p in peers)
    ]


def _boot_needs(stack: Stack, host: Res) -> Iterator[tuple[str, list[Res]]]:
    """What a host group's or instance's first boot uses, by kind."""
    yield "routes of its subnets", _egress_routes(stack, _subnets(stack, host))
    known = [r for urn in stack.prerequisites(host) if (r := stack.get(urn)) is not None]
    templates = [r for r in known if r.type == LAUNCH_TEMPLATE]
    groups = _groups(stack, (host, *templates))
    yield (
        "egress rules to the internet of its groups",
        [
            e
            for g in groups
            for e in stack.referring(g, "securityGroupId", EGRESS)
            if world_cidrs(e.props)
        ],
    )
    file_systems = [r for r in known if r.type == EFS]
    targets = [
        t for fs in file_systems for t in stack.referring(fs, "fileSystemId", EFS_MOUNT_TARGET)
    ]
    yield "EFS mount targets", targets
    yield "NFS rules to its mount targets", _between(stack, groups, _groups(stack, targets))
    secrets = [r for r in known if r.type == SECRET]
    yield (
        "secret versions",
        [version for s in secrets for version in stack.referring(s, "secretId", SECRET_VERSION)],
    )
    texts = [_user_data(r) for r in (host, *templates)]
    yield (
        "parameters named in its user data",
        [
            p
            for p in stack.of_type(SSM_PARAMETER)
            if isinstance(p.get("name"), str) and any(p.get("name") in text for text in texts)
        ],
    )


@rule(
    "order-first-boot",
    "Auto Scaling groups and instances are created after what their hosts need at first boot: "
    "the routes and security group rules that give them egress, the EFS mount targets they "
    "mount and the NFS rules to them, the secret versions they read and the parameters they "
    "fetch.",
    ASG,
    INSTANCE,
    needs_stack=True,
)
def _order_first_boot(host: Res, stack: Stack) -> Iterator[str]:
    for kind, needed in _boot_needs(stack, host):
        missing = _missing(stack, host, needed)
        if missing:
            yield f"its hosts may boot before the {kind} {_names(missing)} exist"
