"""DisasterRecovery: the stack's data copied to another region (`database.dr`).

- RDS automated backups replicated to the DR region (managed mode), encrypted there with a key
  of that region: a point-in-time restore in the DR region reaches back `retentionDays`. Every
  resource takes a `region` (pulumi-aws 7), so no second provider is needed.
- The file systems (the app's backups, the vip cluster's data) copied by AWS Backup to a vault
  in the DR region. EFS's automatic backups (the file systems' backup policy) run in AWS Backup's
  service-owned plan, which takes no copy rule: this plan is the stack's own, daily, into a vault
  of the stack's region, with a copy action to the DR vault.
- A restored file system comes from an AWS Backup restore job, which Pulumi cannot declare; the
  runbook says how it reaches a stack (RUNBOOKS.md, Disaster recovery).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import DrConfig
from components.shared import iam

BACKUP_SERVICE_ROLE = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
# Daily at 03:00 UTC, outside RDS's default backup window (02:00-03:00); started within an hour,
# finished within eight.
SCHEDULE = "cron(0 3 * * ? *)"


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    config: DrConfig
    """`multitier:database.dr`: the region and how long it keeps the copies."""
    database_instance_arn: pulumi.Input[str] | None = None
    """The RDS instance whose automated backups are replicated (managed mode); None: none."""
    file_system_arns: Sequence[pulumi.Input[str]] = ()
    """The EFS file systems copied by AWS Backup."""


class DisasterRecovery(pulumi.ComponentResource):
    """Copies of the database's backups and of the file systems in `config.region`."""

    replication_arn: pulumi.Output[str] | None
    """The replicated automated backups' ARN in the DR region (a restore there names it)."""
    vault_name: pulumi.Output[str] | None
    """The DR region's vault that holds the file systems' copies."""

    def __init__(
        self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("multitier:recovery:DisasterRecovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        config = args.config
        key = iam.kms_key(
            f"{name}-key", f"the copies in {config.region}", child, region=config.region
        )
        self.replication_arn = None
        if args.database_instance_arn is not None:
            replication = aws.rds.InstanceAutomatedBackupsReplication(
                f"{name}-database",
                region=config.region,
                source_db_instance_arn=args.database_instance_arn,
                kms_key_id=key.arn,
                retention_period=config.retention_days,
                opts=child,
            )
            self.replication_arn = replication.id
        self.vault_name = None
        if args.file_system_arns:
            self.vault_name = _file_system_copies(name, args, key, child)
        self.register_outputs(
            {"replicationArn": self.replication_arn, "vaultName": self.vault_name}
        )


def _file_system_copies(
    name: str, args: DisasterRecoveryArgs, dr_key: aws.kms.Key, opts: pulumi.ResourceOptions
) -> pulumi.Output[str]:
    """A daily AWS Backup plan of the file systems, copied to a vault in the DR region."""
    config = args.config
    local_key = iam.kms_key(f"{name}-backups", "the file systems' backups", opts)
    vault = aws.backup.Vault(f"{name}-backups", kms_key_arn=local_key.arn, opts=opts)
    copies = aws.backup.Vault(
        f"{name}-copies", region=config.region, kms_key_arn=dr_key.arn, opts=opts
    )
    plan = aws.backup.Plan(
        f"{name}-file-systems",
        rules=[
            aws.backup.PlanRuleArgs(
                rule_name="daily-copied-to-dr",
                target_vault_name=vault.name,
                schedule=SCHEDULE,
                start_window=60,
                completion_window=480,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=config.retention_days),
                copy_actions=[
                    aws.backup.PlanRuleCopyActionArgs(
                        destination_vault_arn=copies.arn,
                        lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                            delete_after=config.retention_days
                        ),
                    )
                ],
            )
        ],
        opts=opts,
    )
    role = iam.Role(
        f"{name}-backups", "backup.amazonaws.com", opts, managed_policy_arns=[BACKUP_SERVICE_ROLE]
    )
    aws.backup.Selection(
        f"{name}-file-systems",
        iam_role_arn=role.arn,
        plan_id=plan.id,
        resources=list(args.file_system_arns),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=role.ready)),
    )
    return copies.name
