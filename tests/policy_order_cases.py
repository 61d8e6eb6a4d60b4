"""The deploy-order rules' cases: each prerequisite missing from what a resource waits for, then
present (by `depends_on`, `after=` here, or through another resource it waits for)."""

from __future__ import annotations

import base64
from dataclasses import replace

from policy.model import Res
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
    ROUTE_TABLE,
    ROUTE_TABLE_ASSOCIATION,
    SECRET,
    SECRET_VERSION,
    SG,
    SSM_PARAMETER,
    SUBNET,
    VPC,
)
from tests.policy_cases import Case, res

vpc = res(VPC, "net", cidrBlock="10.0.0.0/16")
igw = res(IGW, "net", deps={"vpcId": [vpc]})
public = res(SUBNET, "net-public-a", deps={"vpcId": [vpc]}, cidrBlock="10.0.0.0/20")
private = res(SUBNET, "net-private-a", deps={"vpcId": [vpc]}, cidrBlock="10.0.64.0/20")
group = res(SG, "hosts", deps={"vpcId": [vpc]})


def _after(resource: Res, *prerequisites: Res) -> Res:
    """`resource`, waiting for `prerequisites` as well (as `depends_on` would make it)."""
    waits = set(resource.waits_for) | {p.urn for p in prerequisites}
    return replace(resource, waits_for=tuple(sorted(waits)))


def gateway_case(about: str, subject: Res, *others: Res) -> Case:
    return Case(
        "order-internet-gateway",
        about,
        subject,
        [vpc, igw, public, group, *others, subject],
        [vpc, igw, public, group, *others, _after(subject, igw)],
    )


nat_address = res(EIP, "nat", domain="vpc")
nat = res(
    NAT_GATEWAY,
    "nat",
    deps={"subnetId": [public], "allocationId": [nat_address]},
    connectivityType="public",
)
nat_fixed = _after(nat, igw)
web = res(LB, "web", deps={"subnets": [public], "securityGroups": [group]}, internal=False)
public_host = res(INSTANCE, "nat-host", deps={"subnetId": [public]}, associatePublicIpAddress=True)
public_template = res(
    LAUNCH_TEMPLATE,
    "bastion",
    deps={"networkInterfaces": [group]},
    networkInterfaces=[{"associatePublicIpAddress": "true", "securityGroups": ["sg-1"]}],
)

ORDER_CASES: list[Case] = [
    gateway_case(
        "NAT gateway before the gateway",
        res(NAT_GATEWAY, "nat", deps={"subnetId": [public]}, allocationId="eipalloc-0a1b2c3d"),
    ),
    Case(
        "order-internet-gateway",
        "the NAT gateway's address before the gateway",
        nat_address,
        [vpc, igw, public, nat_address, nat_fixed],
        [vpc, igw, public, _after(nat_address, igw), nat_fixed],
    ),
    gateway_case("internet-facing load balancer before the gateway", web),
    gateway_case("instance with a public address before the gateway", public_host),
    gateway_case("launch template with public addresses before the gateway", public_template),
    Case(
        "order-internet-gateway",
        "no gateway in the VPC at all",
        web,
        [vpc, public, group, web],
        [vpc, igw, public, group, _after(web, igw)],
    ),
]


# IAM grants

role = res(ROLE, "hosts")
role_policy = res(ROLE_POLICY, "hosts", deps={"role": [role]})
attachment = res(ATTACHMENT, "hosts-ssm", deps={"role": [role]})
profile = res(INSTANCE_PROFILE, "hosts", deps={"role": [role]})
GRANTS = [role, role_policy, attachment]


def grants_case(about: str, subject: Res, *others: Res) -> Case:
    return Case(
        "order-iam-grants",
        about,
        subject,
        [*GRANTS, *others, subject],
        [*GRANTS, *others, _after(subject, role_policy, attachment)],
    )


template = res(LAUNCH_TEMPLATE, "app", deps={"iamInstanceProfile": [profile]})
ORDER_CASES += [
    grants_case("launch template through its instance profile", template, profile),
    grants_case(
        "instance through its instance profile",
        res(INSTANCE, "nat", deps={"iamInstanceProfile": [profile]}),
        profile,
    ),
    grants_case("flow log", res(FLOW_LOG, "vpc", deps={"iamRoleArn": [role]})),
    grants_case("RDS enhanced monitoring", res(RDS, "db", deps={"monitoringRoleArn": [role]})),
    grants_case("Lambda function", res(FUNCTION, "failover", deps={"role": [role]})),
    Case(
        "order-iam-grants",
        "one grant through another resource, the other missing",
        template,
        [*GRANTS, profile, _after(template, role_policy)],
        [*GRANTS, _after(profile, attachment), _after(template, role_policy)],
    ),
]


