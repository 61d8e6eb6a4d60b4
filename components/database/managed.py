"""PostgresHA's managed mode: RDS for PostgreSQL in the data subnets.

- TLS forced by the parameter group; encrypted autoscaled gp3; backups; Performance Insights;
  enhanced monitoring (after its role's policy is attached: RDS refuses it before); log exports
  into log groups declared first, so they get a retention and the stack's log key; never public.
- The identifier is `<cluster>-<8 hex>`: explicit, so a restore can name it, with a suffix that
  changes exactly when the instance must be replaced, so the new instance never collides with the
  old one (DBInstanceAlreadyExists), nor their final snapshots (DBSnapshotAlreadyExists).
- A bare major `engineVersion` lets RDS pick the minor and apply newer ones; a new major is an
  upgrade RDS performs (`allow_major_version_upgrade`).
- A restore (`database.restore`) is a new instance beside the current one, its resource named by
  the restore's id, never a replacement: Pulumi's ignoreChanges puts the old inputs back into a
  replacement (pulumi/pulumi#2657), so a restore modelled so would come up empty. The endpoint,
  the secrets' host, the bootstrap, the replicas, the alarms and the dashboard follow the active
  instance; the former ones stay declared until `database.formerInstances` releases them.
- `blueGreen` sends engine upgrades and parameter-group changes through an RDS blue/green
  deployment (the provider's `blue_green_update`): possible because the master password is ours,
  not RDS-managed. The parameter group then turns on `rds.logical_replication`, which a major
  upgrade through blue/green needs (static: it waits for a reboot).
- No deletion loses data by default: automated backups are kept, and a final snapshot is taken
  (`finalSnapshot`, on unless turned off; always for an instance released with `delete`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import ORIGINAL, DatabaseConfig, RestoreConfig
from components.config.restore import FormerInstance
from components.database import credentials as database_credentials
from components.database.credentials import Credentials
from components.shared import iam, naming

ENHANCED_MONITORING = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
RDS_LOG_EXPORTS = ["postgresql", "upgrade"]
# RDS identifiers are at most 63 characters: prefix, `-`, 8 hex digits, and `-replica-N`.
IDENTIFIER_PREFIX_LENGTH = 44
# What a restored instance is created from: RDS reads them once, so later runs ignore them (the
# password too: it is the master secret's at creation, and rotation changes it).
RESTORE_INPUTS = ["snapshotIdentifier", "restoreToPointInTime", "password"]
# On an instance being released (`formerInstances`: retain or delete): the policy lets it go.
RETIRE_TAG = "multitier:retire"
_PARAMETERS = {
    "rds.force_ssl": "1",
    "log_min_duration_statement": "1000",
    "log_connections": "1",
    "log_disconnections": "1",
    "log_lock_waits": "1",
}


# A major upgrade through blue/green replicates logically, and RDS refuses to create the deployment
# unless the blue instance runs with it. Static: RDS applies it at the next reboot only.
_BLUE_GREEN_PARAMETERS = {"rds.logical_replication": "1"}


@dataclass(frozen=True)
class ManagedDatabase:
    """What exists only in managed mode."""

    endpoint: pulumi.Output[str]
    """The primary's host."""
    credentials: Credentials
    """The master's, the app's and the read-only login's secrets."""
    primary: aws.rds.Instance
    """The primary instance: the app's roles are created in it once it is available."""
    instance_identifiers: list[pulumi.Output[str]]
    """The primary's first, then the read replicas' (RDS metrics are keyed by identifier)."""
    reader_endpoint: pulumi.Output[str] | None = None
    """The first read replica's host: RDS instances have no load-balanced reader endpoint."""


@dataclass(frozen=True)
class RdsArgs:
    config: DatabaseConfig
    """`multitier:database`: class, storage, backups, protection, replicas."""
    cluster_name: str
    """Prefixes the instance identifier."""
    data_subnet_ids: Sequence[pulumi.Input[str]]
    """The data tier's subnets: the DB subnet group."""
    security_group_id: pulumi.Input[str]
    """The database's group (PostgresHA's)."""
    secrets_key_arn: pulumi.Input[str]
    """Encrypts the master secret."""
    log_retention_days: int
    """The exported logs' retention."""
    log_kms_key_arn: pulumi.Input[str] | None = None
    """Encrypts the exported logs' groups."""


