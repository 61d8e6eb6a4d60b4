"""The records components hand each other instead of themselves: what a tier needs of another
tier, and what the monitoring needs of each. A component takes records, never another component,
so each one can be reused alone (see examples/)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

Tier = Literal["public", "private", "data"]
TIERS: tuple[Tier, ...] = ("public", "private", "data")


@dataclass(frozen=True)
class SubnetRef:
    """One subnet of a tier (as AWS CDK's `ISubnet`)."""

    id: pulumi.Input[str]
    """The subnet."""
    zone: str
    """Its availability zone."""
    tier: Tier
    """`public`, `private` or `data`."""
    cidr: str
    """Its IPv4 CIDR."""
    route_table_id: pulumi.Input[str] | None = None
    """The route table it is associated with; None: a network's own affair."""


@dataclass(frozen=True)
class NetworkRef:
    """A VPC with three subnet tiers, one subnet per zone in each (`VpcNetwork.ref`): one record
    per subnet, and the views each tier needs derived from them."""

    vpc_id: pulumi.Input[str]
    """The VPC."""
    cidr_block: str
    """Its IPv4 CIDR."""
    subnets: Sequence[SubnetRef]
    """Every subnet, each tier's in zone order."""
    ipv6_cidr_block: pulumi.Input[str] | None = None
    """The VPC's IPv6 CIDR, when it has one."""
    internet_connectivity: Mapping[Tier, Sequence[pulumi.Resource]] = field(default_factory=dict)
    """Per tier, what gives its subnets their routes to the internet (gateway, route table
    associations, default routes, NAT): hosts launched into a tier wait for it, or their first
    boot finds no egress; an internet-facing load balancer waits for the public tier's. Empty for
    a network that already exists."""

    def tier(self, tier: Tier) -> list[SubnetRef]:
        """The tier's subnets, in zone order."""
        return [subnet for subnet in self.subnets if subnet.tier == tier]

    def subnet_ids(self, tier: Tier) -> list[pulumi.Input[str]]:
        return [subnet.id for subnet in self.tier(tier)]

    def cidrs(self, tier: Tier) -> list[str]:
        return [subnet.cidr for subnet in self.tier(tier)]


@dataclass(frozen=True)
class DatabaseConnection:
    """What a client needs of the database, whichever mode serves it (`PostgresHA.connection`)."""

    host: pulumi.Input[str]
    """The address clients connect to: the RDS endpoint, or the VIP."""
    port: int
    """The PostgreSQL port."""
    secret_arn: pulumi.Input[str]
    """The app's credentials (JSON: host, port, dbname, username, password; vip: the CA), which
    rotate: a client reads the secret again when its login fails."""
    security_group_id: pulumi.Input[str] | None
    """The database's group: admit a client with an ingress rule from the client's group. None:
    a database this program does not run (another team's, on premises), reached at
    `address_cidr`."""
    address_cidr: str | None = None
    """Where clients send: vip, the VIP's /32 (a rule referencing the database's group does not
    match an address that no interface of that group holds); a database elsewhere, its network.
    None: the database's group."""
    component: str | None = None
    """The name of the `PostgresHA` that serves it; None: a database this program does not
    run."""
    ready: Sequence[pulumi.Resource] = ()
    """The credentials work once these are created (the bootstrap of the app's roles): hosts
    that connect at boot wait for them."""


@dataclass(frozen=True)
class AppMonitoring:
    """What the alarms and the dashboard watch of the app tier (`AppFleet.monitoring`)."""

    alb_arn_suffix: pulumi.Output[str]
    """The load balancer, as its CloudWatch metrics name it."""
    target_group_arn_suffix: pulumi.Output[str]
    """The hosts' target group, as its CloudWatch metrics name it."""
    group_name: pulumi.Output[str]
    """The app hosts' Auto Scaling group."""
    min_size: int
    """Fewer healthy hosts than this is an alarm."""
    cache_member_clusters: pulumi.Output[list[str]] | None = None
    """The cache's node cluster ids, which its CloudWatch metrics are keyed by; None: no cache."""
    cache_node_count: int = 0
    """How many ids `cache_member_clusters` holds (known before deployment)."""
    cache_rotation_function_name: pulumi.Output[str] | None = None
    """The function that rotates the cache's AUTH token; None: no cache."""


@dataclass(frozen=True)
class DatabaseMonitoring:
    """What the alarms and the dashboard watch of the database (`PostgresHA.monitoring`)."""

    instance_identifiers: Sequence[pulumi.Output[str]] = ()
    """managed: the primary's identifier, then each read replica's."""
    failover_function_name: pulumi.Output[str] | None = None
    """vip: the failover function."""
    node_group_name: pulumi.Output[str] | None = None
    """vip: the nodes' Auto Scaling group."""
    file_system_id: pulumi.Output[str] | None = None
    """vip: the data volume."""
    cluster_name: str | None = None
    """vip: the cluster the failover function reports `PrimaryServing` for."""
    check_every_minutes: int = 1
    """vip: how often the failover function runs at least (one metric value per run)."""
    first_report: pulumi.Resource | None = None
    """vip: the failover function's run at deployment, after which its metrics exist: the alarm
    on them waits for it."""
    credentials_function_name: pulumi.Output[str] | None = None
    """The function that bootstraps the app's roles and rotates the database's secrets: its
    errors are a failed rotation."""
    archive_lag_minutes: int | None = None
    """vip: alarm when the primary's newest archived WAL segment is older than this."""


@dataclass(frozen=True)
class NetworkMonitoring:
    """What the alarms watch of the network (`VpcNetwork.monitoring`)."""

    nat_gateway_ids: Sequence[pulumi.Output[str]] = ()
    """Each NAT gateway (natMode single or per_az)."""
    nat_instance_id: pulumi.Output[str] | None = None
    """The NAT instance (natMode instance)."""


@dataclass(frozen=True)
class DataSources:
    """Where a tier keeps data: what disaster recovery copies to another region."""

    database_instance_arn: pulumi.Output[str] | None = None
    """The RDS instance that serves (managed mode): its automated backups are replicated."""
    file_system_arns: Sequence[pulumi.Output[str]] = ()
    """The EFS file systems: copied by AWS Backup."""