# First boot

table = res(ROUTE_TABLE, "private-a", deps={"vpcId": [vpc]})
association = res(
    ROUTE_TABLE_ASSOCIATION, "private-a", deps={"subnetId": [private], "routeTableId": [table]}
)
default_route = res(ROUTE, "private-a-default", deps={"routeTableId": [table]})
ROUTING = [vpc, private, table, association, default_route]


def boot_case(about: str, subject: Res, needed: list[Res], others: list[Res]) -> Case:
    return Case(
        "order-first-boot",
        about,
        subject,
        [*ROUTING, *others, _after(subject, association, default_route)],
        [*ROUTING, *others, _after(subject, association, default_route, *needed)],
    )


hosts = res(ASG, "app", deps={"vpcZoneIdentifiers": [private]})
file_system = res(EFS, "data")
mount_target = res(EFS_MOUNT_TARGET, "data-a", deps={"fileSystemId": [file_system]})
secret = res(SECRET, "db")
secret_version = res(SECRET_VERSION, "db", deps={"secretId": [secret]})
parameter = res(SSM_PARAMETER, "agent", name="AmazonCloudWatch-dev-app")
reads = res(
    LAUNCH_TEMPLATE,
    "app",
    deps={"userData": [file_system, secret]},
    userData=base64.b64encode(b"#cloud-config\n# fetches AmazonCloudWatch-dev-app\n").decode(),
)
reader = res(ASG, "app", deps={"vpcZoneIdentifiers": [private], "launchTemplate": [reads]})

ORDER_CASES += [
    Case(
        "order-first-boot",
        "Auto Scaling group before its subnets' routes",
        hosts,
        [*ROUTING, hosts],
        [*ROUTING, _after(hosts, association, default_route)],
    ),
    Case(
        "order-first-boot",
        "instance before its subnet's default route",
        res(INSTANCE, "nat", deps={"subnetId": [private]}),
        [*ROUTING, res(INSTANCE, "nat", deps={"subnetId": [private]}, after=[association])],
        [
            *ROUTING,
            res(INSTANCE, "nat", deps={"subnetId": [private]}, after=[association, default_route]),
        ],
    ),
    boot_case("EFS mount targets", reader, [mount_target], [file_system, mount_target, reads]),
    boot_case("secret version", reader, [secret_version], [secret, secret_version, reads]),
    boot_case("SSM parameter named in user data", reader, [parameter], [parameter, reads]),
]

# A host group's first boot also needs its group to let it out, and the NFS rules to the mount
# targets of what it mounts; a rule inside the VPC to something else (the database) it does not.
hosts_group = res(SG, "app-hosts", deps={"vpcId": [vpc]})
efs_group = res(SG, "backups", deps={"vpcId": [vpc]})
database_group = res(SG, "database", deps={"vpcId": [vpc]})
https_out = res(
    EGRESS, "app-hosts-https", deps={"securityGroupId": [hosts_group]}, cidrIpv4="0.0.0.0/0"
)
https_out_v6 = res(
    EGRESS, "app-hosts-https-ipv6", deps={"securityGroupId": [hosts_group]}, cidrIpv6="::/0"
)
to_database = res(
    EGRESS,
    "database-from-app-egress",
    deps={"securityGroupId": [hosts_group], "referencedSecurityGroupId": [database_group]},
)
nfs_in = res(
    INGRESS,
    "backups-from-hosts",
    deps={"securityGroupId": [efs_group], "referencedSecurityGroupId": [hosts_group]},
)
nfs_out = res(
    EGRESS,
    "backups-from-hosts-egress",
    deps={"securityGroupId": [hosts_group], "referencedSecurityGroupId": [efs_group]},
)
mounted = res(
    EFS_MOUNT_TARGET,
    "backups-a",
    deps={"fileSystemId": [file_system], "securityGroups": [efs_group]},
)
mounts = res(
    LAUNCH_TEMPLATE,
    "app",
    deps={"userData": [file_system], "vpcSecurityGroupIds": [hosts_group]},
)
mounter = res(ASG, "app", deps={"vpcZoneIdentifiers": [private], "launchTemplate": [mounts]})
groups = [hosts_group, efs_group, database_group]
ORDER_CASES += [
    boot_case(
        "HTTPS egress rules of the hosts' group",
        mounter,
        [https_out, https_out_v6, mounted],
        [*groups, file_system, mounted, https_out, https_out_v6, to_database, mounts],
    ),
    boot_case(
        "NFS rules to the mount targets",
        mounter,
        [mounted, nfs_in, nfs_out],
        [*groups, file_system, mounted, nfs_in, nfs_out, to_database, mounts],
    ),
]