def build(name: str, args: RdsArgs, opts: pulumi.ResourceOptions) -> ManagedDatabase:
    """Declare the instance and its replicas, their secret and log groups."""
    config = args.config
    subnets = aws.rds.SubnetGroup(
        name, subnet_ids=list(args.data_subnet_ids), description="Data-tier subnets", opts=opts
    )
    parameters = aws.rds.ParameterGroup(
        name,
        family=f"postgres{config.major_version}",
        description="TLS only; slow queries, connections and lock waits logged",
        parameters=[
            aws.rds.ParameterGroupParameterArgs(name=key, value=value)
            for key, value in _PARAMETERS.items()
        ]
        + [
            aws.rds.ParameterGroupParameterArgs(
                name=key, value=value, apply_method="pending-reboot"
            )
            for key, value in (_BLUE_GREEN_PARAMETERS if config.blue_green else {}).items()
        ],
        opts=opts,
    )
    monitoring_role = _monitoring_role(name, config, opts)
    # RDS refuses a monitoring role whose policy is not attached yet (InvalidParameterValue:
    # IAM role ARN value is invalid or does not include the required permissions for:
    # ENHANCED_MONITORING).
    monitoring_ready = monitoring_role.ready if monitoring_role else []
    password = database_credentials.master_password(name, opts)
    common: dict[str, Any] = {
        "instance_class": config.instance_class,
        "vpc_security_group_ids": [args.security_group_id],
        "parameter_group_name": parameters.name,
        "publicly_accessible": False,
        "storage_encrypted": True,
        "auto_minor_version_upgrade": True,
        "copy_tags_to_snapshot": True,
        "performance_insights_enabled": config.performance_insights,
        "performance_insights_retention_period": 7 if config.performance_insights else None,
        "monitoring_interval": config.monitoring_interval_seconds,
        "monitoring_role_arn": monitoring_role.arn if monitoring_role else None,
        "ca_cert_identifier": "rds-ca-rsa2048-g1",
        "enabled_cloudwatch_logs_exports": RDS_LOG_EXPORTS,
        # Else RDS changes wait for the maintenance window; a major upgrade must not (the old
        # parameter group cannot be deleted while the instance still uses it).
        "apply_immediately": config.apply_immediately,
        # Per instance: a replica whose source grows must be able to grow too.
        "max_allocated_storage": config.max_allocated_storage_gb,
        # Kept when an instance is deleted, for their retention: the provider's default deletes
        # them with it.
        "delete_automated_backups": False,
    }
    master_secret = database_credentials.master_secret(name, args.secrets_key_arn, opts)
    instance = _Instances(name, args, common, subnets, opts, ready=[*monitoring_ready])
    if config.former_instances.get(ORIGINAL) != "removed":
        identifier = _identifier(name, args, opts, keepers=True)
        instance.declare(
            name,
            identifier,
            config.former_instances.get(ORIGINAL),
            {
                "db_name": config.database_name,
                "username": config.username,
                "password": password.result,
                "allocated_storage": config.allocated_storage_gb,
            },
            ignore=[],
        )
    for restore_id, fate in config.former_instances.items():
        if restore_id != ORIGINAL and fate != "removed":
            label = f"{name}-{restore_id}"
            # Declared without its restore inputs: they are ignored after creation anyway.
            instance.declare(label, _identifier(label, args, opts), fate, {}, ignore=RESTORE_INPUTS)
    if config.restore:
        label = f"{name}-{config.restore.id}"
        instance.declare(
            label,
            _identifier(label, args, opts),
            None,
            {**_restore_inputs(config.restore), "password": _current_password(master_secret)},
            ignore=RESTORE_INPUTS,
        )
    primary = instance.declared[config.active_instance]
    replicas = []
    for index in range(1, config.read_replicas + 1):
        replica_identifier = primary.identifier.apply(_suffixed(f"-replica-{index}"))
        replicas.append(
            aws.rds.Instance(
                f"{name}-replica-{index}",
                identifier=replica_identifier,
                replicate_source_db=primary.identifier,
                skip_final_snapshot=True,
                **common,
                opts=pulumi.ResourceOptions.merge(
                    opts,
                    pulumi.ResourceOptions(
                        depends_on=[
                            *_log_groups(f"{name}-replica-{index}", replica_identifier, args, opts),
                            *monitoring_ready,
                        ],
                        # A new primary (a replacing change) needs new replicas of it.
                        replace_on_changes=["replicateSourceDb"],
                    ),
                ),
            )
        )
    credentials = database_credentials.build(
        name,
        config,
        host=primary.address,
        master_password=password,
        key_arn=args.secrets_key_arn,
        opts=opts,
        master=master_secret,
    )
    return ManagedDatabase(
        endpoint=primary.address,
        credentials=credentials,
        primary=primary,
        instance_identifiers=[primary.identifier, *(r.identifier for r in replicas)],
        reader_endpoint=replicas[0].address if replicas else None,
    )


