"""PostgresHA: PostgreSQL for the app, one interface over two implementations.

- `managed`: RDS (components/database/managed.py).
- `vip`: the self-hosted cluster behind a virtual IP (components/database/vip.py) and its failover
  function (components/database/failover.py).

Both modes give clients the same connection record (`DatabaseConnection`: host, port, the master
secret's ARN, the security group), so the app tier does not know which one serves it. What only
one mode has is on `managed` or `cluster`, and None in the other. Clients are admitted by whoever
knows both groups (the `Access` component, components/access/rules.py): the component adds nothing
after its constructor.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.config import DatabaseConfig
from components.database import failover, managed, rotation, vip
from components.database.credentials import PORT
from components.database.managed import ManagedDatabase
from components.database.vip import VipCluster
from components.shared import ec2, iam, naming
from components.shared.contracts import (
    DatabaseConnection,
    DatabaseMonitoring,
    DataSources,
    NetworkRef,
)


def cluster_name(project: str, stack: str) -> str:
    """A name valid as an RDS identifier and a tag value."""
    return naming.label(project, stack, "db")


@dataclass(frozen=True)
class PostgresHAArgs:
    config: DatabaseConfig
    """`multitier:database`: the mode and its settings."""
    network: NetworkRef
    """Where the database lives: its data-tier subnets."""
    cluster_name: str
    """Names the RDS identifier, or the vip cluster's tags."""
    bastion_security_group_id: pulumi.Input[str] | None = None
    """vip: admit SSH to the nodes from this group."""
    log_retention_days: int = 30
    """RDS log exports and the failover function's log."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """The key the log groups are encrypted with."""


class PostgresHA(pulumi.ComponentResource):
    """The database tier, in either mode, behind one interface."""

    endpoint: pulumi.Output[str]
    """The host clients connect to: the RDS endpoint, or the VIP."""
    port: int
    """5432."""
    secret_arn: pulumi.Output[str]
    """The app's credentials (JSON: host, port, dbname, username, password; vip: the CA): its
    own login, rotated, never the master's."""
    master_secret_arn: pulumi.Output[str]
    """The master user's credentials: the nodes, the credentials function and operators."""
    readonly_secret_arn: pulumi.Output[str]
    """A read-only login's credentials."""
    credentials_function_name: pulumi.Output[str]
    """The function that creates the app's roles and rotates the three secrets."""
    security_group_id: pulumi.Output[str]
    """Admit a client with an ingress rule from its group (`Access`, or `ec2.allow_tcp`)."""
    managed: ManagedDatabase | None
    """Managed mode only: instance identifiers, reader endpoint."""
    cluster: VipCluster | None
    """vip mode only: cluster name, node group, data volume, table."""
    failover_function_name: pulumi.Output[str] | None
    """vip mode only: the failover function."""
    archive_bucket: pulumi.Output[str] | None
    """vip mode only: the WAL archive's bucket (a restore's `vip.restore.bucket`)."""
    identifier: pulumi.Output[str] | None
    """managed mode only: the primary's RDS instance identifier."""
    reader_endpoint: pulumi.Output[str] | None
    """managed mode only: the first read replica's host, when there is one."""
    connection: DatabaseConnection
    """What clients need, in either mode."""
    monitoring: DatabaseMonitoring
    """What the alarms and the dashboard watch, in this mode."""
    data: DataSources
    """Where the data lives: the serving RDS instance, or the vip cluster's volume."""

    def __init__(
        self, name: str, args: PostgresHAArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:database:PostgresHA", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        self.port = PORT
        self.managed, self.cluster, self.failover_function_name = None, None, None
        self.archive_bucket = None
        self.identifier, self.reader_endpoint = None, None
        first_run: pulumi.Resource | None = None
        serving: list[pulumi.Resource]
        # vip mode: where clients send, the VIP's /32 (no interface of the group holds it).
        vip_cidr = f"{config.vip.address}/32" if config.mode == "vip" else None

        group = ec2.security_group(
            name,
            args.network.vpc_id,
            "database",
            "PostgreSQL: from the app tier only",
            child,
            tags={naming.VIP_TAG: vip_cidr} if vip_cidr else None,
        )
        self.security_group_id = group.id
        secrets_key = iam.kms_key(f"{name}-secrets", "the database's master credentials", child)
        if config.mode == "managed":
            self.managed = managed.build(
                name,
                managed.RdsArgs(
                    config=config,
                    cluster_name=args.cluster_name,
                    data_subnet_ids=args.network.subnet_ids("data"),
                    security_group_id=group.id,
                    secrets_key_arn=secrets_key.arn,
                    log_retention_days=args.log_retention_days,
                    log_kms_key_arn=args.log_kms_key_arn,
                ),
                child,
            )
            self.endpoint, credentials = self.managed.endpoint, self.managed.credentials
            serving = [self.managed.primary]
            self.identifier = self.managed.instance_identifiers[0]
            self.reader_endpoint = self.managed.reader_endpoint
        else:
            self.cluster = vip.build(
                name,
                vip.VipArgs(
                    config=config,
                    cluster_name=args.cluster_name,
                    network=args.network,
                    security_group=group,
                    secrets_key_arn=secrets_key.arn,
                    bastion_security_group_id=args.bastion_security_group_id,
                ),
                child,
            )
            self.endpoint = pulumi.Output.from_input(str(config.vip.address))
            credentials, serving = self.cluster.credentials, [self.cluster.nodes]
            function = failover.build(
                f"{name}-failover",
                failover.FailoverArgs(
                    config=config,
                    cluster=self.cluster,
                    log_retention_days=args.log_retention_days,
                    log_kms_key_arn=args.log_kms_key_arn,
                ),
                child,
            )
            self.failover_function_name, first_run = function.function.name, function.first_run
            self.archive_bucket = self.cluster.archive_bucket
        self.secret_arn = credentials.app.arn
        self.master_secret_arn = credentials.master.arn
        self.readonly_secret_arn = credentials.readonly.arn
        credentials_function = rotation.build(
            f"{name}-credentials",
            rotation.RotationArgs(
                config=config,
                credentials=credentials,
                network=args.network,
                host=self.endpoint,
                port=self.port,
                database_group_id=group.id,
                database_cidr=vip_cidr,
                cluster_name=args.cluster_name,
                log_retention_days=args.log_retention_days,
                log_kms_key_arn=args.log_kms_key_arn,
                database=serving,
                instance_identifier=self.identifier,
            ),
            child,
        )
        self.credentials_function_name = credentials_function.function.name
        self.connection = DatabaseConnection(
            host=self.endpoint,
            port=self.port,
            secret_arn=self.secret_arn,
            security_group_id=self.security_group_id,
            address_cidr=vip_cidr,
            component=name,
            ready=[credentials_function.bootstrap],
        )
        self.data = DataSources(
            database_instance_arn=self.managed.primary.arn if self.managed else None,
            file_system_arns=[self.cluster.file_system_arn] if self.cluster else [],
        )
        self.monitoring = DatabaseMonitoring(
            instance_identifiers=self.managed.instance_identifiers if self.managed else (),
            failover_function_name=self.failover_function_name,
            node_group_name=self.cluster.node_group_name if self.cluster else None,
            file_system_id=self.cluster.file_system_id if self.cluster else None,
            cluster_name=self.cluster.cluster_name if self.cluster else None,
            check_every_minutes=config.vip.check_every_minutes,
            first_report=first_run,
            credentials_function_name=self.credentials_function_name,
            archive_lag_minutes=config.vip.archive.lag_alarm_minutes if self.cluster else None,
        )
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "port": self.port,
                "secretArn": self.secret_arn,
                "masterSecretArn": self.master_secret_arn,
                "readonlySecretArn": self.readonly_secret_arn,
                "securityGroupId": self.security_group_id,
            }
        )