@dataclass
class _Instances:
    """Declares the stack's RDS instances, each as its role says: the active one, or a former
    one kept, prepared for release (retained or deleted), and remembers them by id."""

    name: str
    args: RdsArgs
    common: Mapping[str, Any]
    """What every instance and replica share."""
    subnets: aws.rds.SubnetGroup
    opts: pulumi.ResourceOptions
    ready: list[pulumi.Resource]
    """What an instance waits for besides its log groups (the monitoring role's policy)."""
    declared: dict[str, aws.rds.Instance] = field(default_factory=dict)

    def declare(
        self,
        label: str,
        identifier: pulumi.Output[str],
        fate: FormerInstance | None,
        inputs: Mapping[str, Any],
        *,
        ignore: list[str],
    ) -> None:
        config = self.args.config
        restored = label != self.name
        releasing = fate in ("retain", "delete")
        # The final snapshot's name is unique: the identifier is, per instance.
        final = fate == "delete" or config.final_snapshot
        protected = config.deletion_protection and fate != "delete"
        self.declared[label.removeprefix(f"{self.name}-") if restored else ORIGINAL] = (
            aws.rds.Instance(
                label,
                identifier=identifier,
                engine="postgres",
                engine_version=config.engine_version,
                allow_major_version_upgrade=True,
                db_subnet_group_name=self.subnets.name,
                multi_az=config.multi_az,
                storage_type="gp3",
                backup_retention_period=config.backup_retention_days,
                backup_window=config.backup_window,
                maintenance_window=config.maintenance_window,
                deletion_protection=protected,
                skip_final_snapshot=not final,
                final_snapshot_identifier=identifier.apply(_suffixed("-final")) if final else None,
                tags={RETIRE_TAG: str(fate)} if releasing else None,
                blue_green_update=aws.rds.InstanceBlueGreenUpdateArgs(enabled=True)
                if config.blue_green
                else None,
                **inputs,
                **self.common,
                opts=pulumi.ResourceOptions.merge(
                    self.opts,
                    pulumi.ResourceOptions(
                        depends_on=[
                            *_log_groups(label, identifier, self.args, self.opts),
                            *self.ready,
                        ],
                        # As for the ALB: `pulumi destroy` refuses before deleting anything
                        # else. A restored instance is protected until it is released, so
                        # that one dropped from the config by mistake is never deleted.
                        protect=not releasing and (restored or config.deletion_protection),
                        retain_on_delete=fate == "retain",
                        ignore_changes=ignore or None,
                    ),
                ),
            )
        )


def _restore_inputs(restore: RestoreConfig) -> dict[str, Any]:
    if restore.snapshot_identifier:
        return {"snapshot_identifier": restore.snapshot_identifier}
    point = restore.point_in_time
    assert point is not None  # the config has one or the other
    return {
        "restore_to_point_in_time": aws.rds.InstanceRestoreToPointInTimeArgs(
            source_db_instance_identifier=point.source_identifier,
            source_db_instance_automated_backups_arn=point.source_automated_backups_arn,
            restore_time=point.restore_time,
            use_latest_restorable_time=True if point.latest else None,
        )
    }


def _current_password(secret: aws.secretsmanager.Secret) -> pulumi.Output[str]:
    """The master password the master secret holds now (rotation changes it): a restored
    instance comes up with the password of its backup's time, and RDS sets this one on it."""
    version = aws.secretsmanager.get_secret_version_output(secret_id=secret.id)
    return pulumi.Output.secret(
        version.secret_string.apply(lambda value: str(json.loads(value)["password"]))
    )


def _identifier(
    label: str,
    args: RdsArgs,
    opts: pulumi.ResourceOptions,
    *,
    keepers: bool = False,
) -> pulumi.Output[str]:
    config = args.config
    suffix = random.RandomId(
        f"{label}-identifier",
        byte_length=4,
        # The inputs of ours that make RDS replace the instance (ForceNew in the provider); a
        # restored instance takes them from its backup.
        keepers={"dbName": config.database_name, "username": config.username} if keepers else None,
        opts=opts,
    )
    prefix = naming.label(args.cluster_name, limit=IDENTIFIER_PREFIX_LENGTH)
    return pulumi.Output.concat(prefix, "-", suffix.hex)


def _monitoring_role(
    name: str, config: DatabaseConfig, opts: pulumi.ResourceOptions
) -> iam.Role | None:
    if not config.monitoring_interval_seconds:
        return None
    role = iam.Role(f"{name}-monitoring", "monitoring.rds.amazonaws.com", opts)
    role.grants.append(
        aws.iam.RolePolicyAttachment(
            f"{name}-monitoring", role=role.role.name, policy_arn=ENHANCED_MONITORING, opts=opts
        )
    )
    return role


def _log_groups(
    label: str, identifier: pulumi.Output[str], args: RdsArgs, opts: pulumi.ResourceOptions
) -> list[aws.cloudwatch.LogGroup]:
    """The groups RDS exports an instance's logs to; their names follow its identifier."""
    return [
        aws.cloudwatch.LogGroup(
            f"{label}-{kind}",
            name=identifier.apply(_log_group_name(kind)),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.log_kms_key_arn,
            opts=opts,
        )
        for kind in RDS_LOG_EXPORTS
    ]


def _suffixed(suffix: str) -> Callable[[str], str]:
    return lambda value: value + suffix


def _log_group_name(kind: str) -> Callable[[str], str]:
    """The log group RDS exports an instance's `kind` log to."""
    return lambda identifier: f"/aws/rds/instance/{identifier}/{kind}"
